"""A node process: serve one or more nodes of a topology until SIGTERM or SIGINT.

`python -m sandbox.runtime.node` with GSP_TOPOLOGY and GSP_NODES set (or `gsp-sandbox node NAME`).
GSP_NODES may hold selectors (sandbox.topology.selection); a selection that matches no node of the
topology leaves the process idle until stopped, so a compose service for "every generic
back end" stays up under a topology that has none.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import uvloop
from fastapi import FastAPI

from contracts.topology import Topology
from gateway.settings import GatewaySettings
from sandbox.runtime.apps import build_app
from sandbox.runtime.hosting import NodeHost, TlsListener
from sandbox.runtime.identity import NodeIdentity
from sandbox.runtime.logformat import configure_logging
from sandbox.runtime.settings import SandboxSettings
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import TopologyError, load_topology
from sandbox.topology.selection import SelectionError, select_nodes

log = logging.getLogger(__name__)


def tls_listener(
    settings: SandboxSettings, addresses: AddressBook, node: str
) -> TlsListener | None:
    """A platform's HTTPS port and certificate: the one given (Kubernetes' Secret), or its own,
    made from the data dir's CA on its first start and kept."""
    from sandbox.pki.tls import ensure_server_credentials, server_context, server_names

    port = addresses.tls_port(node)
    if port is None:
        return None
    if settings.tls_cert_file is not None:
        return TlsListener(port, server_context(settings.tls_cert_file, settings.tls_key_file))
    names = server_names(node, settings.tls_names)
    return TlsListener(
        port, server_context(ensure_server_credentials(settings.data_dir, node, names))
    )


async def serve(settings: SandboxSettings, topology: Topology, nodes: list[str]) -> None:
    addresses = AddressBook(
        topology, settings.ports, settings.host_pattern, settings.tls_ports, settings.https
    )
    gateway_settings = GatewaySettings(data_dir=settings.data_dir)

    def build(node: str) -> FastAPI:
        app = build_app(topology, node, addresses, gateway_settings)
        return NodeIdentity(topology.name, node, settings.instance).stamp(app)

    host = NodeHost(
        build,
        host=settings.bind_host,
        log_level=settings.log_level,
        header_timeout_seconds=settings.header_timeout_seconds,
        tls=lambda node: tls_listener(settings, addresses, node),
    )
    stopped = asyncio.Event()

    def request_exit() -> None:
        stopped.set()
        host.request_exit()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_exit)
    try:
        for node in nodes:
            await host.start(node, addresses.port(node))
        # With no server to wait for, only a signal ends the process.
        await (host.wait() if nodes else stopped.wait())
    finally:
        await host.stop_all()


def run(settings: SandboxSettings, label: str | None = None) -> None:
    """`label` names the process in its log records (a worker's name; default: its nodes)."""
    if not settings.nodes:
        raise SystemExit("no node to serve: set GSP_NODES or name one")
    try:
        topology = load_topology(settings.topology)
        nodes = select_nodes(topology, settings.nodes)
    except (TopologyError, SelectionError) as exc:
        raise SystemExit(str(exc)) from None
    configure_logging(label or ",".join(settings.nodes), settings.log_level, settings.log_format)
    if not nodes:
        log.warning(
            "%s selects no node of topology %s: idle until stopped",
            ", ".join(settings.nodes),
            topology.name,
        )
    uvloop.run(serve(settings, topology, nodes))


if __name__ == "__main__":
    run(SandboxSettings())
