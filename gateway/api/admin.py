"""/admin: register services, grant and revoke rights, rotate keys. Admin credential only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from apikit.problems import ProblemError
from contracts.platform import ConsumerView, KeyRotation, RegisteredService, ServiceRegistration
from contracts.problem import Problem
from contracts.topology import RESERVED_CODES, Consumer
from gateway.api.deps import (
    AccessDep,
    AdminCaller,
    AdminStoreDep,
    ConsumersDep,
    RegistryDep,
    SettingsDep,
    SpecDep,
    TokensDep,
)
from gateway.messagelog.audited import audited_route
from gateway.proxy.upstream_policy import check_registration
from gateway.spec import RouteSpec
from gateway.trust.access import AccessRights
from gateway.trust.auth import Consumers

CODE = r"^[A-Za-z][A-Za-z0-9_-]{1,63}$"
VERSION = r"^\d+(\.\d+){0,2}$"

# Changes and refusals are audited exchanges; successful reads are not.
router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    route_class=audited_route(None, reads=False),
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)
Code = Annotated[str, Path(pattern=CODE)]
Version = Annotated[str, Path(pattern=VERSION)]


def _view(spec: RouteSpec) -> RegisteredService:
    return RegisteredService(
        code=spec.code,
        version=spec.version,
        title=spec.title,
        owner=spec.owner,
        tier=spec.tier,
        route=spec.target,
        address=spec.url,
    )


@router.get("/services", response_model=list[RegisteredService])
async def list_services(_: AdminCaller, registry: RegistryDep) -> list[RegisteredService]:
    return [_view(r.spec) for r in registry.routes.values()]


@router.put(
    "/services/{code}/{version}",
    response_model=RegisteredService,
    responses={409: {"model": Problem}, 422: {"model": Problem}},
)
async def register_service(
    who: AdminCaller,
    code: Code,
    version: Version,
    body: ServiceRegistration,
    request: Request,
    spec: SpecDep,
    settings: SettingsDep,
    registry: RegistryDep,
    access: AccessDep,
    store: AdminStoreDep,
) -> RegisteredService:
    await check_registration(str(body.address), settings, request.scope.get("server"))
    if code.lower() in RESERVED_CODES:
        raise ProblemError(
            409,
            "reserved-code",
            "Reserved service code",
            f"{code!r} is a path of the platform's own API.",
        )
    existing = registry.find(code, version)
    if existing is not None and existing.spec.target == "upstream":
        upstream = spec.upstream.platform if spec.upstream else "the upstream"
        raise ProblemError(
            409,
            "upstream-service",
            "Service belongs to the upstream platform",
            f"{code}/{version} is reached through {upstream}; register it there.",
        )
    route = RouteSpec(
        code=code,
        version=version,
        title=body.title,
        owner=body.owner,
        owner_name=body.owner,
        tier=spec.tier,
        target="backend",
        url=str(body.address).rstrip("/"),
    )
    await store.save(
        registry, access, admin=who.id, kind="register", subject=route.model_dump_json()
    )
    return _view(route)


@router.delete("/services/{code}/{version}", status_code=204, responses={404: {"model": Problem}})
async def unregister_service(
    who: AdminCaller,
    code: Code,
    version: Version,
    spec: SpecDep,
    registry: RegistryDep,
    access: AccessDep,
    store: AdminStoreDep,
) -> Response:
    if registry.find(code, version) is None:
        raise ProblemError(
            404,
            "unknown-service",
            "No such service",
            f"No service {code}/{version} at {spec.name}.",
        )
    await store.save(registry, access, admin=who.id, kind="unregister", subject=f"{code}/{version}")
    return Response(status_code=204)


def _consumer_view(access: AccessRights, consumer: Consumer) -> ConsumerView:
    return ConsumerView(
        id=consumer.id,
        name=consumer.name,
        agency=consumer.agency,
        roles=[r.value for r in consumer.roles],
        grants=access.grants_of(consumer.id),
        rate_limit=consumer.rate_limit,
    )


@router.get("/consumers", response_model=list[ConsumerView])
async def list_consumers(
    _: AdminCaller, consumers: ConsumersDep, access: AccessDep
) -> list[ConsumerView]:
    return [_consumer_view(access, c) for c in consumers]


def _known_consumer(consumers: Consumers, consumer_id: str, platform: str) -> Consumer:
    consumer = consumers.get(consumer_id)
    if consumer is None:
        raise ProblemError(
            404,
            "unknown-consumer",
            "No such consumer",
            f"No consumer {consumer_id!r} at {platform}.",
        )
    return consumer


@router.put(
    "/consumers/{consumer_id}/grants/{code}",
    response_model=ConsumerView,
    responses={404: {"model": Problem}},
)
async def grant(
    who: AdminCaller,
    consumer_id: str,
    code: Code,
    spec: SpecDep,
    consumers: ConsumersDep,
    registry: RegistryDep,
    access: AccessDep,
    store: AdminStoreDep,
) -> ConsumerView:
    consumer = _known_consumer(consumers, consumer_id, spec.name)
    if not any(c == code for c, _ in registry.routes):
        raise ProblemError(
            404,
            "unknown-service",
            "No such service",
            f"No service {code!r} is registered at {spec.name}.",
        )
    await store.save(registry, access, admin=who.id, kind="grant", subject=consumer.id, code=code)
    return _consumer_view(access, consumer)


@router.delete(
    "/consumers/{consumer_id}/grants/{code}",
    response_model=ConsumerView,
    responses={404: {"model": Problem}},
)
async def revoke(
    who: AdminCaller,
    consumer_id: str,
    code: Code,
    spec: SpecDep,
    consumers: ConsumersDep,
    registry: RegistryDep,
    access: AccessDep,
    store: AdminStoreDep,
) -> ConsumerView:
    consumer = _known_consumer(consumers, consumer_id, spec.name)
    await store.save(registry, access, admin=who.id, kind="revoke", subject=consumer.id, code=code)
    return _consumer_view(access, consumer)


@router.post("/keys/rotate", response_model=KeyRotation)
async def rotate_keys(_: AdminCaller, tokens: TokensDep) -> KeyRotation:
    keyring = tokens.keyring
    active = keyring.rotate()
    return KeyRotation(active_kid=active.kid, valid_kids=keyring.kids())
