"""A node process: serve one or more nodes of a topology until SIGTERM or SIGINT.

`python -m sandbox.node` with GSP_TOPOLOGY and GSP_NODES set (or `gsp-sandbox node NAME`).
"""

from __future__ import annotations

import asyncio
import logging
import signal

import uvloop

from gateway.settings import GatewaySettings
from sandbox.addresses import AddressBook
from sandbox.apps import build_app
from sandbox.hosting import NodeHost
from sandbox.settings import SandboxSettings
from sandbox.topology import load_topology


async def serve(settings: SandboxSettings) -> None:
    topology = load_topology(settings.topology)
    addresses = AddressBook(topology, settings.ports, settings.host_pattern)
    gateway_settings = GatewaySettings(data_dir=settings.data_dir)
    host = NodeHost(
        lambda node: build_app(topology, node, addresses, gateway_settings),
        host=settings.bind_host,
        log_level=settings.log_level,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, host.request_exit)
    try:
        for node in settings.nodes:
            await host.start(node, addresses.port(node))
        await host.wait()
    finally:
        await host.stop_all()


def run(settings: SandboxSettings) -> None:
    if not settings.nodes:
        raise SystemExit("no node to serve: set GSP_NODES or name one")
    logging.basicConfig(
        level=settings.log_level.upper(),
        format=f"%(asctime)s {','.join(settings.nodes)} %(levelname)s %(name)s: %(message)s",
    )
    uvloop.run(serve(settings))


if __name__ == "__main__":
    run(SandboxSettings())
