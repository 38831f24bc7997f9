"""GET /audit: the exchange log, for administrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from contracts.platform import AuditPage
from contracts.problem import Problem
from gateway.auth import require_admin
from gateway.state import platform_of

router = APIRouter(tags=["admin"])


@router.get(
    "/audit",
    response_model=AuditPage,
    summary="Audit records, newest first (admin only)",
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)
async def read_audit(
    request: Request,
    message_id: Annotated[str | None, Query(max_length=128)] = None,
    consumer: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    authorization: Annotated[str | None, Header()] = None,
) -> AuditPage:
    state = platform_of(request)
    require_admin(state, authorization)
    records = await state.audit.query(message_id=message_id, consumer=consumer, limit=limit)
    return AuditPage(records=records)
