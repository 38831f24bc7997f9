"""Back ends under concurrency: many submissions at once through a real LGSP, over sockets.

Numbering used to read the count and then insert, behind a lock that lived on a per-request
object: 40 dossiers at once gave 500s (two got the same number). Now SQLite numbers and
inserts in one statement, so every create is answered and every number is distinct, also
after the back end restarts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bench.concurrent_creates import CREATE_CALLS, CreateCall, bearer_for, create_at_once
from contracts.services.postal import TaoVanDon
from contracts.services.public_service_portal import DongBoHoSo
from contracts.topology import Topology
from sandbox.harness import RunningTopology, fast_settings, run_topology
from services.provincial.one_stop_shop import PREFIX

LGSP = "lgsp-bac-giang"
AT_ONCE = 40


@pytest.fixture
async def running(topology_2022: Topology, tmp_path: Path) -> AsyncIterator[RunningTopology]:
    # Every node shares this test's one event loop and 40 commits queue on each back end's
    # database: a slow machine must not turn that into 504s, which is not what is tested.
    settings = fast_settings(tmp_path).model_copy(update={"upstream_timeout_seconds": 60.0})
    async with run_topology(topology_2022, tmp_path, settings=settings) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=AT_ONCE)
    async with httpx.AsyncClient(timeout=30.0, trust_env=False, limits=limits) as client:
        yield client


def _call(path_end: str) -> CreateCall:
    return next(c for c in CREATE_CALLS if c.path.endswith(path_end))


async def test_every_creating_back_end_answers_40_at_once_with_distinct_numbers(
    running: RunningTopology, topology_2022: Topology, http: httpx.AsyncClient
) -> None:
    lgsp = running.url(LGSP)
    headers = await bearer_for(http, lgsp, topology_2022)
    for call in CREATE_CALLS:
        keys = [f"{call.path}-{i}" for i in range(AT_ONCE)]
        outcome = await create_at_once(http, lgsp, call, keys, headers)
        assert outcome.server_errors == 0, (call.path, outcome.statuses)
        assert sum(outcome.statuses.values()) == len(outcome.ids) == AT_ONCE, call.path
        assert outcome.distinct == AT_ONCE, (call.path, sorted(outcome.ids))

        # The same submission 40 times at once (a retrying client): one record.
        same = await create_at_once(http, lgsp, call, [f"{call.path}-same"] * AT_ONCE, headers)
        assert same.server_errors == 0, (call.path, same.statuses)
        assert len(same.ids) == AT_ONCE and same.distinct == 1, call.path
        if call.answers_201:
            assert same.statuses[201] == 1 and same.statuses[200] == AT_ONCE - 1, call.path


async def test_dossier_numbers_stay_dense_and_distinct_across_a_restart(
    running: RunningTopology, topology_2022: Topology, http: httpx.AsyncClient
) -> None:
    lgsp = running.url(LGSP)
    headers = await bearer_for(http, lgsp, topology_2022)
    dossiers = _call("/hoSo")
    first = await create_at_once(
        http, lgsp, dossiers, [f"first-{i}" for i in range(AT_ONCE)], headers
    )
    assert first.server_errors == 0, first.statuses
    assert set(first.ids) == {f"{PREFIX}-{n:07d}" for n in range(1, AT_ONCE + 1)}

    await running.stop("one-stop-shop")
    await running.start("one-stop-shop")
    await running.wait_healthy()
    second = await create_at_once(
        http, lgsp, dossiers, [f"second-{i}" for i in range(AT_ONCE)], headers
    )
    assert second.server_errors == 0, second.statuses
    assert set(second.ids) == {f"{PREFIX}-{n:07d}" for n in range(AT_ONCE + 1, 2 * AT_ONCE + 1)}


async def test_concurrent_status_changes_are_neither_lost_nor_repeated(
    running: RunningTopology, topology_2022: Topology, http: httpx.AsyncClient
) -> None:
    lgsp = running.url(LGSP)
    headers = await bearer_for(http, lgsp, topology_2022)

    # Tracking a shipment advances it one step per read: 40 reads at once of a fresh
    # shipment must leave each step once in its journey, in order.
    shipment = TaoVanDon.model_json_schema()["examples"][0] | {"maHoSo": "track-at-once"}
    created = await http.post(
        f"{lgsp}/apiBuuChinhCongIch/1.0/taoVanDon", json=shipment, headers=headers
    )
    assert created.status_code == 201, created.text
    number = created.json()["maVanDon"]
    reads = await asyncio.gather(
        *(
            http.get(
                f"{lgsp}/apiBuuChinhCongIch/1.0/trangThaiVanDon",
                params={"maVanDon": number},
                headers=headers,
            )
            for _ in range(AT_ONCE)
        )
    )
    assert [r.status_code for r in reads] == [200] * AT_ONCE
    journey = reads[0].json()["hanhTrinh"]
    for read in reads:
        journey = max(journey, read.json()["hanhTrinh"], key=len)
    assert len(journey) == len(set(journey)) > 1, journey

    # A progress sync repeated 40 times at once appends that progress once.
    sync = DongBoHoSo.model_json_schema()["examples"][0] | {"maHoSo": "sync-at-once"}
    first = await http.post(f"{lgsp}/apiDVCQG/1.0/dongBoHoSo", json=sync, headers=headers)
    assert first.status_code == 200, first.text
    progressed = sync | {"trangThai": "DANG_XU_LY"}
    syncs = await asyncio.gather(
        *(
            http.post(f"{lgsp}/apiDVCQG/1.0/dongBoHoSo", json=progressed, headers=headers)
            for _ in range(AT_ONCE)
        )
    )
    assert [r.status_code for r in syncs] == [200] * AT_ONCE
    final = await http.get(
        f"{lgsp}/apiDVCQG/1.0/trangThaiHoSo", params={"maHoSo": "sync-at-once"}, headers=headers
    )
    assert [step["trangThai"] for step in final.json()["tienDo"]] == ["TIEP_NHAN", "DANG_XU_LY"]
