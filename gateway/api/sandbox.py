"""/_sandbox/*: the sandbox's own controls, apart from the emulated platform API.

As LocalStack keeps /_localstack/* apart: readiness of everything behind the platform,
fault rules, the test scenarios of each service, circuit states, the request journal and a
reset. No published service can
take this prefix (a service code starts with a letter), and all of it is admin-only.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from contracts.faults import FaultRule, FaultRules
from contracts.platform import CircuitView, Journal, Readiness, ResetReport, ServiceScenarios
from contracts.problem import Problem
from gateway.api.catalog import scenario_infos
from gateway.auth import require_admin
from gateway.state import PlatformState, platform_of

router = APIRouter(prefix="/_sandbox", tags=["sandbox"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    403: {"model": Problem},
    422: {"model": Problem},
}


def _admin(request: Request, authorization: str | None) -> PlatformState:
    state = platform_of(request)
    require_admin(state, authorization)
    return state


async def readiness(state: PlatformState) -> Readiness:
    missing = [
        f"service {r.spec.code}/{r.spec.version}"
        for r in state.registry.routes.values()
        if r.health.healthy is not True
    ]
    report = state.report()
    if report.upstream is not None and report.upstream.healthy is not True:
        missing.append(f"platform {report.upstream.name}")
    if report.downstream is not None:
        missing += [f"platform {p.name}" for p in report.downstream.platforms if not p.healthy]
    if not await state.audit.ping():
        missing.append("audit log")
    if state.documents is None or not await state.documents.store.ping():
        missing.append("document store")
    return Readiness(ready=not missing, platform=state.spec.name, not_ready=missing)


@router.get(
    "/ready",
    response_model=Readiness,
    summary="Is everything behind this platform up? 503 lists what is not",
    responses={**_ERRORS, 503: {"model": Readiness}},
)
async def ready(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> JSONResponse:
    found = await readiness(_admin(request, authorization))
    return JSONResponse(found.model_dump(mode="json"), status_code=200 if found.ready else 503)


@router.get("/faults", response_model=FaultRules, summary="Fault rules, in match order")
async def list_faults(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> FaultRules:
    return FaultRules(rules=_admin(request, authorization).faults.rules)


@router.put(
    "/faults",
    response_model=FaultRules,
    summary="Replace the fault rules (first match wins)",
    responses=_ERRORS,
)
async def replace_faults(
    request: Request, body: FaultRules, authorization: Annotated[str | None, Header()] = None
) -> FaultRules:
    state = _admin(request, authorization)
    state.faults.rules = list(body.rules)
    return FaultRules(rules=state.faults.rules)


@router.post(
    "/faults",
    response_model=FaultRules,
    status_code=201,
    summary="Add one fault rule at the end",
    responses=_ERRORS,
)
async def add_fault(
    request: Request, body: FaultRule, authorization: Annotated[str | None, Header()] = None
) -> FaultRules:
    state = _admin(request, authorization)
    state.faults.rules = [*state.faults.rules, body]
    return FaultRules(rules=state.faults.rules)


@router.delete("/faults", response_model=FaultRules, summary="Clear every fault rule")
async def clear_faults(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> FaultRules:
    state = _admin(request, authorization)
    state.faults.rules = []
    return FaultRules(rules=[])


@router.get(
    "/scenarios",
    response_model=list[ServiceScenarios],
    summary="Every service's canned outcomes, chosen per call with X-Sandbox-Scenario",
    responses=_ERRORS,
)
async def scenarios(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> list[ServiceScenarios]:
    state = _admin(request, authorization)
    routes = sorted(state.registry.routes.values(), key=lambda r: r.spec.prefix)
    return [
        ServiceScenarios(
            code=r.spec.code, version=r.spec.version, path=r.spec.prefix, scenarios=found
        )
        for r in routes
        if (found := scenario_infos(r))
    ]


@router.get(
    "/circuits", response_model=list[CircuitView], summary="Circuit breaker state per service"
)
async def circuits(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> list[CircuitView]:
    state = _admin(request, authorization)
    return [CircuitView(service=k, state=v.value) for k, v in state.breakers.states().items()]


@router.get(
    "/journal",
    response_model=Journal,
    summary="Recent exchanges (optionally one message id) and near misses",
    responses=_ERRORS,
)
async def journal(
    request: Request,
    message_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    authorization: Annotated[str | None, Header()] = None,
) -> Journal:
    state = _admin(request, authorization)
    return Journal(
        exchanges=state.journal.recent(limit, message_id),
        near_misses=state.journal.near_misses(limit),
    )


@router.post(
    "/reset",
    response_model=ResetReport,
    summary="Back to the seeded state: topology faults, closed circuits, empty journal and "
    "rate buckets, back ends' submitted records cleared",
)
async def reset(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> ResetReport:
    state = _admin(request, authorization)
    state.faults.reset()
    state.breakers.reset()
    state.journal.clear()
    state.limiter.reset()
    done = []
    for route in state.registry.routes.values():
        if route.spec.target != "backend":
            continue
        with contextlib.suppress(httpx.HTTPError):
            reply = await state.client.post(f"{route.spec.url.rstrip('/')}/_sandbox/reset")
            if reply.status_code == 200:
                done.append(f"{route.spec.code}/{route.spec.version}")
    return ResetReport(
        platform=state.spec.name, faults=len(state.faults.rules), backends_reset=done
    )
