"""GET /metrics: this platform's traffic and health for Prometheus to scrape."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from contracts.problem import Problem
from gateway.api.deps import (
    AuditDep,
    BreakersDep,
    ConsumersDep,
    DocumentsDep,
    MetricsDep,
    ReportDep,
    Viewer,
)
from gateway.monitoring import prometheus

router = APIRouter(tags=["dashboard"])


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Per-service exchange counters, latency histogram and health (Prometheus text)",
    responses={401: {"model": Problem}, 403: {"model": Problem}},
    dependencies=[Viewer],
)
async def metrics(
    report: ReportDep,
    live: MetricsDep,
    audit: AuditDep,
    consumers: ConsumersDep,
    documents: DocumentsDep,
    breakers: BreakersDep,
) -> PlainTextResponse:
    gauges = prometheus.Gauges(
        audit_pending=audit.pending,
        audit_written=audit.written,
        consumers=len(consumers),
        outbox=await documents.store.outbox_counts(),
        circuits={k: v.value for k, v in breakers.states().items()},
    )
    # A registry per scrape: the collectors read the live metrics, a report and gauges of
    # this moment, and nothing outlives the request.
    body = prometheus.exposition(report, live, gauges)
    return PlainTextResponse(body, media_type=prometheus.CONTENT_TYPE)
