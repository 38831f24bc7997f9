"""create_platform_app(): the one app factory both tiers use; they differ only in the report."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from apikit.openapi import problem_openapi
from apikit.problems import install_problem_handlers
from contracts.edxml import Delivery, DocumentPackage, StatusPacket, StatusRelay
from contracts.platform import TopologyReport
from gateway.api import admin, audit, catalog, status, token
from gateway.api import axis as axis_api
from gateway.api import dashboard as dashboard_api
from gateway.api import documents as documents_api
from gateway.api import metrics as metrics_api
from gateway.api import sandbox as sandbox_api
from gateway.api.deps import Collaborators
from gateway.documents.axis_desk import AxisDesk
from gateway.documents.axis_store import AxisStore
from gateway.documents.delivery import DeliveryWorker
from gateway.documents.service import DocumentService
from gateway.documents.store import DocumentStore
from gateway.messagelog.audit import AuditLog
from gateway.messagelog.audited import AuditedExchanges
from gateway.monitoring.exchange_log import log_exchange
from gateway.monitoring.health import HealthMonitor
from gateway.monitoring.journal import Journal
from gateway.monitoring.metrics import Metrics
from gateway.proxy.admin_store import AdminStore
from gateway.proxy.breaker import Breakers
from gateway.proxy.client import create_client
from gateway.proxy.faults import Faults
from gateway.proxy.forwarder import create_forwarder
from gateway.proxy.lane import ExchangeLane
from gateway.proxy.limits import BodyLimit, HeaderLimit
from gateway.proxy.registry import Registry
from gateway.proxy.routed_call import RoutedCall
from gateway.proxy.upstream import UpstreamHop
from gateway.settings import GatewaySettings
from gateway.spec import PlatformSpec
from gateway.trust.access import AccessRights
from gateway.trust.auth import Authenticator, Consumers
from gateway.trust.keyring import Keyring
from gateway.trust.ratelimit import RateLimiter
from gateway.trust.signatures import SANDBOX_CA_FILE, SANDBOX_PKI_DIR, SignaturePolicy
from gateway.trust.token_store import TokenStore
from gateway.trust.tokens import TokenService
from gateway.trust.upstream_token import UpstreamToken

# What a tier reports of itself: the only thing in which LGSP and NGSP differ.
Reporter = Callable[[PlatformSpec, Registry], TopologyReport]


def create_platform_app(
    spec: PlatformSpec,
    settings: GatewaySettings,
    reporter: Reporter,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[Collaborators]:
        async with AsyncExitStack() as stack:
            yield await _build(spec, settings, reporter, transport, stack)

    app = PlatformApp(
        title=spec.title,
        description=f"{spec.tier.value.capitalize()} data integration and sharing platform "
        f"({spec.name}) of the GSP sandbox.",
        version="1.0",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    problem_openapi(app, extra_models=[DocumentPackage, StatusPacket, Delivery, StatusRelay])
    # Bodies of the platform's own API are bounded inside the framework; routed calls bound
    # theirs themselves (audited), in the lane, which sits outside it (PlatformApp).
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        document_max_bytes=settings.document_max_bytes,
        within_seconds=settings.body_timeout_seconds,
    )
    app.outer_max_header_bytes = settings.max_header_bytes
    app.include_router(token.router)
    app.include_router(status.router)
    app.include_router(audit.router)
    app.include_router(catalog.router)
    app.include_router(admin.router)
    app.include_router(documents_api.router)
    app.include_router(axis_api.router)
    app.include_router(sandbox_api.router)
    app.include_router(dashboard_api.router)
    app.include_router(metrics_api.router)
    return app


class PlatformApp(FastAPI):
    """FastAPI for the platform's own API, with the exchange lane outside the framework.

    Header size is bounded first, for everything. Then routed calls, nearly all of the
    traffic, go to the lane before any of the framework's own middleware (error pages,
    telemetry, its body limit), each of which wraps every request and every answer it
    sends; the routed call answers and audits every failure itself. Everything else is
    FastAPI as usual.
    """

    outer_max_header_bytes: int = 0

    def build_middleware_stack(self) -> ASGIApp:
        return HeaderLimit(
            ExchangeLane(super().build_middleware_stack()), max_bytes=self.outer_max_header_bytes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.root_path:
            await super().__call__(scope, receive, send)  # lifespan, and FastAPI's own set-up
            return
        # What Starlette's __call__ does, without FastAPI's per-request telemetry checks.
        scope["app"] = self
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        await self.middleware_stack(scope, receive, send)


async def _build(
    spec: PlatformSpec,
    settings: GatewaySettings,
    reporter: Reporter,
    transport: httpx.AsyncBaseTransport | None,
    stack: AsyncExitStack,
) -> Collaborators:
    """Every collaborator, built once in dependency order; `stack` closes them in reverse."""
    data_dir = settings.data_dir
    consumers = Consumers(spec.consumers)
    token_store = TokenStore(data_dir / f"{spec.name}.tokens.sqlite3")
    stack.callback(token_store.close)
    tokens = TokenService(
        spec.name,
        Keyring(data_dir / f"{spec.name}.token-keys.json", settings.token_ttl_seconds),
        settings.token_ttl_seconds,
        token_store,
        spec.token_format,
    )
    authenticator = Authenticator(spec.name, tokens, consumers)

    audit_log = AuditLog(
        data_dir / f"{spec.name}.audit.sqlite3",
        batch_size=settings.audit_batch_size,
        busy_timeout_seconds=settings.audit_busy_timeout_seconds,
        commit_timeout_seconds=settings.audit_commit_timeout_seconds,
    )
    await audit_log.open()
    stack.push_async_callback(audit_log.close)
    metrics = Metrics()
    journal = Journal()
    exchanges = AuditedExchanges(spec.name, audit_log)
    # One stream of finished exchanges feeds the live metrics, the journal and the log lines.
    exchanges.observers.append(lambda entry, _: metrics.observe(entry))
    exchanges.observers.append(
        lambda entry, exchange: journal.add(entry, exchange.closest, exchange.detail)
    )
    exchanges.observers.append(lambda entry, _: log_exchange(entry))

    registry = Registry(spec)
    access = AccessRights(spec.consumers)
    admin_store = AdminStore(data_dir / f"{spec.name}.admin.sqlite3")
    await admin_store.open()
    stack.push_async_callback(admin_store.close)
    await admin_store.replay(registry, access)

    client = create_client(settings, transport)
    stack.push_async_callback(client.aclose)
    forwarder = create_forwarder(settings, transport)
    stack.push_async_callback(forwarder.aclose)
    upstream_token = (
        UpstreamToken(client, spec.upstream, settings.upstream_token_margin_seconds)
        if spec.upstream
        else None
    )
    breakers = Breakers(settings.breaker_failures, settings.breaker_reset_seconds)
    faults = Faults(spec.faults)
    limiter = RateLimiter({c.id: c.rate_limit for c in spec.consumers if c.rate_limit})
    routed_call = RoutedCall(
        platform=spec.name,
        settings=settings,
        registry=registry,
        authenticator=authenticator,
        access=access,
        limiter=limiter,
        hop=UpstreamHop(
            platform=spec.name,
            settings=settings,
            forwarder=forwarder,
            breakers=breakers,
            faults=faults,
            upstream_token=upstream_token,
        ),
        exchanges=exchanges,
        validate_requests=spec.validate_requests,
        unversioned_paths=spec.unversioned_paths,
        lgsp_access_token=spec.lgsp_access_token,
        context_aliases=spec.context_aliases,
    )

    document_store = DocumentStore(data_dir / f"{spec.name}.documents.sqlite3", spec.name)
    await document_store.open()
    stack.push_async_callback(document_store.close)
    outbox_ready = asyncio.Event()
    anchors = settings.document_trust_anchors or data_dir / SANDBOX_PKI_DIR / SANDBOX_CA_FILE
    signatures = SignaturePolicy(spec.document_signatures, anchors, spec.name)
    documents = DocumentService(spec, document_store, outbox_ready.set, signatures)
    axis_store = AxisStore(document_store)
    await axis_store.open()
    axis = AxisDesk(documents, axis_store, {a.code: a.name for a in spec.axis_agencies})
    delivery = DeliveryWorker(documents, client, settings, upstream_token, outbox_ready)
    delivery.start()
    stack.push_async_callback(delivery.stop)

    monitor = HealthMonitor(
        registry,
        client,
        interval=settings.health_interval_seconds,
        timeout=settings.health_timeout_seconds,
        down_after=settings.health_down_after_failures,
    )
    monitor.start()
    stack.push_async_callback(monitor.stop)

    return Collaborators(
        spec=spec,
        settings=settings,
        registry=registry,
        consumers=consumers,
        tokens=tokens,
        authenticator=authenticator,
        access=access,
        limiter=limiter,
        admin_store=admin_store,
        audit=audit_log,
        exchanges=exchanges,
        journal=journal,
        metrics=metrics,
        breakers=breakers,
        faults=faults,
        documents=documents,
        axis=axis,
        client=client,
        report=partial(reporter, spec, registry),
        routed_call=routed_call,
        monitor=monitor,
    )
