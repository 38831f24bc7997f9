"""Provider verification: our back ends keep their contracts; a broken one is caught."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contracts.openapi_store import load_document
from contracts.registry import contracts
from sandbox.cli import main
from sandbox.harness import RunningTopology, run_topology
from sandbox.hosting import NodeHost, bind_socket
from sandbox.topology import load_topology
from sandbox.verify import cases_for, missing_examples, verify
from tests.broken_backend import create_broken_population

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
    assert len(services) == 27
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
    assert "$.body.gioiTinh" in wrong_type
    accepted = failures[("GET /congDan", "invalid", "soDinhDanh against its pattern")]
    assert accepted.startswith("accepted an invalid request with 200")
    crashed = failures[("POST /xacThucCongDan", "valid", "contract example")]
    assert crashed.startswith("server error 500")


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
