"""What a platform holds for its lifetime, created in the lifespan and reached per request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from fastapi import Request

from contracts.platform import TopologyReport
from contracts.topology import Consumer, Role
from gateway.access import AccessRights
from gateway.admin_store import AdminStore
from gateway.audit import AuditLog
from gateway.breaker import Breakers
from gateway.documents.service import DocumentService
from gateway.faults import Faults
from gateway.forwarder import Forwarder
from gateway.health import HealthMonitor
from gateway.journal import Journal
from gateway.metrics import Metrics
from gateway.ratelimit import RateLimiter
from gateway.registry import Registry
from gateway.settings import GatewaySettings
from gateway.spec import PlatformSpec
from gateway.tokens import TokenService
from gateway.upstream_token import UpstreamToken

Reporter = Callable[["PlatformState"], TopologyReport]


@dataclass
class PlatformState:
    spec: PlatformSpec
    settings: GatewaySettings
    registry: Registry
    tokens: TokenService
    audit: AuditLog
    client: httpx.AsyncClient  # health checks and upstream tokens
    forwarder: Forwarder  # routed calls
    monitor: HealthMonitor
    upstream_token: UpstreamToken | None
    consumers_by_client_id: dict[str, Consumer]
    consumers_by_id: dict[str, Consumer]
    access: AccessRights
    limiter: RateLimiter
    admin_store: AdminStore
    reporter: Reporter
    documents: DocumentService | None = None
    faults: Faults = field(default_factory=lambda: Faults([]))
    breakers: Breakers = field(default_factory=lambda: Breakers(5, 5.0))
    journal: Journal = field(default_factory=Journal)
    metrics: Metrics = field(default_factory=Metrics)

    def report(self) -> TopologyReport:
        return self.reporter(self)


def platform_of(request: Request) -> PlatformState:
    state: PlatformState = request.state.platform
    return state


def is_admin(consumer: Consumer) -> bool:
    return Role.ADMIN in consumer.roles
