"""Health checks mark a service down only after failed checks in a row, up on the first success.

A real back end on a real socket, stopped and started again; the monitor's rounds are run
one by one (check_once), so every assertion is about a counted number of failed checks, not
about how long anything took.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from contracts.topology import Topology
from gateway.monitoring.health import HealthMonitor
from gateway.proxy.registry import Registry, Route
from gateway.settings import GatewaySettings
from sandbox.testing.harness import RunningTopology, all_healthy, fast_settings, run_topology
from sandbox.topology.specs import platform_spec

pytestmark = pytest.mark.sockets

LGSP = "lgsp-bac-giang"
BACKEND = "e-office"
SERVICE = "apiQLVB"


@pytest.fixture
async def backend_only(topology_2022: Topology, tmp_path: Path) -> AsyncIterator[RunningTopology]:
    """The LGSP's e-office back end alone, listening; the LGSP's registry is built below."""
    async with run_topology(topology_2022, tmp_path, nodes=[BACKEND], wait=False) as running:
        yield running


def _monitor(
    running: RunningTopology, client: httpx.AsyncClient, down_after: int
) -> tuple[HealthMonitor, Route]:
    registry = Registry(platform_spec(running.topology, LGSP, running.addresses))
    route = next(r for r in registry.backend_routes() if r.spec.code == SERVICE)
    monitor = HealthMonitor(registry, client, interval=60.0, timeout=2.0, down_after=down_after)
    return monitor, route


async def test_down_only_after_n_failed_checks_in_a_row_and_up_on_the_first_success(
    backend_only: RunningTopology, client: httpx.AsyncClient
) -> None:
    monitor, route = _monitor(backend_only, client, down_after=3)
    await monitor.check_once()
    assert route.health.healthy is True

    await backend_only.stop(BACKEND)
    for failed in (1, 2):
        await monitor.check_once()
        assert route.health.healthy is True, f"down after {failed} failed check(s)"
    await monitor.check_once()
    assert route.health.healthy is False
    assert route.health.detail and route.health.detail.startswith("unreachable")

    await backend_only.start(BACKEND)
    await monitor.check_once()
    assert route.health.healthy is True and route.health.detail is None


async def test_a_success_between_failures_starts_the_count_again(
    backend_only: RunningTopology, client: httpx.AsyncClient
) -> None:
    monitor, route = _monitor(backend_only, client, down_after=2)
    await monitor.check_once()
    await backend_only.stop(BACKEND)
    await monitor.check_once()  # 1 of 2
    await backend_only.start(BACKEND)
    await monitor.check_once()  # a success: the streak is over
    await backend_only.stop(BACKEND)
    await monitor.check_once()  # 1 of 2 again, not 2 of 2
    assert route.health.healthy is True
    await monitor.check_once()
    assert route.health.healthy is False


async def test_a_service_never_seen_up_is_down_at_its_first_failed_check(
    backend_only: RunningTopology, client: httpx.AsyncClient
) -> None:
    monitor, route = _monitor(backend_only, client, down_after=3)
    await backend_only.stop(BACKEND)
    await monitor.check_once()
    assert route.health.healthy is False


def test_the_threshold_is_a_setting_of_at_least_one(monkeypatch: pytest.MonkeyPatch) -> None:
    assert GatewaySettings().health_down_after_failures == 3
    monkeypatch.setenv("GSP_HEALTH_DOWN_AFTER_FAILURES", "5")
    assert GatewaySettings().health_down_after_failures == 5
    monkeypatch.setenv("GSP_HEALTH_DOWN_AFTER_FAILURES", "0")
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        GatewaySettings()


async def test_healthz_can_wait_for_start_up_and_then_a_node_down_is_one_node_down(
    topology_2022: Topology, tmp_path: Path
) -> None:
    """GSP_HEALTHZ_WAITS_FOR_START_UP (the image's): one probe of the LGSP means all is up."""
    settings = fast_settings(tmp_path).model_copy(update={"healthz_waits_for_start_up": True})
    async with (
        run_topology(topology_2022, tmp_path, settings=settings) as running,
        httpx.AsyncClient(timeout=5.0, trust_env=False) as client,
    ):
        healthz = f"{running.url(LGSP)}/healthz"
        assert (await client.get(healthz)).status_code == 200
        # the LGSP starts again while one of its back ends is down: it says so
        await running.stop(BACKEND)
        await running.stop(LGSP)
        await running.start(LGSP)
        starting = await client.get(healthz)
        assert starting.status_code == 503
        assert starting.json()["status"] == "starting"
        assert starting.json()["checks"]["start_up"] == "waiting for its services"
        await running.start(BACKEND)
        await running.wait_until(LGSP, all_healthy)
        async with asyncio.timeout(30):  # a bound, not a speed: it follows the monitor's round
            while (answer := await client.get(healthz)).status_code != 200:
                assert answer.json()["status"] == "starting", answer.text
                await asyncio.sleep(0.05)
        # once started, a back end going down leaves the platform itself healthy
        await running.stop(BACKEND)
        await running.wait_until(LGSP, lambda r: not all_healthy(r))
        assert (await client.get(healthz)).status_code == 200
