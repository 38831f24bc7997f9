"""Where each node of a topology listens and how the others reach it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from contracts.topology import Topology, https_port


@dataclass(frozen=True)
class AddressBook:
    """Ports come from the topology unless overridden (tests, a second sandbox on one host).

    `host_pattern` is how other nodes reach a node: `127.0.0.1` for local processes, or
    `{node}` where each node is a host of its own name (docker compose).

    Every platform also serves HTTPS (`https`), on its HTTP port + 443 unless `tls_ports`
    says otherwise (tests, which bind free ports). Back ends serve HTTP only: they are
    reached through the platforms, whose hops stay plain HTTP inside the sandbox.
    """

    topology: Topology
    ports: dict[str, int] = field(default_factory=dict)
    host_pattern: str = "127.0.0.1"
    tls_ports: dict[str, int] = field(default_factory=dict)
    https: bool = True

    def port(self, node: str) -> int:
        if node in self.ports:
            return self.ports[node]
        if node in self.topology.platforms:
            return self.topology.platforms[node].port
        return self.topology.backends[node].port

    def tls_port(self, node: str) -> int | None:
        """The node's HTTPS port; None for a back end, or when HTTPS is off."""
        if not self.https or node not in self.topology.platforms:
            return None
        return self.tls_ports.get(node) or https_port(self.port(node))

    def url(self, node: str) -> str:
        return f"http://{self.host_pattern.format(node=node)}:{self.port(node)}"

    def https_url(self, node: str) -> str | None:
        port = self.tls_port(node)
        if port is None:
            return None
        return f"https://{self.host_pattern.format(node=node)}:{port}"

    def urls(self, node: str) -> list[str]:
        """The node's HTTP URL, then its HTTPS one if it serves HTTPS."""
        secure = self.https_url(node)
        return [self.url(node), *([secure] if secure else [])]

    def shifted(self, offset: int) -> AddressBook:
        """The same layout `offset` ports up, so a second sandbox can run beside the first."""
        if not offset:
            return self
        ports = {n: self.port(n) + offset for n in self.nodes()}
        tls_ports = {n: p + offset for n, p in self.tls_ports.items()}
        return AddressBook(self.topology, ports, self.host_pattern, tls_ports, self.https)

    def nodes(self) -> list[str]:
        return [*self.topology.platforms, *self.topology.backends]

    def all_ports(self) -> list[tuple[str, int]]:
        """Every (node, port) this layout listens on, HTTPS ports included."""
        found = [(n, self.port(n)) for n in self.nodes()]
        return found + [(n, p) for n in self.topology.platforms if (p := self.tls_port(n))]


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
