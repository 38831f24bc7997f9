"""GET /metrics: this platform's traffic and health for Prometheus to scrape."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import PlainTextResponse

from contracts.problem import Problem
from gateway import prometheus
from gateway.api.dashboard import authorize_viewer
from gateway.state import platform_of

router = APIRouter(tags=["dashboard"])


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Per-service exchange counters, latency histogram and health (Prometheus text)",
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)
async def metrics(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> PlainTextResponse:
    state = platform_of(request)
    authorize_viewer(state, authorization)
    outbox = await state.documents.store.outbox_counts() if state.documents else {}
    gauges = prometheus.Gauges(
        audit_pending=state.audit.pending,
        audit_written=state.audit.written,
        consumers=len(state.consumers_by_id),
        outbox=outbox,
        circuits={k: v.value for k, v in state.breakers.states().items()},
    )
    # A registry per scrape: the collectors read the live metrics, a report and gauges of
    # this moment, and nothing outlives the request.
    body = prometheus.exposition(state.report(), state.metrics, gauges)
    return PlainTextResponse(body, media_type=prometheus.CONTENT_TYPE)
