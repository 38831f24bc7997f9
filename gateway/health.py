"""Active health checks: back ends, the upstream platform's view of its services, peers."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx

from contracts.platform import TopologyReport
from gateway.registry import Health, Registry

log = logging.getLogger(__name__)
STARTUP_SECONDS = 30.0
STARTUP_ROUND = 0.1


class HealthMonitor:
    def __init__(
        self, registry: Registry, client: httpx.AsyncClient, *, interval: float, timeout: float
    ) -> None:
        self._registry = registry
        self._client = client
        self._interval = interval
        self._timeout = timeout
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="health-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def check_once(self) -> None:
        probes = [self._probe(r.spec.url, r.health) for r in self._registry.backend_routes()]
        probes += [self._probe(p.spec.url, p.health) for p in self._registry.downstream.values()]
        if self._registry.upstream is not None:
            probes.append(self._check_upstream())
        await asyncio.gather(*probes)

    def _all_healthy(self) -> bool:
        healths = [r.health for r in self._registry.routes.values()]
        healths += [p.health for p in self._registry.downstream.values()]
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
            health.mark(False, f"unreachable: {type(exc).__name__}")
            return
        if response.status_code == 200:
            health.mark(True)
        else:
            health.mark(False, f"/healthz answered {response.status_code}")

    async def _check_upstream(self) -> None:
        """A service behind the upstream is reachable when the upstream is and says it is."""
        upstream = self._registry.upstream
        assert upstream is not None
        routes = self._registry.upstream_routes()
        try:
            response = await self._get(f"{upstream.spec.url}/topology")
            response.raise_for_status()
            report = TopologyReport.model_validate_json(response.content)
        except (httpx.HTTPError, ValueError) as exc:
            detail = f"{upstream.spec.name} unreachable: {type(exc).__name__}"
            upstream.health.mark(False, detail)
            for route in routes:
                route.health.mark(False, detail)
            return
        upstream.health.mark(True)
        seen = {(s.code, s.version): s for s in report.national.services}
        for route in routes:
            status = seen.get((route.spec.code, route.spec.version))
            if status is None:
                route.health.mark(False, f"not registered at {upstream.spec.name}")
            elif status.healthy:
                route.health.mark(True)
            else:
                route.health.mark(False, f"{upstream.spec.name}: {status.detail or 'unhealthy'}")
