"""When a started topology counts as up: what a platform's GET /topology says of its neighbours.

The launcher waits for this after starting processes, the in-process harness after starting
servers, and the container tests after `docker compose up`: one definition of "ready", and
what a platform does not yet see healthy when it is not.
"""

from __future__ import annotations

from contracts.platform import TopologyReport


def not_yet_up(report: TopologyReport) -> list[str]:
    """What a platform's report does not yet see healthy, by name (service code and version,
    or platform), with the last health check's word on it where there is one."""
    names = []
    for group in (report.national, report.intra):
        for service in group.services if group else []:
            if not service.healthy:
                state = "not checked yet" if service.healthy is None else service.detail or "down"
                names.append(f"{service.code}/{service.version} ({state})")
    peers = [*(report.downstream.platforms if report.downstream else [])]
    peers += [report.upstream] if report.upstream else []
    for peer in peers:
        if not peer.healthy:
            state = "not checked yet" if peer.healthy is None else peer.detail or "down"
            names.append(f"platform {peer.name} ({state})")
    return names


def all_healthy(report: TopologyReport) -> bool:
    groups = [report.national, report.intra]
    services_ok = all(s.healthy for g in groups if g for s in g.services)
    peers_ok = all(p.healthy for p in report.downstream.platforms) if report.downstream else True
    upstream_ok = report.upstream.healthy if report.upstream else True
    return bool(services_ok and peers_ok and upstream_ok)
