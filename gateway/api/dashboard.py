"""GET /dashboard: a live page of this platform's topology, traffic and recent exchanges.

The page is static (gateway/static, no build step); it polls GET /dashboard/state, whose JSON
is the whole picture, and loads the server-rendered graph from GET /dashboard/graph.svg.
GET /dashboard/events streams the same state as server-sent events for scripts
(`curl -N`). All of it is metadata (health, counts, message ids, never bodies or paths):
public in the sandbox, admin-only with GSP_DASHBOARD_PUBLIC=false.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse, StreamingResponse

from apikit.problems import ProblemError
from contracts.platform import DashboardState, TopologyReport
from contracts.problem import Problem
from gateway.api.deps import MetricsDep, ReportDep, ReportSourceDep, Viewer
from gateway.monitoring.dashboard_graph import render_graph
from gateway.monitoring.metrics import Metrics

router = APIRouter(tags=["dashboard"])

EVENT_INTERVAL_SECONDS = 1.0
# A stream ends after this many events and the client reconnects (EventSource does so by
# itself, after the `retry` delay): no connection outlives a platform's shutdown by long.
EVENTS_PER_STREAM = 60
_ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
_NO_STORE = {"Cache-Control": "no-store"}
_REFUSALS: dict[int | str, dict[str, object]] = {401: {"model": Problem}, 403: {"model": Problem}}


class SVGResponse(Response):
    media_type = "image/svg+xml"


def headline(report: TopologyReport) -> str:
    """The report's own summary without the platform's name, tiers set apart by '·'.

    Taken from the summary rather than recounted, so the page, GET /topology and
    `gsp-sandbox up` always say the same thing.
    """
    counts = report.summary.split(": ", 1)[-1]
    return counts.replace(", ", " · ")


def dashboard_state(report: TopologyReport, metrics: Metrics, recent: int) -> DashboardState:
    return DashboardState(
        generated_at=datetime.now(UTC),
        headline=headline(report),
        window_seconds=metrics.window_seconds,
        report=report,
        metrics=metrics.snapshot(),
        recent=metrics.recent(recent),
    )


@cache
def _static(name: str) -> bytes:
    return (files("gateway") / "static" / name).read_bytes()


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    summary="The live dashboard page (topology graph, traffic, recent exchanges)",
)
async def page() -> HTMLResponse:
    # The page holds no data: with the dashboard admin-only, its script sends the token.
    return HTMLResponse(_static("dashboard.html"), headers=_NO_STORE)


@router.get(
    "/dashboard/state",
    response_model=DashboardState,
    summary="Everything the dashboard shows: topology report, per-service metrics, "
    "recent exchanges",
    responses=_REFUSALS,
    dependencies=[Viewer],
)
async def state_now(
    report: ReportDep,
    metrics: MetricsDep,
    recent: Annotated[int, Query(ge=0, le=200, description="How many recent exchanges")] = 20,
) -> DashboardState:
    return dashboard_state(report, metrics, recent)


@router.get(
    "/dashboard/graph.svg",
    response_class=SVGResponse,
    summary="The topology as an SVG graph, nodes coloured by health",
    responses={200: {"content": {"image/svg+xml": {}}}, **_REFUSALS},
    dependencies=[Viewer],
)
async def graph(report: ReportDep) -> SVGResponse:
    return SVGResponse(render_graph(report), headers=_NO_STORE)


# Not in the OpenAPI document: a stream that never ends does not fit a request/response
# description, and generated-request testing would wait on it for ever.
@router.get("/dashboard/events", include_in_schema=False, dependencies=[Viewer])
async def events(
    report: ReportSourceDep,
    metrics: MetricsDep,
    recent: Annotated[int, Query(ge=0, le=200)] = 20,
) -> StreamingResponse:
    return StreamingResponse(
        _stream(report, metrics, recent),
        media_type="text/event-stream",
        headers={**_NO_STORE, "X-Accel-Buffering": "no"},
    )


async def _stream(
    report: Callable[[], TopologyReport], metrics: Metrics, recent: int
) -> AsyncIterator[str]:
    yield f"retry: {int(EVENT_INTERVAL_SECONDS * 1000)}\n\n"
    for sent in range(EVENTS_PER_STREAM):
        if sent:
            await asyncio.sleep(EVENT_INTERVAL_SECONDS)
        payload = dashboard_state(report(), metrics, recent).model_dump_json()
        yield f"event: state\ndata: {payload}\n\n"


# Last: the routes above must match before this one.
@router.get("/dashboard/{asset}", include_in_schema=False)
async def asset(asset: str) -> Response:
    media_type = _ASSETS.get(asset)
    if media_type is None:  # only the page's own files, never a path into the package
        raise ProblemError(
            404, "not-found", "No such dashboard file", f"The dashboard has no file {asset!r}."
        )
    return Response(_static(asset), media_type=f"{media_type}; charset=utf-8", headers=_NO_STORE)
