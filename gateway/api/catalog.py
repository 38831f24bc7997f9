"""GET /catalog: the services the calling consumer may call (X-Road's allowedMethods)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from contracts.platform import Catalog, CatalogEntry
from contracts.problem import Problem
from gateway.auth import authenticate
from gateway.state import is_admin, platform_of

router = APIRouter(tags=["platform"])


@router.get(
    "/catalog",
    response_model=Catalog,
    summary="Services the caller may call (an admin sees every service)",
    responses={401: {"model": Problem}},
)
async def catalog(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Catalog:
    state = platform_of(request)
    consumer = authenticate(state, authorization)
    entries = [
        CatalogEntry(
            code=r.spec.code,
            version=r.spec.version,
            title=r.spec.title,
            owner=r.spec.owner,
            owner_name=r.spec.owner_name,
            tier=r.spec.tier,
            path=r.spec.prefix,
            healthy=r.health.healthy,
        )
        for r in sorted(state.registry.routes.values(), key=lambda r: r.spec.prefix)
        if is_admin(consumer) or state.access.may_call(consumer.id, r.spec.code)
    ]
    return Catalog(platform=state.spec.name, consumer=consumer.id, services=entries)
