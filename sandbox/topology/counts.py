"""What a topology file declares, counted: what `gsp-sandbox validate` prints.

These are the declared parts of a file (nodes, platforms, services, consumers, mailboxes),
not what is reachable: the running platforms report that from their registries.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from contracts.topology import Tier, Topology


@dataclass(frozen=True)
class TopologyCounts:
    platforms: dict[Tier, int]
    backends: int
    services: dict[Tier, int]
    consumers: int
    mailboxes_pushed: int
    mailboxes_inbox: int

    @property
    def nodes(self) -> int:
        return sum(self.platforms.values()) + self.backends

    def lines(self) -> list[str]:
        def by_tier(counts: dict[Tier, int]) -> str:
            return ", ".join(f"{counts.get(tier, 0)} {tier.value}" for tier in Tier)

        return [
            f"nodes: {self.nodes} ({sum(self.platforms.values())} platforms, "
            f"{self.backends} back ends)",
            f"platforms: {by_tier(self.platforms)}",
            f"services: {by_tier(self.services)}",
            f"consumers: {self.consumers}",
            f"mailboxes: {self.mailboxes_pushed + self.mailboxes_inbox} "
            f"({self.mailboxes_pushed} pushed to a back end, "
            f"{self.mailboxes_inbox} picked up from an inbox)",
        ]


def count(topology: Topology) -> TopologyCounts:
    pushed = sum(1 for m in topology.mailboxes if m.push)
    return TopologyCounts(
        platforms=dict(Counter(p.tier for p in topology.platforms.values())),
        backends=len(topology.backends),
        services=dict(Counter(s.tier for s in topology.services)),
        consumers=len(topology.consumers),
        mailboxes_pushed=pushed,
        mailboxes_inbox=len(topology.mailboxes) - pushed,
    )
