"""Active health checks: back ends, the upstream platform's view of its services, peers.

A node is marked down only after `down_after` failed checks in a row, and up again on the
first success: on a busy machine one check that times out must not flip the counts (and
the dashboard, and a test waiting on them) to "down" and back. A node never seen up is
reported down at its first failure: there is no state to flap from.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx

from contracts.platform import TopologyReport
from gateway.proxy.registry import Health, Registry
from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)
STARTUP_SECONDS = 30.0
STARTUP_ROUND = 0.1
DEFAULT_DOWN_AFTER: int = GatewaySettings.model_fields["health_down_after_failures"].default


class FailureStreaks:
    """Failed checks in a row per Health, deciding when a failure marks it down."""

    def __init__(self, down_after: int) -> None:
        if down_after < 1:
            raise ValueError(f"down_after must be at least 1, not {down_after}")
        self.down_after = down_after
        # Keyed by identity (Health is a mutable dataclass, so unhashable); the Health is kept
        # with its count so that its id cannot be reused while the entry lives.
        self._streaks: dict[int, tuple[Health, int]] = {}

    def succeeded(self, health: Health) -> None:
        self._streaks.pop(id(health), None)
        health.mark(True)

    def failed(self, health: Health, detail: str) -> bool:
        """Count one failure; True when it marked the Health down."""
        streak = self._streaks.get(id(health), (health, 0))[1] + 1
        self._streaks[id(health)] = (health, streak)
        if streak >= self.down_after or health.healthy is not True:
            health.mark(False, detail)
            return True
        log.debug("check failed (%d of %d before down): %s", streak, self.down_after, detail)
        return False

    def keep_only(self, healths: list[Health]) -> None:
        """Forget the streaks of Healths no longer checked (a route removed by an admin)."""
        alive = {id(h) for h in healths}
        for key in [k for k in self._streaks if k not in alive]:
            del self._streaks[key]


class HealthMonitor:
    def __init__(
        self,
        registry: Registry,
        client: httpx.AsyncClient,
        *,
        interval: float,
        timeout: float,
        down_after: int = DEFAULT_DOWN_AFTER,
    ) -> None:
        self._registry = registry
        self._client = client
        self._interval = interval
        self._timeout = timeout
        self._streaks = FailureStreaks(down_after)
        self._task: asyncio.Task[None] | None = None
        # True until what this platform depends on (its services, its upstream) was healthy
        # once, or STARTUP_SECONDS passed. Peers below it are not waited for: they start
        # after it (Compose starts a provincial platform once the national one is healthy).
        self.starting = True

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="health-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def check_once(self) -> None:
        backends = self._registry.backend_routes()
        peers = list(self._registry.downstream.values())
        probes = [self._probe(r.spec.url, r.health) for r in backends]
        probes += [self._probe(p.spec.url, p.health) for p in peers]
        checked = [r.health for r in backends] + [p.health for p in peers]
        if self._registry.upstream is not None:
            probes.append(self._check_upstream())
            checked.append(self._registry.upstream.health)
        self._streaks.keep_only(checked)
        await asyncio.gather(*probes)

    def _all_healthy(self) -> bool:
        healths = [r.health for r in self._registry.routes.values()]
        healths += [p.health for p in self._registry.downstream.values()]
        if self._registry.upstream is not None:
            healths.append(self._registry.upstream.health)
        return all(h.healthy for h in healths)

    def _dependencies_healthy(self) -> bool:
        healths = [r.health for r in self._registry.routes.values()]
        if self._registry.upstream is not None:
            healths.append(self._registry.upstream.health)
        return all(h.healthy for h in healths)

    async def _run(self) -> None:
        # Start-up mode: while the topology comes up, nodes start in parallel and the first
        # rounds find some not yet listening; checking every 0.1 s instead of every interval
        # makes "all healthy" visible as soon as it is true. Afterwards, the normal interval.
        starting_until = asyncio.get_running_loop().time() + STARTUP_SECONDS
        while True:
            try:
                await self.check_once()
            except Exception:  # a failed round must not end the monitor
                log.exception("health round failed")
            starting = asyncio.get_running_loop().time() < starting_until
            if self.starting and (not starting or self._dependencies_healthy()):
                self.starting = False
            if starting and self._all_healthy():
                starting = False
                starting_until = 0.0
            await asyncio.sleep(min(self._interval, STARTUP_ROUND) if starting else self._interval)

    async def _get(self, url: str) -> httpx.Response:
        return await self._client.get(url, timeout=self._timeout)

    async def _probe(self, base_url: str, health: Health) -> None:
        try:
            response = await self._get(f"{base_url.rstrip('/')}/healthz")
        except httpx.TransportError as exc:
            self._streaks.failed(health, f"unreachable: {type(exc).__name__}")
            return
        if response.status_code == 200:
            self._streaks.succeeded(health)
        else:
            self._streaks.failed(health, f"/healthz answered {response.status_code}")

    async def _check_upstream(self) -> None:
        """A service behind the upstream is reachable when the upstream is and says it is.

        The upstream itself gets the failure streak; its services follow it down only once
        it is marked down. What the upstream reports about a service is taken as it is: the
        upstream has already waited for its own failed checks in a row.
        """
        upstream = self._registry.upstream
        assert upstream is not None
        routes = self._registry.upstream_routes()
        try:
            response = await self._get(f"{upstream.spec.url}/topology")
            response.raise_for_status()
            report = TopologyReport.model_validate_json(response.content)
        except (httpx.HTTPError, ValueError) as exc:
            detail = f"{upstream.spec.name} unreachable: {type(exc).__name__}"
            if self._streaks.failed(upstream.health, detail):
                for route in routes:
                    route.health.mark(False, detail)
            return
        self._streaks.succeeded(upstream.health)
        seen = {(s.code, s.version): s for s in report.national.services}
        for route in routes:
            status = seen.get((route.spec.code, route.spec.version))
            if status is None:
                route.health.mark(False, f"not registered at {upstream.spec.name}")
            elif status.healthy:
                route.health.mark(True)
            else:
                route.health.mark(False, f"{upstream.spec.name}: {status.detail or 'unhealthy'}")
