"""The Bắc Giang platforms with echo back ends in place of the sample ones.

Lets engine tests see exactly what each hop passed on, through the same platforms,
consumers and credentials as the shipped default topology.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contracts.topology import Topology
from gateway.settings import GatewaySettings
from sandbox.runtime.hosting import NodeHost, bind_socket
from sandbox.testing.harness import RunningTopology, run_topology
from sandbox.topology.loading import SHIPPED_DIR
from tests.echo_backend import create_echo_app

NATIONAL_ECHO = "apiEchoQG"
PROVINCIAL_ECHO = "apiEchoBG"
OTHER_PROVINCE_ECHO = "apiEchoBN"
OTHER_LGSP = "lgsp-bac-ninh"
# qlvb-bac-giang is throttled to this, to show one consumer limited while others are not.
QLVB_RATE = {"per_second": 1.0, "burst": 3}


def echo_topology(echo_url: str) -> Topology:
    raw = yaml.safe_load((SHIPPED_DIR / "bac-giang-2022.yaml").read_text(encoding="utf-8"))
    raw["backends"] = {}
    raw["mailboxes"] = []  # documents have their own tests (tests/document_topology.py)
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
            consumer["rate_limit"] = QLVB_RATE
    _add_second_province(raw, echo_url)
    return Topology.model_validate(raw)


def _add_second_province(raw: dict, echo_url: str) -> None:  # type: ignore[type-arg]
    raw["agencies"].append({"code": "000.00.12.H06", "name": "Sở TT&TT tỉnh Bắc Ninh"})
    raw["platforms"][OTHER_LGSP] = {
        "tier": "provincial",
        "title": "LGSP tỉnh Bắc Ninh",
        "agency": "000.00.12.H06",
        "port": 8002,
        "upstream": {"platform": "ngsp", "consumer": OTHER_LGSP},
        "national_services": [NATIONAL_ECHO],
    }
    raw["services"].append(
        {
            "code": OTHER_PROVINCE_ECHO,
            "title": "Echo (Bắc Ninh)",
            "owner": "000.00.12.H06",
            "tier": "provincial",
            "platform": OTHER_LGSP,
            "address": f"{echo_url}/bac-ninh",
        }
    )
    raw["consumers"] += [
        {
            "id": OTHER_LGSP,
            "name": "LGSP Bắc Ninh",
            "platform": "ngsp",
            "agency": "000.00.12.H06",
            "client_id": "lgsp-bac-ninh-key",
            "client_secret": "lgsp-bac-ninh-secret",
            "roles": ["platform"],
            "grants": [NATIONAL_ECHO],
        },
        {
            "id": "motcua-bac-ninh",
            "name": "Một cửa Bắc Ninh",
            "platform": OTHER_LGSP,
            "agency": "000.00.12.H06",
            "client_id": "motcua-bac-ninh-key",
            "client_secret": "motcua-bac-ninh-secret",
            "grants": ["*"],
        },
    ]


@dataclass
class EchoSandbox:
    running: RunningTopology
    topology: Topology
    echo_url: str
    echo_host: NodeHost


@asynccontextmanager
async def run_echo_sandbox(
    data_dir: Path,
    settings: GatewaySettings | None = None,
    *,
    platform_options: dict[str, dict[str, Any]] | None = None,
) -> AsyncIterator[EchoSandbox]:
    """The echo topology, running; `platform_options` sets topology fields of platforms."""
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    echo_host = NodeHost(lambda _: create_echo_app())
    await echo_host.start("echo", port, sock)
    echo_url = f"http://127.0.0.1:{port}"
    topology = echo_topology(echo_url)
    if platform_options:
        platforms = dict(topology.platforms)
        for name, options in platform_options.items():
            platforms[name] = platforms[name].model_copy(update=options)
        topology = topology.model_copy(update={"platforms": platforms})
    try:
        async with run_topology(topology, data_dir, settings=settings) as running:
            yield EchoSandbox(running, topology, echo_url, echo_host)
    finally:
        if echo_host.running("echo"):
            await echo_host.stop("echo")
