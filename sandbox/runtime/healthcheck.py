"""`python -m sandbox.runtime.healthcheck`: exit 0 when every node this process serves is healthy.

Compose runs it inside each container, every few seconds, with the container's environment:
it reads GSP_TOPOLOGY, GSP_NODES (selectors too), GSP_PORTS and GSP_BIND_HOST exactly as
`python -m sandbox.runtime.node` does, so it checks the very nodes and ports the node process
serves.
Each must answer GET /healthz with 200, as itself (the node its answer names): a platform
says 503 while its audit log or document store cannot be written, a back end while its
database cannot be read. HTTP goes through the standard library only, to keep a check that
runs this often cheap.

A selection that matches no node of the topology is healthy: there is nothing to serve.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sandbox.runtime.identity import NodeIdentity
from sandbox.runtime.settings import SandboxSettings
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import TopologyError, load_topology
from sandbox.topology.selection import SelectionError, select_nodes

TIMEOUT_SECONDS = 2.0
# Addresses that mean "every interface": the check then goes to loopback.
_ANY_HOST = {"", "0.0.0.0", "::"}


@dataclass(frozen=True)
class Probe:
    node: str
    url: str
    status: int | None
    detail: str

    @property
    def healthy(self) -> bool:
        return self.status == 200


def probe_host(bind_host: str) -> str:
    """Where to reach a node bound to `bind_host`, as the host part of a URL."""
    if bind_host in _ANY_HOST:
        return "127.0.0.1"
    return f"[{bind_host}]" if ":" in bind_host else bind_host


def _get(node: str, url: str) -> Probe:
    # No proxy: a proxy from the environment must not stand between a node and its check.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=TIMEOUT_SECONDS) as response:
            said = NodeIdentity.of(_json(response.read(65536)))
            if said is not None and said.node != node:  # the port is another node's
                return Probe(node, url, None, f"answers as {said.describe()}")
            return Probe(node, url, response.status, "ok")
    except urllib.error.HTTPError as exc:
        return Probe(node, url, exc.code, exc.reason)
    except (OSError, ValueError) as exc:  # refused, timed out, reset
        return Probe(node, url, None, str(getattr(exc, "reason", exc)))


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return None


def check(settings: SandboxSettings) -> list[Probe]:
    """Probe every served node's /healthz at once (a container may serve dozens)."""
    topology = load_topology(settings.topology)
    nodes = select_nodes(topology, settings.nodes)
    addresses = AddressBook(topology, settings.ports, probe_host(settings.bind_host))
    if not nodes:
        return []
    with ThreadPoolExecutor(max_workers=min(len(nodes), 16)) as pool:
        futures = [pool.submit(_get, n, f"{addresses.url(n)}/healthz") for n in nodes]
        return [f.result() for f in futures]


def main() -> int:
    settings = SandboxSettings()
    if not settings.nodes:
        print("unhealthy: GSP_NODES names no node", file=sys.stderr)
        return 1
    try:
        probes = check(settings)
    except (TopologyError, SelectionError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    if not probes:
        print(f"healthy: {', '.join(settings.nodes)} selects no node of {settings.topology}")
        return 0
    for p in probes:
        print(f"{p.node} {p.url} {p.status or '-'} {p.detail}")
    sick = [p.node for p in probes if not p.healthy]
    print(f"unhealthy: {', '.join(sick)}" if sick else f"healthy: {len(probes)} node(s)")
    return 1 if sick else 0


if __name__ == "__main__":
    sys.exit(main())
