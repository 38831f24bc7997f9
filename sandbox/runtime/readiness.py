"""When a started topology counts as up: what a platform's GET /topology says of its neighbours.

The launcher waits for this after starting processes, the in-process harness after starting
servers, and the container tests after `docker compose up`: one definition of "ready".
"""

from __future__ import annotations

from contracts.platform import TopologyReport


def all_healthy(report: TopologyReport) -> bool:
    groups = [report.national, report.intra]
    services_ok = all(s.healthy for g in groups if g for s in g.services)
    peers_ok = all(p.healthy for p in report.downstream.platforms) if report.downstream else True
    upstream_ok = report.upstream.healthy if report.upstream else True
    return bool(services_ok and peers_ok and upstream_ok)
