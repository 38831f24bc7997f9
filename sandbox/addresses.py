"""Where each node of a topology listens and how the others reach it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from contracts.topology import Topology


@dataclass(frozen=True)
class AddressBook:
    """Ports come from the topology unless overridden (tests, a second sandbox on one host).

    `host_pattern` is how other nodes reach a node: `127.0.0.1` for local processes, or
    `{node}` where each node is a host of its own name (docker compose).
    """

    topology: Topology
    ports: dict[str, int] = field(default_factory=dict)
    host_pattern: str = "127.0.0.1"

    def port(self, node: str) -> int:
        if node in self.ports:
            return self.ports[node]
        if node in self.topology.platforms:
            return self.topology.platforms[node].port
        return self.topology.backends[node].port

    def url(self, node: str) -> str:
        return f"http://{self.host_pattern.format(node=node)}:{self.port(node)}"

    def shifted(self, offset: int) -> AddressBook:
        """The same layout `offset` ports up, so a second sandbox can run beside the first."""
        if not offset:
            return self
        ports = {n: self.port(n) + offset for n in self.nodes()}
        return AddressBook(self.topology, ports, self.host_pattern)

    def nodes(self) -> list[str]:
        return [*self.topology.platforms, *self.topology.backends]


# Linux's default range for the local ports of outgoing connections; read from the kernel
# where it says (net.ipv4.ip_local_port_range).
DEFAULT_EPHEMERAL = (32768, 60999)
_PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_range() -> tuple[int, int]:
    """The ports the kernel hands to outgoing connections: a listener there can lose its port
    to any program's connection between a check and its bind."""
    try:
        low, high = (int(p) for p in _PORT_RANGE.read_text().split())
    except (OSError, ValueError):
        return DEFAULT_EPHEMERAL
    return low, high
