"""Health checks mark a service down only after failed checks in a row, up on the first success.

A real back end on a real socket, stopped and started again; the monitor's rounds are run
one by one (check_once), so every assertion is about a counted number of failed checks, not
about how long anything took.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from contracts.topology import Topology
from gateway.monitoring.health import HealthMonitor
from gateway.proxy.registry import Registry, Route
from gateway.settings import GatewaySettings
from sandbox.harness import RunningTopology, run_topology
from sandbox.specs import platform_spec

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
