"""/admin: register services, grant and revoke rights, rotate keys. Admin credential only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request, Response

from apikit.problems import ProblemError
from contracts.platform import ConsumerView, KeyRotation, RegisteredService, ServiceRegistration
from contracts.problem import Problem
from contracts.topology import RESERVED_CODES, Consumer
from gateway.auth import require_admin
from gateway.spec import RouteSpec
from gateway.state import PlatformState, platform_of
from gateway.upstream_policy import check_registration

CODE = r"^[A-Za-z][A-Za-z0-9_-]{1,63}$"
VERSION = r"^\d+(\.\d+){0,2}$"

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)


async def _admin(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> tuple[PlatformState, Consumer]:
    state = platform_of(request)
    return state, require_admin(state, authorization)


Admin = Annotated[tuple[PlatformState, Consumer], Depends(_admin)]
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
async def list_services(admin: Admin) -> list[RegisteredService]:
    state, _ = admin
    return [_view(r.spec) for r in state.registry.routes.values()]


@router.put(
    "/services/{code}/{version}",
    response_model=RegisteredService,
    responses={409: {"model": Problem}, 422: {"model": Problem}},
)
async def register_service(
    admin: Admin, code: Code, version: Version, body: ServiceRegistration, request: Request
) -> RegisteredService:
    state, who = admin
    await check_registration(str(body.address), state.settings, request.scope.get("server"))
    if code.lower() in RESERVED_CODES:
        raise ProblemError(
            409,
            "reserved-code",
            "Reserved service code",
            f"{code!r} is a path of the platform's own API.",
        )
    existing = state.registry.find(code, version)
    if existing is not None and existing.spec.target == "upstream":
        upstream = state.spec.upstream.platform if state.spec.upstream else "the upstream"
        raise ProblemError(
            409,
            "upstream-service",
            "Service belongs to the upstream platform",
            f"{code}/{version} is reached through {upstream}; register it there.",
        )
    spec = RouteSpec(
        code=code,
        version=version,
        title=body.title,
        owner=body.owner,
        owner_name=body.owner,
        tier=state.spec.tier,
        target="backend",
        url=str(body.address).rstrip("/"),
    )
    await state.admin_store.save(
        state.registry,
        state.access,
        admin=who.id,
        kind="register",
        subject=spec.model_dump_json(),
    )
    return _view(spec)


@router.delete("/services/{code}/{version}", status_code=204, responses={404: {"model": Problem}})
async def unregister_service(admin: Admin, code: Code, version: Version) -> Response:
    state, who = admin
    if state.registry.find(code, version) is None:
        raise ProblemError(
            404,
            "unknown-service",
            "No such service",
            f"No service {code}/{version} at {state.spec.name}.",
        )
    await state.admin_store.save(
        state.registry, state.access, admin=who.id, kind="unregister", subject=f"{code}/{version}"
    )
    return Response(status_code=204)


def _consumer_view(state: PlatformState, consumer: Consumer) -> ConsumerView:
    return ConsumerView(
        id=consumer.id,
        name=consumer.name,
        agency=consumer.agency,
        roles=[r.value for r in consumer.roles],
        grants=state.access.grants_of(consumer.id),
        rate_limit=consumer.rate_limit,
    )


@router.get("/consumers", response_model=list[ConsumerView])
async def list_consumers(admin: Admin) -> list[ConsumerView]:
    state, _ = admin
    return [_consumer_view(state, c) for c in state.consumers_by_id.values()]


def _known_consumer(state: PlatformState, consumer_id: str) -> Consumer:
    consumer = state.consumers_by_id.get(consumer_id)
    if consumer is None:
        raise ProblemError(
            404,
            "unknown-consumer",
            "No such consumer",
            f"No consumer {consumer_id!r} at {state.spec.name}.",
        )
    return consumer


@router.put(
    "/consumers/{consumer_id}/grants/{code}",
    response_model=ConsumerView,
    responses={404: {"model": Problem}},
)
async def grant(admin: Admin, consumer_id: str, code: Code) -> ConsumerView:
    state, who = admin
    consumer = _known_consumer(state, consumer_id)
    if not any(c == code for c, _ in state.registry.routes):
        raise ProblemError(
            404,
            "unknown-service",
            "No such service",
            f"No service {code!r} is registered at {state.spec.name}.",
        )
    await state.admin_store.save(
        state.registry, state.access, admin=who.id, kind="grant", subject=consumer.id, code=code
    )
    return _consumer_view(state, consumer)


@router.delete(
    "/consumers/{consumer_id}/grants/{code}",
    response_model=ConsumerView,
    responses={404: {"model": Problem}},
)
async def revoke(admin: Admin, consumer_id: str, code: Code) -> ConsumerView:
    state, who = admin
    consumer = _known_consumer(state, consumer_id)
    await state.admin_store.save(
        state.registry, state.access, admin=who.id, kind="revoke", subject=consumer.id, code=code
    )
    return _consumer_view(state, consumer)


@router.post("/keys/rotate", response_model=KeyRotation)
async def rotate_keys(admin: Admin) -> KeyRotation:
    state, _ = admin
    keyring = state.tokens.keyring
    active = keyring.rotate()
    return KeyRotation(active_kid=active.kid, valid_kids=keyring.kids())
