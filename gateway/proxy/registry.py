"""The live registry: every route a platform serves and what its health checks last said."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contracts.openapi_store import load_document
from contracts.own_spec import load_spec
from contracts.platform import PlatformGroup, PlatformStatus, ServiceGroup, ServiceStatus
from contracts.topology import Tier
from gateway.proxy.validation import ContractValidator
from gateway.spec import PeerSpec, PlatformSpec, RouteSpec


@dataclass
class Health:
    healthy: bool | None = None
    checked_at: datetime | None = None
    detail: str | None = None

    def mark(self, healthy: bool, detail: str | None = None) -> None:
        self.healthy = healthy
        self.detail = detail
        self.checked_at = datetime.now(UTC)


@dataclass
class Route:
    spec: RouteSpec
    health: Health = field(default_factory=Health)
    validator: ContractValidator | None = None

    def status(self) -> ServiceStatus:
        s = self.spec
        return ServiceStatus(
            code=s.code,
            version=s.version,
            title=s.title,
            owner=s.owner,
            owner_name=s.owner_name,
            tier=s.tier,
            route=s.target,
            path=s.prefix,
            healthy=self.health.healthy,
            checked_at=self.health.checked_at,
            detail=self.health.detail,
        )


@dataclass
class Peer:
    spec: PeerSpec
    health: Health = field(default_factory=Health)

    def status(self) -> PlatformStatus:
        return PlatformStatus(
            name=self.spec.name,
            title=self.spec.title,
            tier=self.spec.tier,
            agency=self.spec.agency,
            healthy=self.health.healthy,
            checked_at=self.health.checked_at,
            detail=self.health.detail,
        )


def contract_document(spec: RouteSpec) -> dict[str, Any] | None:
    """The route's contract: a committed document, or the agency's own OpenAPI file."""
    if spec.contract_file is not None:
        return load_spec(spec.contract_file).document  # SpecError names the place
    if spec.contract is None:
        return None
    document = load_document(spec.contract, spec.version)
    if document is None:
        raise ValueError(f"{spec.code}/{spec.version}: no contract document {spec.contract}")
    return document


def _validator(spec: RouteSpec) -> ContractValidator | None:
    document = contract_document(spec)
    if document is None or spec.contract is None:
        return None
    return ContractValidator(spec.contract, document)


def _route(spec: RouteSpec) -> Route:
    return Route(spec, validator=_validator(spec))


class Registry:
    def __init__(self, spec: PlatformSpec) -> None:
        self.routes: dict[tuple[str, str], Route] = {
            (r.code, r.version): _route(r) for r in spec.routes
        }
        self.upstream: Peer | None = None
        if spec.upstream is not None:
            up = spec.upstream
            self.upstream = Peer(
                PeerSpec(
                    name=up.platform,
                    title=up.title,
                    tier=Tier.NATIONAL,
                    agency=up.agency,
                    url=up.url,
                )
            )
        self.downstream: dict[str, Peer] = {p.name: Peer(p) for p in spec.downstream}

    def find(self, code: str, version: str) -> Route | None:
        return self.routes.get((code, version))

    def register(self, spec: RouteSpec) -> Route:
        """Add or replace a route; its health is unknown until the next check."""
        route = _route(spec)
        self.routes[(spec.code, spec.version)] = route
        return route

    def remove(self, code: str, version: str) -> bool:
        return self.routes.pop((code, version), None) is not None

    def backend_routes(self) -> list[Route]:
        return [r for r in self.routes.values() if r.spec.target == "backend"]

    def upstream_routes(self) -> list[Route]:
        return [r for r in self.routes.values() if r.spec.target == "upstream"]


def service_group(routes: list[Route]) -> ServiceGroup:
    statuses = [r.status() for r in sorted(routes, key=lambda r: (r.spec.code, r.spec.version))]
    return ServiceGroup(
        registered=len(statuses),
        reachable=sum(1 for s in statuses if s.healthy),
        services=statuses,
    )


def platform_group(peers: list[Peer]) -> PlatformGroup:
    statuses = [p.status() for p in peers]
    return PlatformGroup(
        registered=len(statuses),
        reachable=sum(1 for s in statuses if s.healthy),
        platforms=statuses,
    )


def counted(what: str, *, reachable: int, registered: int) -> str:
    """'9 services connected' or, when some are down, '8 services connected (9 registered)'."""
    text = f"{reachable} {what}"
    if reachable != registered:
        text += f" ({registered} registered)"
    return text
