"""Who is who in a topology: its provincial platform, a platform's admin, its default caller.

What the commands, the pytest plugin and the benchmarks pick when they are not told: read
from the topology alone, nothing running asked.
"""

from __future__ import annotations

from contracts.topology import Consumer, Role, Tier, Topology


class PlatformNotFound(LookupError):
    pass


def provincial_platform(topology: Topology) -> str:
    return next(n for n, p in topology.platforms.items() if p.tier is Tier.PROVINCIAL)


def choose_platform(topology: Topology, name: str | None) -> str:
    if name is None:
        return provincial_platform(topology)
    if name not in topology.platforms:
        known = ", ".join(topology.platforms)
        raise PlatformNotFound(f"no platform {name!r} in topology {topology.name} ({known})")
    return name


def admin_of(topology: Topology, platform: str) -> Consumer:
    return next(c for c in topology.consumers_at(platform) if Role.ADMIN in c.roles)


def default_caller(topology: Topology, platform: str) -> Consumer:
    """The platform's broadest plain consumer: in the shipped topologies, the one-stop shop."""
    plain = [c for c in topology.consumers_at(platform) if not c.roles]
    return next((c for c in plain if "*" in c.grants), plain[0])


def consumer_named(topology: Topology, platform: str, consumer_id: str) -> Consumer:
    for consumer in topology.consumers_at(platform):
        if consumer.id == consumer_id:
            return consumer
    known = ", ".join(c.id for c in topology.consumers_at(platform))
    raise PlatformNotFound(f"no consumer {consumer_id!r} at {platform} ({known})")
