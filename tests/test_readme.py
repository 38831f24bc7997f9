"""The documentation's promises that can drift: the default topology's credentials, and README
as the front door (its two commands first, short, every link to a page that exists)."""

from __future__ import annotations

import re
from pathlib import Path

from contracts.topology import Role
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import DEFAULT_TOPOLOGY, load_topology

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# The tables moved from README to the site; the same facts are checked where they now live.
CREDENTIALS = ROOT / "docs" / "reference" / "credentials.md"


def _credential_rows(
    heading: str = "## Credentials of the default topology",
) -> dict[str, list[str]]:
    text = CREDENTIALS.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        found = re.match(r"`([^`]+)`", cells[0]) if line.startswith("| `") else None
        if found:
            rows[found.group(1)] = cells
    return rows


def test_the_docs_list_every_consumer_of_the_default_topology_with_its_credentials() -> None:
    topology = load_topology(DEFAULT_TOPOLOGY)
    addresses = AddressBook(topology)
    rows = _credential_rows()
    assert set(rows) == {c.id for c in topology.consumers}
    for consumer in topology.consumers:
        _, at, key, secret, roles, _ = rows[consumer.id]
        assert key == f"`{consumer.client_id}`", consumer.id
        assert secret == f"`{consumer.client_secret}`", consumer.id
        assert roles == ", ".join(r.value for r in consumer.roles), consumer.id
        port = addresses.url(consumer.platform).rsplit(":", 1)[1]
        assert at.endswith(f":{port}"), consumer.id
        if Role.ADMIN in consumer.roles:
            assert not consumer.grants


def test_the_docs_list_every_document_axis_system_of_the_default_topology() -> None:
    topology = load_topology(DEFAULT_TOPOLOGY)
    addresses = AddressBook(topology)
    rows = _credential_rows("## Document axis systems of the default topology")
    assert topology.axis_systems
    assert set(rows) == {s.systemid for s in topology.axis_systems}
    for system in topology.axis_systems:
        _, endpoint, secret, agency = rows[system.systemid]
        assert secret == f"`{system.secret}`", system.systemid
        port = addresses.url(system.platform).rsplit(":", 1)[1]
        assert endpoint.endswith(f":{port}/vxp"), system.systemid
        assert agency.startswith(system.agency), system.systemid


def test_the_readme_opens_with_the_two_commands_for_a_fresh_machine() -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    assert text.index("```sh") < text.index("\n## ")
    assert [line.split()[:2] for line in block.splitlines()] == [["make", "run"], ["make", "test"]]


def test_the_readme_is_a_front_door_whose_links_reach_pages() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    links = re.findall(r"\]\((docs/[^)#]+)", text)
    assert links
    for link in links:
        assert (ROOT / link).is_file(), link
