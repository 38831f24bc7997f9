"""Provider verification: our back ends keep their contracts; a broken one is caught."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from contracts.openapi_store import load_document
from contracts.registry import contracts
from sandbox.cli import main
from sandbox.runtime.hosting import NodeHost, bind_socket
from sandbox.testing.harness import RunningTopology, run_topology
from sandbox.testing.verify import cases_for, missing_examples, verify
from sandbox.topology.loading import load_topology
from tests.broken_backend import create_broken_population

pytestmark = pytest.mark.sockets

POPULATION = "vn.gov.csdldc.population"


def test_every_operation_of_every_contract_has_examples() -> None:
    documents = [load_document(r.id, r.version) for r in contracts().values()]
    assert all(documents)
    assert missing_examples(d for d in documents if d) == []


def test_cases_include_valid_and_invalid_ones_per_operation() -> None:
    document = load_document(POPULATION, "1.0")
    assert document is not None
    cases = cases_for(document)
    assert {(c.operation, c.kind) for c in cases} == {
        ("GET /congDan", "valid"),
        ("GET /congDan", "invalid"),
        ("POST /xacThucCongDan", "valid"),
        ("POST /xacThucCongDan", "invalid"),
    }
    names = {c.name for c in cases if c.kind == "invalid"}
    assert {"soDinhDanh against its pattern", "soDinhDanh missing"} <= names


async def test_every_sample_back_end_keeps_its_contract(sandbox: RunningTopology) -> None:
    checked = 0
    for service in sandbox.topology.services:
        if service.backend is None or service.contract is None:
            continue
        report = await verify(sandbox.url(service.backend), service.contract, service.version)
        assert report.passed, [(r.case.operation, r.case.name, r.reason) for r in report.failures]
        checked += 1
    assert checked == 12


async def test_verify_against_the_wrong_back_end_fails(sandbox: RunningTopology) -> None:
    # The population contract checked against the tax back end: every valid case misses.
    report = await verify(sandbox.url("tax"), POPULATION)
    assert not report.passed
    valid = [r for r in report.results if r.case.kind == "valid"]
    assert valid and all(not r.passed for r in valid)
    assert all(r.status == 404 for r in valid), [(r.status, r.reason) for r in valid]
    # and business registration against the civil-status back end
    wrong = await verify(sandbox.url("civil-status"), "vn.gov.csdldkdn.business-registration")
    assert not wrong.passed


async def test_valid_cases_must_succeed_not_just_match_a_documented_error(
    sandbox: RunningTopology,
) -> None:
    # A back end that knows none of the examples answers the guide's failure envelope (HTTP
    # 200, Status "0"): the shape is documented, but the example's record is missing.
    async def no_enterprises(scope: Scope, receive: Receive, send: Send) -> None:
        body = b'{"Data": null, "DataCount": 0, "Status": "0", "Message": "none"}'
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    transport = httpx.ASGITransport(app=no_enterprises)
    report = await verify(
        "http://empty", "vn.gov.csdldkdn.business-registration", transport=transport
    )
    detail = next(
        r
        for r in report.results
        if r.case.operation == "GET /chiTietDoanhNghiep" and r.case.kind == "valid"
    )
    assert not detail.passed and "Status '0'" in detail.reason


async def test_verify_leaves_no_records_unless_told(sandbox: RunningTopology) -> None:
    url = sandbox.url("one-stop-shop")
    async with httpx.AsyncClient(base_url=url, trust_env=False) as client:
        assert (await client.post("/_sandbox/reset")).status_code == 200  # others' dossiers
        assert (await client.get("/hoSo")).json() == []
        report = await verify(url, "vn.bacgiang.motcua.dossier")
        assert report.passed and "reset" in report.cleanup
        assert (await client.get("/hoSo")).json() == []
        kept = await verify(url, "vn.bacgiang.motcua.dossier", keep_records=True)
        assert kept.passed and "kept" in kept.cleanup
        assert len((await client.get("/hoSo")).json()) == 1
        assert (await client.post("/_sandbox/reset")).status_code == 200


@pytest.fixture(scope="module")
async def generic_2023(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningTopology]:
    topology = load_topology("bac-giang-2023")
    nodes = [n for n, b in topology.backends.items() if b.app == "generic"]
    data = tmp_path_factory.mktemp("generic")
    async with run_topology(topology, data, nodes=nodes, wait=False) as running:
        yield running


async def test_the_generic_datasets_keep_their_contracts(generic_2023: RunningTopology) -> None:
    services = [
        s
        for s in generic_2023.topology.services
        if s.contract
        and s.backend in generic_2023.addresses.ports
        and generic_2023.topology.backends[s.backend].app == "generic"
    ]
    assert len(services) == 25
    for service in services:
        assert service.backend and service.contract
        report = await verify(generic_2023.url(service.backend), service.contract)
        assert report.passed, (service.code, [(r.case.name, r.reason) for r in report.failures])


@pytest.fixture
async def broken_url() -> AsyncIterator[str]:
    sock = bind_socket("127.0.0.1", 0)
    host = NodeHost(lambda _: create_broken_population())
    await host.start("broken", sock.getsockname()[1], sock)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await host.stop_all()
        sock.close()


async def test_a_broken_back_end_fails_with_the_reasons(broken_url: str) -> None:
    report = await verify(broken_url, POPULATION)
    assert not report.passed
    failures = {(r.case.operation, r.case.kind, r.case.name): r.reason for r in report.failures}
    wrong_type = failures[("GET /congDan", "valid", "contract example")]
    assert "$.body.CongDan.GioiTinh" in wrong_type
    accepted = failures[("GET /congDan", "invalid", "soDinhDanh against its pattern")]
    assert accepted.startswith("accepted an invalid request with 200")
    crashed = failures[("POST /xacThucCongDan", "valid", "contract example")]
    assert crashed.startswith("server error 500")


@pytest.mark.processes
async def test_cli_exit_codes_and_junit_report(
    broken_url: str, sandbox: RunningTopology, tmp_path: Path
) -> None:
    # The CLI runs its own event loop; the servers live on this one, so it gets a thread.
    def cli(*args: str) -> int:
        return main(["verify", *args])

    junit = tmp_path / "reports" / "verify.xml"
    code = await asyncio.to_thread(
        cli, "--base-url", broken_url, "--contract", POPULATION, "--junit", str(junit)
    )
    assert code == 1
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    failures = suite.findall("testcase/failure")
    assert int(suite.get("failures", "0")) == len(failures) >= 3
    ours = sandbox.url("population")
    assert await asyncio.to_thread(cli, "--base-url", ours, "--contract", POPULATION) == 0
    typo = "vn.gov.csdldc.populaton"
    assert await asyncio.to_thread(cli, "--base-url", broken_url, "--contract", typo) == 2
