"""What NGSP reports: the provincial platforms connected and the national services, live."""

from __future__ import annotations

from contracts.platform import TopologyReport
from gateway.registry import counted, platform_group, service_group
from gateway.state import PlatformState


def ngsp_report(state: PlatformState) -> TopologyReport:
    registry = state.registry
    spec = state.spec
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
        summary=summary,
        national=national,
        downstream=downstream,
    )
