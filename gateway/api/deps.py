"""What the platform's routers may ask for: one dependency per collaborator, and who calls.

The lifespan builds every collaborator once and yields them as `Collaborators`; Starlette
hands that state to each request. A route names the few collaborators it uses in its
signature (`registry: RegistryDep`), so what a route touches is visible where it is declared.
Admin-only is said one way: an `AdminCaller` parameter (or `dependencies=[AdminOnly]`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypedDict

import httpx
from fastapi import Depends, Header, Request

from contracts.platform import TopologyReport
from contracts.topology import Consumer
from gateway.documents.axis_desk import AxisDesk
from gateway.documents.service import DocumentService
from gateway.messagelog.audit import AuditLog
from gateway.messagelog.audited import AuditedExchanges, Exchange, current_exchange
from gateway.monitoring.health import HealthMonitor
from gateway.monitoring.journal import Journal
from gateway.monitoring.metrics import Metrics
from gateway.proxy.admin_store import AdminStore
from gateway.proxy.breaker import Breakers
from gateway.proxy.faults import Faults
from gateway.proxy.registry import Registry
from gateway.proxy.routed_call import RoutedCall
from gateway.settings import GatewaySettings
from gateway.spec import PlatformSpec
from gateway.trust.access import AccessRights
from gateway.trust.auth import Authenticator, Consumers
from gateway.trust.ratelimit import RateLimiter
from gateway.trust.tokens import TokenService


class Collaborators(TypedDict):
    spec: PlatformSpec
    settings: GatewaySettings
    registry: Registry
    consumers: Consumers
    tokens: TokenService
    authenticator: Authenticator
    access: AccessRights
    limiter: RateLimiter
    admin_store: AdminStore
    audit: AuditLog
    exchanges: AuditedExchanges
    journal: Journal
    metrics: Metrics
    breakers: Breakers
    faults: Faults
    documents: DocumentService
    axis: AxisDesk
    client: httpx.AsyncClient  # the platform's own calls: health, tokens, resets
    report: Callable[[], TopologyReport]
    routed_call: RoutedCall
    monitor: HealthMonitor


def _spec(request: Request) -> PlatformSpec:
    found: PlatformSpec = request.state.spec
    return found


def _settings(request: Request) -> GatewaySettings:
    found: GatewaySettings = request.state.settings
    return found


def _registry(request: Request) -> Registry:
    found: Registry = request.state.registry
    return found


def _consumers(request: Request) -> Consumers:
    found: Consumers = request.state.consumers
    return found


def _tokens(request: Request) -> TokenService:
    found: TokenService = request.state.tokens
    return found


def _authenticator(request: Request) -> Authenticator:
    found: Authenticator = request.state.authenticator
    return found


def _access(request: Request) -> AccessRights:
    found: AccessRights = request.state.access
    return found


def _limiter(request: Request) -> RateLimiter:
    found: RateLimiter = request.state.limiter
    return found


def _admin_store(request: Request) -> AdminStore:
    found: AdminStore = request.state.admin_store
    return found


def _audit(request: Request) -> AuditLog:
    found: AuditLog = request.state.audit
    return found


def _journal(request: Request) -> Journal:
    found: Journal = request.state.journal
    return found


def _metrics(request: Request) -> Metrics:
    found: Metrics = request.state.metrics
    return found


def _breakers(request: Request) -> Breakers:
    found: Breakers = request.state.breakers
    return found


def _faults(request: Request) -> Faults:
    found: Faults = request.state.faults
    return found


def _documents(request: Request) -> DocumentService:
    found: DocumentService = request.state.documents
    return found


def _axis(request: Request) -> AxisDesk:
    found: AxisDesk = request.state.axis
    return found


def _client(request: Request) -> httpx.AsyncClient:
    found: httpx.AsyncClient = request.state.client
    return found


def _monitor(request: Request) -> HealthMonitor:
    found: HealthMonitor = request.state.monitor
    return found


def _report_source(request: Request) -> Callable[[], TopologyReport]:
    found: Callable[[], TopologyReport] = request.state.report
    return found


def _report(request: Request) -> TopologyReport:
    return _report_source(request)()


def _exchange(request: Request) -> Exchange:
    found = current_exchange(request)
    if found is None:
        raise RuntimeError(f"{request.url.path} is not an audited route")
    return found


SpecDep = Annotated[PlatformSpec, Depends(_spec)]
SettingsDep = Annotated[GatewaySettings, Depends(_settings)]
RegistryDep = Annotated[Registry, Depends(_registry)]
ConsumersDep = Annotated[Consumers, Depends(_consumers)]
TokensDep = Annotated[TokenService, Depends(_tokens)]
AuthenticatorDep = Annotated[Authenticator, Depends(_authenticator)]
AccessDep = Annotated[AccessRights, Depends(_access)]
LimiterDep = Annotated[RateLimiter, Depends(_limiter)]
AdminStoreDep = Annotated[AdminStore, Depends(_admin_store)]
AuditDep = Annotated[AuditLog, Depends(_audit)]
JournalDep = Annotated[Journal, Depends(_journal)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
BreakersDep = Annotated[Breakers, Depends(_breakers)]
FaultsDep = Annotated[Faults, Depends(_faults)]
DocumentsDep = Annotated[DocumentService, Depends(_documents)]
AxisDep = Annotated[AxisDesk, Depends(_axis)]
ClientDep = Annotated[httpx.AsyncClient, Depends(_client)]
MonitorDep = Annotated[HealthMonitor, Depends(_monitor)]
ReportSourceDep = Annotated[Callable[[], TopologyReport], Depends(_report_source)]
ReportDep = Annotated[TopologyReport, Depends(_report)]
# The exchange an audited route is answering: where handlers note the caller and the body.
ExchangeDep = Annotated[Exchange, Depends(_exchange)]


def _note(request: Request, consumer: Consumer) -> None:
    exchange = current_exchange(request)
    if exchange is not None:
        exchange.note_caller(consumer.id)


def _caller(
    request: Request,
    authenticator: AuthenticatorDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Consumer:
    consumer = authenticator.authenticate(authorization)
    _note(request, consumer)
    return consumer


def _admin_caller(
    request: Request,
    authenticator: AuthenticatorDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Consumer:
    consumer = authenticator.require_admin(authorization)
    _note(request, consumer)
    return consumer


def _viewer(
    request: Request,
    settings: SettingsDep,
    authenticator: AuthenticatorDep,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    # The dashboard and /metrics are metadata; public unless the settings say otherwise.
    if not settings.dashboard_public:
        _admin_caller(request, authenticator, authorization)


# Any consumer with a valid token.
Caller = Annotated[Consumer, Depends(_caller)]
# A consumer with the admin role; the one way to say "admin only".
AdminCaller = Annotated[Consumer, Depends(_admin_caller)]
AdminOnly = Depends(_admin_caller)
Viewer = Depends(_viewer)
