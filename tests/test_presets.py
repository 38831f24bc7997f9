"""The shipped presets: each validates, `validate` prints its counts, the national one holds
the 63 provinces and agrees with the seed provinces' own presets, and the presets run."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from contracts.edxml import DocumentView
from contracts.topology import Role, Tier, Topology
from sandbox.cli import main
from sandbox.testing.harness import RunningTopology, run_topology
from sandbox.topology.loading import SHIPPED_DIR, TopologyError, load_topology, shipped_topologies
from sandbox.topology.presets import slug
from tests.helpers import bearer

PRESETS = ["bac-giang-2022", "bac-giang-2023", "binh-dinh-2023", "bac-kan-2022", "vietnam"]
SEEDS = {
    "bac-giang-2023": "lgsp-bac-giang",
    "binh-dinh-2023": "lgsp-binh-dinh",
    "bac-kan-2022": "lgsp-bac-kan",
}


PORT = frozenset({"port"})


@pytest.fixture(scope="module")
def vietnam() -> Topology:
    return load_topology("vietnam")


def test_every_preset_is_shipped_and_validates() -> None:
    assert set(PRESETS) <= set(shipped_topologies())
    for name in PRESETS:
        assert load_topology(name).name == name


@pytest.mark.parametrize("name", PRESETS)
def test_validate_prints_the_counts_of_what_the_file_declares(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    topology = load_topology(name)
    assert main(["validate", name]) == 0
    printed = capsys.readouterr().out.splitlines()
    platforms = [p.tier for p in topology.platforms.values()]
    services = [s.tier for s in topology.services]
    pushed = [m for m in topology.mailboxes if m.backend or m.address]
    nodes = len(topology.platforms) + len(topology.backends)
    expected = [
        f"nodes: {nodes} ({len(platforms)} platforms, {len(topology.backends)} back ends)",
        f"platforms: {platforms.count(Tier.NATIONAL)} national, "
        f"{platforms.count(Tier.PROVINCIAL)} provincial",
        f"services: {services.count(Tier.NATIONAL)} national, "
        f"{services.count(Tier.PROVINCIAL)} provincial",
        f"consumers: {len(topology.consumers)}",
        f"mailboxes: {len(topology.mailboxes)} ({len(pushed)} pushed to a back end, "
        f"{len(topology.mailboxes) - len(pushed)} picked up from an inbox)",
        f"{name}: valid",
    ]
    assert printed[-len(expected) :] == expected


def test_vietnam_has_ngsp_and_63_provincial_platforms_with_unique_names_and_codes(
    vietnam: Topology,
) -> None:
    national = [n for n, p in vietnam.platforms.items() if p.tier is Tier.NATIONAL]
    provincial = {n: p for n, p in vietnam.platforms.items() if p.tier is Tier.PROVINCIAL}
    assert national == ["ngsp"]
    assert len(provincial) == 63
    assert all(
        p.upstream is not None and p.upstream.platform == "ngsp" for p in provincial.values()
    )
    codes = [p.agency.rsplit(".", 1)[1] for p in provincial.values()]
    assert sorted(codes) == [f"H{i:02d}" for i in range(1, 64)]
    committees = [vietnam.agency_name(f"000.00.00.{code}") for code in codes]
    assert len(set(committees)) == 63
    assert all(name.startswith("Ủy ban nhân dân ") for name in committees)
    assert len({p.title for p in provincial.values()}) == 63
    assert {vietnam.agency_name("000.00.00.H04"), vietnam.agency_name("000.00.00.H29")} == {
        "Ủy ban nhân dân tỉnh Bắc Giang",
        "Ủy ban nhân dân thành phố Hồ Chí Minh",
    }
    ports = [p.port for p in vietnam.platforms.values()] + [
        b.port for b in vietnam.backends.values()
    ]
    assert len(set(ports)) == len(ports)


def test_every_province_connects_to_ngsp_and_receives_documents(vietnam: Topology) -> None:
    ngsp_consumers = {c.id: c for c in vietnam.consumers_at("ngsp")}
    for name, platform in vietnam.platforms.items():
        if platform.tier is Tier.NATIONAL:
            continue
        assert platform.upstream is not None and platform.upstream.return_consumer
        link = ngsp_consumers[platform.upstream.consumer]
        assert Role.PLATFORM in link.roles
        assert set(platform.national_services) <= set(link.grants)
        code = platform.agency.rsplit(".", 1)[1]
        office = vietnam.mailbox_of(f"000.00.01.{code}")
        assert office is not None and office.platform == name, name
    # the ministries receive at NGSP: the Government Office on the document axis
    government = vietnam.mailbox_of("000.00.00.G22")
    assert government is not None and government.platform == "ngsp" and government.push
    assert sum(1 for m in vietnam.mailboxes if m.platform == "ngsp") >= 2


def _dump(item: Any, drop: frozenset[str] = frozenset()) -> dict[str, Any]:
    dumped: dict[str, Any] = item.model_dump(mode="json", exclude=drop)
    return dumped


@pytest.mark.parametrize(("preset", "lgsp"), SEEDS.items())
def test_seed_provinces_in_vietnam_agree_with_their_own_presets(
    vietnam: Topology, preset: str, lgsp: str
) -> None:
    own = load_topology(preset)
    code = own.platforms[lgsp].agency.rsplit(".", 1)[1]
    assert _dump(vietnam.platforms[lgsp], PORT) == _dump(own.platforms[lgsp], PORT)

    def of_province(topology: Topology) -> dict[str, Any]:
        backends = {s.backend for s in topology.services_at(lgsp)}
        backends |= {m.backend for m in topology.mailboxes if m.platform == lgsp}
        return {
            "agencies": [_dump(a) for a in topology.agencies if a.code.endswith(f".{code}")],
            "services": [_dump(s) for s in topology.services_at(lgsp)],
            "reached": [_dump(s) for s in topology.upstream_services(lgsp)],
            "consumers": [_dump(c) for c in topology.consumers_at(lgsp)],
            "link": _dump(next(c for c in topology.consumers_at("ngsp") if c.id == lgsp)),
            "mailboxes": [_dump(m) for m in topology.mailboxes if m.platform == lgsp],
            "backends": {n: _dump(topology.backends[n], PORT) for n in backends if n},
        }

    assert of_province(vietnam) == of_province(own)


def test_other_provinces_follow_the_rule(vietnam: Topology) -> None:
    seeded = set(SEEDS.values())
    generated = [n for n, p in vietnam.platforms.items() if p.tier is Tier.PROVINCIAL]
    generated = [n for n in generated if n not in seeded]
    assert len(generated) == 60
    national = {s.code for s in vietnam.services if s.tier is Tier.NATIONAL}
    for name in generated:
        assert set(vietnam.platforms[name].national_services) == national
        assert [s.code for s in vietnam.services_at(name)] == ["apiQLVB"]
    assert "lgsp-" + slug("Bà Rịa - Vũng Tàu") in vietnam.platforms


@pytest.mark.sockets
async def test_binh_dinh_starts_and_its_lgsp_reports_what_is_registered(tmp_path: Path) -> None:
    topology = load_topology("binh-dinh-2023")
    lgsp = "lgsp-binh-dinh"
    async with run_topology(topology, tmp_path) as running:
        report = await running.report(lgsp)
    national, intra = len(topology.upstream_services(lgsp)), len(topology.services_at(lgsp))
    assert report.intra is not None
    assert (report.national.registered, report.national.reachable) == (national, national)
    assert (report.intra.registered, report.intra.reachable) == (intra, intra)
    assert report.summary == (
        f"LGSP binh-dinh: {national} services connected through NGSP, {intra} intra-province"
    )


def _document(sender: str, to: str, key: str) -> dict[str, Any]:
    """A new document in edXML's JSON projection; `key` makes its notation (and so its
    DocumentId, the default idempotency key) its own."""
    return {
        "from": {"organId": sender, "organName": f"Cơ quan {sender}"},
        "to": [{"organId": to, "organName": f"Cơ quan {to}"}],
        "code": {"codeNumber": "12", "codeNotation": f"UBND-{key}"},
        "promulgationInfo": {"place": "Quy Nhơn", "promulgationDate": "2026/11/20"},
        "documentType": {"type": 1, "typeName": "Công văn"},
        "subject": "Về việc thử nghiệm liên thông văn bản",
        "signerInfo": {"position": "Chánh Văn phòng", "fullName": "Nguyễn Văn An"},
        "bussiness": {"bussinessDocType": 0},
        "attachments": [],
    }


async def _send_and_wait(
    client: httpx.AsyncClient,
    running: RunningTopology,
    platform: str,
    consumer: str,
    body: dict[str, Any],
    within: float = 20.0,
) -> DocumentView:
    base = running.url(platform)
    auth = await bearer(client, base, running.topology, consumer)
    sent = await client.post(f"{base}/documents", json=body, headers=auth)
    assert sent.status_code == 202, sent.text
    doc_id = sent.json()["id"]
    deadline = time.monotonic() + within
    while True:
        response = await client.get(f"{base}/documents/{doc_id}", headers=auth)
        assert response.status_code == 200, response.text
        view = DocumentView.model_validate(response.json())
        if view.final:
            return view
        assert time.monotonic() < deadline, view.model_dump_json(indent=1)
        await asyncio.sleep(0.05)


@pytest.mark.sockets
async def test_a_document_from_one_binh_dinh_agency_reaches_another(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    topology = load_topology("binh-dinh-2023")
    office, department = "000.00.01.H09", "000.00.12.H09"
    async with run_topology(topology, tmp_path) as running:
        body = _document(office, department, "binh-dinh-1")
        view = await _send_and_wait(client, running, "lgsp-binh-dinh", "qlvb-binh-dinh", body)
        assert [(r.organId, r.state) for r in view.receivers] == [(department, "delivered")]
        box = await client.get(f"{running.url('e-office-stttt-binh-dinh')}/nhanVanBan")
        assert view.id in box.json()["documents"]


@pytest.mark.sockets
async def test_a_slice_of_vietnam_carries_a_document_from_bac_giang_to_binh_dinh(
    vietnam: Topology, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    """The whole country is ~170 processes; this starts only the nodes on the way."""
    receiver = vietnam.mailbox_of("000.00.01.H09")
    assert receiver is not None and receiver.backend is not None
    nodes = ["ngsp", "lgsp-bac-giang", "lgsp-binh-dinh", receiver.backend]
    async with run_topology(vietnam, tmp_path, nodes=nodes, wait=False) as running:
        body = _document("000.00.01.H04", "000.00.01.H09", "bg-to-bd-1")
        view = await _send_and_wait(client, running, "lgsp-bac-giang", "qlvb-bac-giang", body)
        assert [(r.organId, r.state) for r in view.receivers] == [("000.00.01.H09", "delivered")]
        box = await client.get(f"{running.url(receiver.backend)}/nhanVanBan")
        assert view.id in box.json()["documents"]
        assert "ngsp" in {event.platform for event in view.trail}


def _description(tmp_path: Path, mutate: Any) -> Path:
    raw = yaml.safe_load((SHIPPED_DIR / "vietnam.yaml").read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "country.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r["provinces"].append(dict(r["provinces"][0])), "H01 An Giang listed twice"),
        (lambda r: r["provinces"][0].pop("unverified"), "give a `source` or `unverified: true`"),
        (lambda r: r["provinces"].pop(8), "binh-dinh-2023's code H09 is not in provinces"),
        (lambda r: r.update(generate="continental"), "unknown generator 'continental'"),
        (lambda r: r.pop("national"), "national: required"),
    ],
)
def test_a_broken_description_is_explained_by_file_and_field(
    tmp_path: Path, mutate: Any, expected: str
) -> None:
    path = _description(tmp_path, mutate)
    with pytest.raises(TopologyError) as caught:
        load_topology(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)
