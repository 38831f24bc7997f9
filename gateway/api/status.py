"""GET /healthz and GET /topology: is this platform up, and what is connected through it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from contracts.platform import TopologyReport
from gateway.api.deps import AuditDep, DocumentsDep, ReportDep, SpecDep

router = APIRouter(tags=["platform"])


@router.get("/healthz", summary="Liveness and readiness of this platform")
async def healthz(
    request: Request, spec: SpecDep, audit: AuditDep, documents: DocumentsDep
) -> JSONResponse:
    checks = {
        "audit_log": await audit.ping(),
        "document_store": await documents.store.ping(),
    }
    ok = all(checks.values())
    body = {
        "status": "ok" if ok else "unavailable",
        "platform": spec.name,
        "checks": {name: "ok" if up else "down" for name, up in checks.items()},
        # topology, node, instance: set by whoever hosts the app (sandbox.identity)
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
