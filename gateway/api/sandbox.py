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
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from contracts.faults import FaultRule, FaultRules
from contracts.platform import CircuitView, Journal, Readiness, ResetReport, ServiceScenarios
from contracts.problem import Problem
from gateway.api.catalog import scenario_infos
from gateway.api.deps import (
    AdminOnly,
    AuditDep,
    BreakersDep,
    ClientDep,
    DocumentsDep,
    FaultsDep,
    JournalDep,
    LimiterDep,
    RegistryDep,
    ReportDep,
    SpecDep,
)
from gateway.messagelog.audited import audited_route

# Changes (faults, reset) and refusals are audited exchanges; successful reads are not.
router = APIRouter(
    prefix="/_sandbox",
    tags=["sandbox"],
    route_class=audited_route(None, reads=False),
    dependencies=[AdminOnly],
)
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    403: {"model": Problem},
    422: {"model": Problem},
}


@router.get(
    "/ready",
    response_model=Readiness,
    summary="Is everything behind this platform up? 503 lists what is not",
    responses={**_ERRORS, 503: {"model": Readiness}},
)
async def ready(
    spec: SpecDep,
    registry: RegistryDep,
    report: ReportDep,
    audit: AuditDep,
    documents: DocumentsDep,
) -> JSONResponse:
    missing = [
        f"service {r.spec.code}/{r.spec.version}"
        for r in registry.routes.values()
        if r.health.healthy is not True
    ]
    if report.upstream is not None and report.upstream.healthy is not True:
        missing.append(f"platform {report.upstream.name}")
    if report.downstream is not None:
        missing += [f"platform {p.name}" for p in report.downstream.platforms if not p.healthy]
    if not await audit.ping():
        missing.append("audit log")
    if not await documents.store.ping():
        missing.append("document store")
    found = Readiness(ready=not missing, platform=spec.name, not_ready=missing)
    return JSONResponse(found.model_dump(mode="json"), status_code=200 if found.ready else 503)


@router.get("/faults", response_model=FaultRules, summary="Fault rules, in match order")
async def list_faults(faults: FaultsDep) -> FaultRules:
    return FaultRules(rules=faults.rules)


@router.put(
    "/faults",
    response_model=FaultRules,
    summary="Replace the fault rules (first match wins)",
    responses=_ERRORS,
)
async def replace_faults(body: FaultRules, faults: FaultsDep) -> FaultRules:
    faults.rules = list(body.rules)
    return FaultRules(rules=faults.rules)


@router.post(
    "/faults",
    response_model=FaultRules,
    status_code=201,
    summary="Add one fault rule at the end",
    responses=_ERRORS,
)
async def add_fault(body: FaultRule, faults: FaultsDep) -> FaultRules:
    faults.rules = [*faults.rules, body]
    return FaultRules(rules=faults.rules)


@router.delete("/faults", response_model=FaultRules, summary="Clear every fault rule")
async def clear_faults(faults: FaultsDep) -> FaultRules:
    faults.rules = []
    return FaultRules(rules=[])


@router.get(
    "/scenarios",
    response_model=list[ServiceScenarios],
    summary="Every service's canned outcomes, chosen per call with X-Sandbox-Scenario",
    responses=_ERRORS,
)
async def scenarios(registry: RegistryDep) -> list[ServiceScenarios]:
    routes = sorted(registry.routes.values(), key=lambda r: r.spec.prefix)
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
async def circuits(breakers: BreakersDep) -> list[CircuitView]:
    return [CircuitView(service=k, state=v.value) for k, v in breakers.states().items()]


@router.get(
    "/journal",
    response_model=Journal,
    summary="Recent exchanges (optionally one message id) and near misses",
    responses=_ERRORS,
)
async def journal(
    journal: JournalDep,
    message_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Journal:
    return Journal(
        exchanges=journal.recent(limit, message_id),
        near_misses=journal.near_misses(limit),
    )


@router.post(
    "/reset",
    response_model=ResetReport,
    summary="Back to the seeded state: topology faults, closed circuits, empty journal and "
    "rate buckets, back ends' submitted records cleared",
)
async def reset(
    spec: SpecDep,
    registry: RegistryDep,
    faults: FaultsDep,
    breakers: BreakersDep,
    journal: JournalDep,
    limiter: LimiterDep,
    client: ClientDep,
) -> ResetReport:
    faults.reset()
    breakers.reset()
    journal.clear()
    limiter.reset()
    done = []
    for route in registry.routes.values():
        if route.spec.target != "backend":
            continue
        with contextlib.suppress(httpx.HTTPError):
            reply = await client.post(f"{route.spec.url.rstrip('/')}/_sandbox/reset")
            if reply.status_code == 200:
                done.append(f"{route.spec.code}/{route.spec.version}")
    return ResetReport(platform=spec.name, faults=len(faults.rules), backends_reset=done)
