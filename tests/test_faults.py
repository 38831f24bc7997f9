"""Fault injection, circuit breaker, the request journal and the /_sandbox namespace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.openapi_store import load_document
from contracts.topology import Topology
from gateway.settings import GatewaySettings
from sandbox.testing.harness import RunningTopology, fast_settings, run_topology
from sandbox.testing.verify import cases_for
from sandbox.topology.loading import load_topology
from services.common.sampledata import citizens
from tests.helpers import admin_of, assert_fault, assert_problem, audit_records, bearer

pytestmark = pytest.mark.sockets

LGSP, NGSP = "lgsp-bac-giang", "ngsp"
POPULATION = "/apiCSDLDC/1.0/congDan"
DOSSIERS = "/apiMotCua/1.0/hoSo"


@pytest.fixture
async def run(tmp_path: Path) -> AsyncIterator[RunningTopology]:
    values = fast_settings(tmp_path).model_dump()
    # The hop's deadline is what a loaded CI machine needs to answer a scenario (0.5 s gave
    # 504s at load 27); only the timeout rule waits for it, once.
    values.update(breaker_failures=3, breaker_reset_seconds=0.5, upstream_timeout_seconds=3.0)
    async with run_topology(
        load_topology("bac-giang-2022"), tmp_path, settings=GatewaySettings(**values)
    ) as running:
        yield running


async def admin(client: httpx.AsyncClient, run: RunningTopology, platform: str) -> dict[str, str]:
    return await bearer(client, run.url(platform), run.topology, admin_of(run.topology, platform))


async def lookup(client: httpx.AsyncClient, run: RunningTopology) -> httpx.Response:
    headers = await bearer(client, run.url(LGSP), run.topology, "motcua-bac-giang")
    citizen = citizens(run.topology.seed, 1)[0]
    return await client.get(
        f"{run.url(LGSP)}{POPULATION}",
        params={"soDinhDanh": citizen.so_dinh_danh},
        headers=headers,
    )


async def put_faults(
    client: httpx.AsyncClient, run: RunningTopology, platform: str, *rules: dict[str, Any]
) -> None:
    response = await client.put(
        f"{run.url(platform)}/_sandbox/faults",
        json={"rules": list(rules)},
        headers=await admin(client, run, platform),
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("rule", "status", "slug"),
    [
        ({"action": "error", "status": 503}, 503, "injected-fault"),
        ({"action": "down"}, 502, "backend-unreachable"),
        ({"action": "reset"}, 502, "backend-unreachable"),
        ({"action": "timeout"}, 504, "backend-timeout"),
        ({"action": "corrupt"}, 502, "contract-violation"),
    ],
)
async def test_each_fault_reaches_the_caller_as_the_right_problem(
    run: RunningTopology, client: httpx.AsyncClient, rule: dict[str, Any], status: int, slug: str
) -> None:
    # The rule lives where the service is registered: NGSP for the population database.
    await put_faults(client, run, NGSP, {"service": "apiCSDLDC", **rule})
    assert_problem(await lookup(client, run), status, slug)
    await put_faults(client, run, NGSP)
    assert (await lookup(client, run)).status_code == 200


async def test_latency_rule_delays_and_first_match_wins(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    await put_faults(
        client,
        run,
        NGSP,
        {
            "service": "apiCSDLDC",
            "operation": "GET /congDan",
            "action": "latency",
            "latency_ms": 300,
        },
        {"service": "apiCSDLDC", "action": "error", "status": 500},
    )
    started = time.monotonic()
    response = await lookup(client, run)
    assert response.status_code == 200  # the first rule matched; the error rule never ran
    assert time.monotonic() - started >= 0.3


async def test_probability_zero_never_fires(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    await put_faults(
        client, run, NGSP, {"service": "apiCSDLDC", "action": "down", "probability": 0.0}
    )
    assert all([(await lookup(client, run)).status_code == 200 for _ in range(5)])


async def test_circuit_opens_after_failures_then_probes_and_closes(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    await put_faults(client, run, NGSP, {"service": "apiCSDLDC", "action": "down"})
    for _ in range(3):
        assert_problem(await lookup(client, run), 502, "backend-unreachable")
    # circuit-open (not backend-unreachable) says the breaker refused it without a call.
    problem = assert_problem(await lookup(client, run), 503, "circuit-open")
    assert problem["service"] == "apiCSDLDC"
    circuits = await client.get(
        f"{run.url(NGSP)}/_sandbox/circuits", headers=await admin(client, run, NGSP)
    )
    assert {"service": "apiCSDLDC/1.0", "state": "open"} in circuits.json()
    await put_faults(client, run, NGSP)
    deadline = time.monotonic() + 5
    while (await lookup(client, run)).status_code != 200:  # the half-open probe succeeds
        assert time.monotonic() < deadline
        await client.get(f"{run.url(NGSP)}/healthz")


async def test_a_relayed_failure_is_audited_as_what_it_was(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    await put_faults(client, run, NGSP, {"service": "apiCSDLDC", "action": "down"})
    failed = await lookup(client, run)
    assert_problem(failed, 502, "backend-unreachable")
    message_id = failed.headers["X-Message-Id"]
    for platform in (LGSP, NGSP):
        [record] = await audit_records(
            client, run.url(platform), run.topology, platform, message_id=message_id
        )
        assert (record.status, record.outcome) == (502, "backend-unreachable"), platform


async def test_failures_a_caller_asks_for_never_open_the_circuit_for_others(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    headers = await bearer(client, run.url(LGSP), run.topology, "motcua-bac-giang")
    citizen = citizens(run.topology.seed, 1)[0]
    for _ in range(5):  # more than breaker_failures (3)
        busy = await client.get(
            f"{run.url(LGSP)}{POPULATION}",
            params={"soDinhDanh": citizen.so_dinh_danh},
            headers={**headers, "X-Sandbox-Scenario": "service-busy"},
        )
        assert_problem(busy, 503, "service-busy")
    assert (await lookup(client, run)).status_code == 200
    for platform in (LGSP, NGSP):
        circuits = await client.get(
            f"{run.url(platform)}/_sandbox/circuits", headers=await admin(client, run, platform)
        )
        assert all(c["state"] == "closed" for c in circuits.json()), platform


async def test_journal_names_near_misses_and_finds_a_message(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    headers = await bearer(client, run.url(LGSP), run.topology, "motcua-bac-giang")
    # As WSO2 answers it by default; the sandbox's guess is in the header and the journal.
    miss = await client.get(f"{run.url(LGSP)}/apiCSDLD/1.0/congDan", headers=headers)
    assert_fault(miss, 404, 404, "unknown-service")
    assert "Did you mean /apiCSDLDC/1.0/?" in miss.headers["X-Sandbox-Detail"]
    # a slip of case is the commonest miss: it still finds the service meant
    lower = await client.get(
        f"{run.url(LGSP)}/csdldc/1.0/congDan",
        headers={**headers, "Accept": "application/problem+json"},
    )
    assert assert_problem(lower, 404, "unknown-service")["closest"] == "/apiCSDLDC/1.0/"
    hit = await lookup(client, run)
    journal = await client.get(
        f"{run.url(LGSP)}/_sandbox/journal",
        params={"message_id": hit.headers["X-Message-Id"]},
        headers=await admin(client, run, LGSP),
    )
    assert journal.status_code == 200
    body = journal.json()
    assert [e["status"] for e in body["exchanges"]] == [200]
    assert body["near_misses"][0]["closest"] == "/apiCSDLDC/1.0/"
    missed = {e["message_id"]: e for e in body["near_misses"]}[miss.headers["X-Message-Id"]]
    assert missed["closest"] == "/apiCSDLDC/1.0/" and "apiCSDLD" in missed["detail"]


async def test_sandbox_namespace_is_admin_only(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    consumer = await bearer(client, run.url(LGSP), run.topology, "motcua-bac-giang")
    for method, path in [
        ("GET", "ready"),
        ("GET", "faults"),
        ("DELETE", "faults"),
        ("GET", "journal"),
        ("POST", "reset"),
        ("GET", "circuits"),
        ("GET", "scenarios"),
    ]:
        url = f"{run.url(LGSP)}/_sandbox/{path}"
        assert_problem(await client.request(method, url, headers=consumer), 403, "admin-only")
        assert (await client.request(method, url)).status_code == 401


async def test_ready_reports_what_is_down(run: RunningTopology, client: httpx.AsyncClient) -> None:
    headers = await admin(client, run, LGSP)
    assert (await client.get(f"{run.url(LGSP)}/_sandbox/ready", headers=headers)).json()["ready"]
    await run.stop("data-warehouse")
    deadline = time.monotonic() + 5
    while True:
        response = await client.get(f"{run.url(LGSP)}/_sandbox/ready", headers=headers)
        if response.status_code == 503:
            break
        assert time.monotonic() < deadline
    assert response.json()["not_ready"] == ["service apiKhoDuLieu/1.0"]


async def test_reset_returns_to_the_seeded_state(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    motcua = await bearer(client, run.url(LGSP), run.topology, "motcua-bac-giang")
    document = load_document("vn.bacgiang.motcua.dossier", "1.0")
    assert document is not None
    example = next(c for c in cases_for(document) if c.operation == "POST /hoSo")
    created = await client.post(f"{run.url(LGSP)}{DOSSIERS}", json=example.body, headers=motcua)
    assert created.status_code in (200, 201), created.text
    assert (await client.get(f"{run.url(LGSP)}{DOSSIERS}", headers=motcua)).json()

    await put_faults(client, run, LGSP, {"service": "apiKhoDuLieu", "action": "down"})
    reset = await client.post(
        f"{run.url(LGSP)}/_sandbox/reset", headers=await admin(client, run, LGSP)
    )
    assert reset.status_code == 200, reset.text
    assert reset.json()["faults"] == 0
    assert "apiMotCua/1.0" in reset.json()["backends_reset"]
    faults = await client.get(
        f"{run.url(LGSP)}/_sandbox/faults", headers=await admin(client, run, LGSP)
    )
    assert faults.json() == {"rules": []}
    assert (await client.get(f"{run.url(LGSP)}{DOSSIERS}", headers=motcua)).json() == []


def test_topology_faults_are_checked_and_reach_their_platform(tmp_path: Path) -> None:
    import yaml

    from sandbox.topology.addresses import AddressBook
    from sandbox.topology.loading import SHIPPED_DIR
    from sandbox.topology.specs import platform_spec

    raw = yaml.safe_load((SHIPPED_DIR / "bac-giang-2022.yaml").read_text(encoding="utf-8"))
    raw["faults"] = [{"service": "apiCSDLDC", "action": "latency", "latency_ms": 500}]
    topology = Topology.model_validate(raw)
    addresses = AddressBook(topology)
    assert [f.service for f in platform_spec(topology, NGSP, addresses).faults] == ["apiCSDLDC"]
    assert platform_spec(topology, LGSP, addresses).faults == []
    raw["faults"] = [{"service": "apiNope", "action": "down"}]
    with pytest.raises(ValueError, match=r"faults\[0\]\.service"):
        Topology.model_validate(raw)


async def test_cli_adds_lists_and_clears_rules(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    from sandbox.cli import main

    def cli(*args: str) -> int:  # its own event loop, so its own thread
        return main(["faults", *args, "--platform", NGSP, "--url", run.url(NGSP)])

    rule = '{"service": "apiCSDLDC", "action": "error", "status": 500}'
    assert await asyncio.to_thread(cli, "add", rule) == 0
    assert_problem(await lookup(client, run), 500, "injected-fault")
    assert await asyncio.to_thread(cli, "list") == 0
    assert await asyncio.to_thread(cli, "add", '{"service": "apiCSDLDC"}') == 2
    assert await asyncio.to_thread(cli, "clear") == 0
    assert (await lookup(client, run)).status_code == 200


@pytest.mark.contention
async def test_chaos_topology_declares_faults_for_a_repeatable_demo(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    topology = load_topology("bac-giang-2022-chaos")
    assert topology.name == "bac-giang-2022-chaos"
    assert len(topology.services) == 12  # everything of the file it extends
    async with run_topology(topology, tmp_path) as chaos:
        headers = await admin(client, chaos, NGSP)
        rules = (await client.get(f"{chaos.url(NGSP)}/_sandbox/faults", headers=headers)).json()
        assert [r["service"] for r in rules["rules"]] == [
            "apiCSDLDC",
            "apiThue",
            "apiVNPostNGSP",
        ]
        started = time.monotonic()
        assert (await lookup(client, chaos)).status_code == 200
        assert time.monotonic() - started >= 0.2  # 400 ms ± 200 of injected latency
