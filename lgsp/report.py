"""What an LGSP reports: services through NGSP and inside the province, counted live."""

from __future__ import annotations

from contracts.platform import TopologyReport
from gateway.proxy.registry import Registry, counted, service_group
from gateway.spec import PlatformSpec


def lgsp_report(spec: PlatformSpec, registry: Registry) -> TopologyReport:
    national = service_group(registry.upstream_routes())
    intra = service_group(registry.backend_routes())
    upstream = registry.upstream.status() if registry.upstream else None
    via = upstream.name.upper() if upstream else "NGSP"
    summary = (
        f"LGSP {spec.name.removeprefix('lgsp-')}: "
        + counted(
            f"services connected through {via}",
            reachable=national.reachable,
            registered=national.registered,
        )
        + ", "
        + counted("intra-province", reachable=intra.reachable, registered=intra.registered)
    )
    return TopologyReport(
        platform=spec.name,
        tier=spec.tier,
        title=spec.title,
        agency=spec.agency,
        urls=spec.urls,
        summary=summary,
        national=national,
        intra=intra,
        upstream=upstream,
    )
