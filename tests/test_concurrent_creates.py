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
from contracts.services.public_service_portal import YeuCau
from contracts.topology import Topology
from sandbox.harness import RunningTopology, fast_settings, run_topology
from services.provincial.one_stop_shop import PREFIX

pytestmark = pytest.mark.load

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


async def test_a_status_sync_repeated_at_once_is_recorded_once(
    running: RunningTopology, topology_2022: Topology, http: httpx.AsyncClient
) -> None:
    lgsp = running.url(LGSP)
    headers = await bearer_for(http, lgsp, topology_2022)
    url = f"{lgsp}/apiDVCQG/1.0/dongBoHoSo"
    example = YeuCau.model_json_schema()["examples"][0]
    dossier = example["data"][0] | {"MaHoSo": "sync-at-once"}
    first = await http.post(url, json=example | {"data": [dossier]}, headers=headers)
    assert first.status_code == 200 and first.json()["error_code"] == "00", first.text

    # The portal's sync of a new state, retried 40 times at once: that state once.
    progressed = example | {"isUpdating": "True", "data": [dossier | {"TrangThaiHoSo": "3"}]}
    syncs = await asyncio.gather(
        *(http.post(url, json=progressed, headers=headers) for _ in range(AT_ONCE))
    )
    assert [r.status_code for r in syncs] == [200] * AT_ONCE
    found = await http.post(
        url, json={"service": "TraCuuHoSo", "mahoso": "sync-at-once"}, headers=headers
    )
    [view] = found.json()["result"]
    assert [step["TrangThai"] for step in view["TienDo"]] == [dossier["TrangThaiHoSo"], "3"]
