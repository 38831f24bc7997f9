"""What NGSP reports: the provincial platforms connected and the national services, live."""

from __future__ import annotations

from contracts.platform import TopologyReport
from gateway.proxy.registry import Registry, counted, platform_group, service_group
from gateway.spec import PlatformSpec


def ngsp_report(spec: PlatformSpec, registry: Registry) -> TopologyReport:
    national = service_group(registry.backend_routes())
    downstream = platform_group(list(registry.downstream.values()))
    summary = (
        f"{spec.name.upper()}: "
        + counted(
            "provincial platforms connected",
            reachable=downstream.reachable,
            registered=downstream.registered,
        )
        + ", "
        + counted("national services", reachable=national.reachable, registered=national.registered)
    )
    return TopologyReport(
        platform=spec.name,
        tier=spec.tier,
        title=spec.title,
        agency=spec.agency,
        urls=spec.urls,
        summary=summary,
        national=national,
        downstream=downstream,
    )
