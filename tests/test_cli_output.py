"""What the command line prints where no terminal limits its width (a file, a pipe, CI)."""

from __future__ import annotations

import httpx
import pytest

from sandbox.cli.consoles import stdout_console
from sandbox.cli.up_report import status_table
from sandbox.testing.verify import _reset
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import load_topology


def test_the_up_table_keeps_every_url_whole_off_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    topology = load_topology("bac-giang-2023")
    addresses = AddressBook(topology).shifted(5000)
    stdout_console().print(status_table(topology, addresses, {}))
    printed = capsys.readouterr().out
    for node in [*topology.platforms, *topology.backends]:
        assert addresses.url(node) in printed, node
        assert node in printed  # names are not cut either


async def test_verify_through_a_platform_says_why_records_were_left_and_what_to_do() -> None:
    def platform(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"fault": {"code": 404, "message": "No matching resource"}})

    base = "http://lgsp.example/apiMotCua/1.0"
    async with httpx.AsyncClient(base_url=base, transport=httpx.MockTransport(platform)) as client:
        cleanup = await _reset(client)
    assert cleanup.startswith("records left behind: /_sandbox/reset is not reachable at")
    assert "back end's own URL" in cleanup and "--keep-records" in cleanup
    assert not cleanup.endswith("answered 404")
