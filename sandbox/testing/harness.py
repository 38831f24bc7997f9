"""Run a whole topology inside the current event loop, on free loopback ports.

For tests (ours, and agency teams' through the pytest plugin): every node is a real
uvicorn server on a real socket, started and stopped at will.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from contracts.platform import TopologyReport
from contracts.topology import Topology
from gateway.settings import GatewaySettings
from sandbox.runtime.apps import build_app
from sandbox.runtime.hosting import NodeHost, TlsListener, bind_socket
from sandbox.runtime.identity import NodeIdentity
from sandbox.runtime.readiness import all_healthy, not_yet_up
from sandbox.topology.addresses import AddressBook


@dataclass
class RunningTopology:
    topology: Topology
    addresses: AddressBook
    settings: GatewaySettings
    host: NodeHost

    def url(self, node: str) -> str:
        return self.addresses.url(node)

    async def stop(self, node: str) -> None:
        await self.host.stop(node)

    async def start(self, node: str) -> None:
        await self.host.start(node, self.addresses.port(node))

    def https_url(self, node: str) -> str:
        """A platform's HTTPS base URL (`run_topology(..., https=True)`)."""
        url = self.addresses.https_url(node)
        if url is None:
            raise LookupError(f"{node} serves no HTTPS here (run_topology(..., https=True))")
        return url

    async def report(self, platform: str) -> TopologyReport:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{self.url(platform)}/topology")
            response.raise_for_status()
            return TopologyReport.model_validate_json(response.content)

    async def wait_until(
        self, platform: str, ready: Callable[[TopologyReport], bool], within: float = 10.0
    ) -> TopologyReport:
        """Poll a platform's /topology until `ready(report)` is true."""
        deadline = time.monotonic() + within
        while True:
            report = await self.report(platform)
            if ready(report):
                return report
            if time.monotonic() > deadline:
                waiting = not_yet_up(report)
                named = f"; not yet up: {', '.join(waiting)}" if waiting else ""
                raise TimeoutError(
                    f"{platform} not ready after {within:g} s: {report.summary}{named}"
                )
            await asyncio.sleep(0.05)

    async def wait_healthy(self, within: float = 60.0) -> None:
        # Generous: it returns as soon as every node is healthy; on a loaded machine (the
        # contention tier) a first health round can take many seconds.
        for platform in self.topology.platforms:
            await self.wait_until(platform, all_healthy, within)


def fast_settings(data_dir: Path) -> GatewaySettings:
    """Fast health checks so tests see a stopped back end within a fraction of a second."""
    return GatewaySettings(
        data_dir=data_dir,
        health_interval_seconds=0.2,
        health_timeout_seconds=0.5,
        connect_timeout_seconds=0.5,
        upstream_timeout_seconds=3.0,
    )


@asynccontextmanager
async def run_topology(
    topology: Topology,
    data_dir: Path,
    *,
    settings: GatewaySettings | None = None,
    nodes: Iterable[str] | None = None,
    wait: bool = True,
    https: bool = False,
    ready_within: float | None = None,
) -> AsyncIterator[RunningTopology]:
    """`https=True`: the platforms also serve HTTPS, with certificates of the sandbox CA in
    `data_dir` (made on first use: `data_dir/pki/ca.pem` is what a client trusts).
    `ready_within`: how long to wait for every node to be healthy (wait_healthy's default
    when None)."""
    settings = settings or fast_settings(data_dir)
    names = list(nodes) if nodes is not None else [*topology.backends, *topology.platforms]
    sockets = {n: bind_socket("127.0.0.1", 0) for n in names}
    tls_sockets = (
        {n: bind_socket("127.0.0.1", 0) for n in names if n in topology.platforms} if https else {}
    )
    addresses = AddressBook(
        topology,
        ports={n: s.getsockname()[1] for n, s in sockets.items()},
        tls_ports={n: s.getsockname()[1] for n, s in tls_sockets.items()},
        https=https,
    )
    instance = NodeIdentity.new_instance()
    host = NodeHost(
        lambda node: NodeIdentity(topology.name, node, instance).stamp(
            build_app(topology, node, addresses, settings)
        ),
        tls=lambda node: _tls_listener(addresses, data_dir, node),
    )
    running = RunningTopology(topology, addresses, settings, host)
    try:
        await asyncio.gather(
            *(host.start(n, addresses.port(n), sockets[n], tls_sockets.get(n)) for n in names)
        )
        if wait:
            await (
                running.wait_healthy()
                if ready_within is None
                else running.wait_healthy(ready_within)
            )
        yield running
    finally:
        await host.stop_all()
        for sock in [*sockets.values(), *tls_sockets.values()]:
            sock.close()


def _tls_listener(addresses: AddressBook, data_dir: Path, node: str) -> TlsListener | None:
    from sandbox.pki.tls import ensure_server_credentials, server_context, server_names

    port = addresses.tls_port(node)
    if port is None:
        return None
    pem = ensure_server_credentials(data_dir, node, server_names(node))
    return TlsListener(port, server_context(pem))
