"""GET /healthz and GET /topology: is this platform up, and what is connected through it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from contracts.platform import TopologyReport
from gateway.api.deps import (
    AuditDep,
    DocumentsDep,
    MonitorDep,
    ReportDep,
    SettingsDep,
    SpecDep,
)

router = APIRouter(tags=["platform"])
# What a failed check is called, where "down" would say the wrong thing.
_DOWN = {"start_up": "waiting for its services"}


@router.get("/healthz", summary="Liveness and readiness of this platform")
async def healthz(
    request: Request,
    spec: SpecDep,
    settings: SettingsDep,
    monitor: MonitorDep,
    audit: AuditDep,
    documents: DocumentsDep,
) -> JSONResponse:
    checks = {
        "audit_log": await audit.ping(),
        "document_store": await documents.store.ping(),
    }
    if settings.healthz_waits_for_start_up:
        checks["start_up"] = not monitor.starting
    ok = all(checks.values())
    status = "ok" if ok else "unavailable"
    if checks.get("start_up") is False:
        status = "starting"
    body = {
        "status": status,
        "platform": spec.name,
        "checks": {name: "ok" if up else _DOWN.get(name, "down") for name, up in checks.items()},
        # topology, node, instance: set by whoever hosts the app (sandbox.runtime.identity)
        **getattr(request.app.state, "identity", {}),
    }
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get(
    "/topology",
    response_model=TopologyReport,
    summary="Services and platforms connected through this platform, with live counts",
)
async def topology(report: ReportDep) -> TopologyReport:
    return report
