"""GET /healthz and GET /topology: is this platform up, and what is connected through it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from contracts.platform import TopologyReport
from gateway.state import platform_of

router = APIRouter(tags=["platform"])


@router.get("/healthz", summary="Liveness and readiness of this platform")
async def healthz(request: Request) -> JSONResponse:
    state = platform_of(request)
    audit_ok = await state.audit.ping()
    body = {
        "status": "ok" if audit_ok else "unavailable",
        "platform": state.spec.name,
        "checks": {"audit_log": "ok" if audit_ok else "down"},
    }
    return JSONResponse(body, status_code=200 if audit_ok else 503)


@router.get(
    "/topology",
    response_model=TopologyReport,
    summary="Services and platforms connected through this platform, with live counts",
)
async def topology(request: Request) -> TopologyReport:
    return platform_of(request).report()
