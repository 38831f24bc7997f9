"""The default topology's nodes as real processes (`python -m sandbox.runtime.node`), for tests that
signal one of them: SIGKILL for durability claims, restarts on the same data."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from sandbox.runtime.launcher import Launcher
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import DEFAULT_TOPOLOGY, load_topology
from tests.helpers import free_ports


@asynccontextmanager
async def node_processes(data_dir: Path) -> AsyncIterator[Launcher]:
    """A launcher on free ports; no node runs until the test starts it; all stop after."""
    topology = load_topology(DEFAULT_TOPOLOGY)
    addresses = AddressBook(topology, ports=free_ports(AddressBook(topology).nodes()))
    launcher = Launcher(DEFAULT_TOPOLOGY, topology, data_dir, addresses)
    try:
        yield launcher
    finally:
        await launcher.stop()


async def wait_healthy(client: httpx.AsyncClient, url: str, within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.05)
