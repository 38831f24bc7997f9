"""GET /audit: the exchange log, for administrators (refused reads are audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.audit import AuditPage
from contracts.problem import Problem
from gateway.api.deps import AdminOnly, AuditDep
from gateway.messagelog.audited import audited_route

router = APIRouter(
    tags=["admin"],
    route_class=audited_route(None, reads=False),
    dependencies=[AdminOnly],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)


@router.get("/audit", response_model=AuditPage, summary="Audit records, newest first (admin only)")
async def read_audit(
    audit: AuditDep,
    message_id: Annotated[str | None, Query(max_length=128)] = None,
    consumer: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    records = await audit.query(message_id=message_id, consumer=consumer, limit=limit)
    return AuditPage(records=records)
