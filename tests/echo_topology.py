"""The Bắc Giang platforms with echo back ends in place of the sample ones.

Lets engine tests see exactly what each hop passed on, through the same platforms,
consumers and credentials as the shipped default topology.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from contracts.topology import Topology
from gateway.settings import GatewaySettings
from sandbox.harness import RunningTopology, run_topology
from sandbox.hosting import NodeHost, bind_socket
from sandbox.topology import SHIPPED_DIR
from tests.echo_backend import create_echo_app

NATIONAL_ECHO = "apiEchoQG"
PROVINCIAL_ECHO = "apiEchoBG"


def echo_topology(echo_url: str) -> Topology:
    raw = yaml.safe_load((SHIPPED_DIR / "bac-giang-2022.yaml").read_text(encoding="utf-8"))
    raw["backends"] = {}
    raw["services"] = [
        {
            "code": NATIONAL_ECHO,
            "title": "Echo (national)",
            "owner": "000.00.00.G10",
            "tier": "national",
            "platform": "ngsp",
            "address": f"{echo_url}/national",
        },
        {
            "code": PROVINCIAL_ECHO,
            "title": "Echo (provincial)",
            "owner": "000.00.12.H04",
            "tier": "provincial",
            "platform": "lgsp-bac-giang",
            "address": f"{echo_url}/provincial",
        },
    ]
    raw["platforms"]["lgsp-bac-giang"]["national_services"] = [NATIONAL_ECHO]
    for consumer in raw["consumers"]:
        if consumer["id"] == "lgsp-bac-giang":
            consumer["grants"] = [NATIONAL_ECHO]
        if consumer["id"] == "qlvb-bac-giang":
            consumer["grants"] = [PROVINCIAL_ECHO]
    return Topology.model_validate(raw)


@dataclass
class EchoSandbox:
    running: RunningTopology
    topology: Topology
    echo_url: str
    echo_host: NodeHost


@asynccontextmanager
async def run_echo_sandbox(
    data_dir: Path, settings: GatewaySettings | None = None
) -> AsyncIterator[EchoSandbox]:
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    echo_host = NodeHost(lambda _: create_echo_app())
    await echo_host.start("echo", port, sock)
    echo_url = f"http://127.0.0.1:{port}"
    topology = echo_topology(echo_url)
    try:
        async with run_topology(topology, data_dir, settings=settings) as running:
            yield EchoSandbox(running, topology, echo_url, echo_host)
    finally:
        if echo_host.running("echo"):
            await echo_host.stop("echo")
