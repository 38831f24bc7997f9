"""The catalog (X-Road's allowedMethods and getOpenAPI): what the caller may call, and how."""

from __future__ import annotations

import copy
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from apikit.problems import ProblemError
from contracts.platform import Catalog, CatalogEntry, ScenarioInfo
from contracts.problem import PROBLEM_MEDIA_TYPE, Problem
from contracts.registry import scenarios_for_contract
from contracts.topology import Consumer
from gateway.api.deps import AccessDep, Caller, RegistryDep, SettingsDep, SpecDep
from gateway.proxy.registry import Route, contract_document
from gateway.trust.access import AccessRights
from gateway.trust.auth import is_admin

router = APIRouter(tags=["platform"])


def _visible(access: AccessRights, consumer: Consumer, route: Route) -> bool:
    return is_admin(consumer) or access.may_call(consumer.id, route.spec.code)


def scenario_infos(route: Route) -> list[ScenarioInfo]:
    """The canned outcomes (X-Sandbox-Scenario) the service's contract declares."""
    contract = route.spec.contract
    return [
        ScenarioInfo(
            name=s.name,
            description=s.description,
            status=s.status,
            operations=list(s.operations) if s.operations is not None else None,
        )
        for s in (scenarios_for_contract(contract) if contract else ())
    ]


def _entry(route: Route) -> CatalogEntry:
    spec = route.spec
    return CatalogEntry(
        code=spec.code,
        version=spec.version,
        title=spec.title,
        owner=spec.owner,
        owner_name=spec.owner_name,
        tier=spec.tier,
        path=spec.prefix,
        healthy=route.health.healthy,
        contract=spec.contract,
        contract_version=spec.version if spec.contract else None,
        openapi=f"/catalog/{spec.code}/{spec.version}/openapi.json" if spec.contract else None,
        scenarios=scenario_infos(route),
    )


@router.get(
    "/catalog",
    response_model=Catalog,
    summary="Services the caller may call (an admin sees every service)",
    responses={401: {"model": Problem}},
)
async def catalog(
    consumer: Caller, spec: SpecDep, registry: RegistryDep, access: AccessDep
) -> Catalog:
    entries = [
        _entry(r)
        for r in sorted(registry.routes.values(), key=lambda r: r.spec.prefix)
        if _visible(access, consumer, r)
    ]
    return Catalog(platform=spec.name, consumer=consumer.id, services=entries)


@router.get(
    "/catalog/{code}/{version}/openapi.json",
    summary="A service's OpenAPI document, addressed to this platform",
    responses={401: {"model": Problem}, 404: {"model": Problem}},
)
async def service_openapi(
    request: Request,
    code: Annotated[str, Path(pattern=r"^[A-Za-z][A-Za-z0-9_-]{1,63}$")],
    version: Annotated[str, Path(pattern=r"^\d+(\.\d+){0,2}$")],
    consumer: Caller,
    spec: SpecDep,
    registry: RegistryDep,
    access: AccessDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    route = registry.find(code, version)
    if route is None or not _visible(access, consumer, route) or route.spec.contract is None:
        raise ProblemError(
            404,
            "unknown-service",
            "No such service in your catalog",
            f"{code}/{version} is not a service with a contract that {consumer.id!r} may call "
            f"at {spec.name}.",
        )
    document = contract_document(route.spec)
    assert document is not None  # the registry refused to start without it
    document = copy.deepcopy(document)
    # Clients generated from the document call the service through this platform.
    document["servers"] = [
        {"url": f"{request.base_url}{code}/{version}".replace("//" + code, "/" + code)}
    ]
    _add_routed_path_answers(document, settings.max_body_bytes)
    return document


def _add_routed_path_answers(document: dict[str, Any], max_body_bytes: int) -> None:
    """What the platform itself answers on the routed path, whatever the back end says: a
    body over its limit, and the hop's failures (problem+json). Schemathesis found the 413
    undocumented."""
    problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    answers = {
        "413": f"The body is over the platform's limit of {max_body_bytes} bytes",
        "502": "The service could not be reached, its connection broke, or it broke its "
        "contract (`may-have-been-processed` for a POST or PATCH that was sent)",
        "503": "The service's circuit is open, or the audit log cannot take the exchange",
        "504": "The service did not answer in time",
    }
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, description in answers.items():
                if status == "413" and method not in ("post", "put", "patch"):
                    continue
                operation["responses"].setdefault(
                    status, {"description": description, "content": problem}
                )
