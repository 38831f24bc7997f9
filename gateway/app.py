"""create_platform_app(): the one app factory both tiers use; they differ only in the report."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypedDict

import httpx
from fastapi import FastAPI

from apikit.openapi import problem_openapi
from apikit.problems import install_problem_handlers
from contracts.edxml import DocumentPackage, StatusPacket
from gateway.access import AccessRights
from gateway.admin_store import AdminStore
from gateway.api import admin, audit, catalog, status, token
from gateway.api import dashboard as dashboard_api
from gateway.api import metrics as metrics_api
from gateway.api import sandbox as sandbox_api
from gateway.audit import AuditLog
from gateway.breaker import Breakers
from gateway.client import create_client
from gateway.documents import api as documents_api
from gateway.documents.delivery import DeliveryWorker
from gateway.documents.service import DocumentService
from gateway.documents.store import DocumentStore
from gateway.exchange import METHODS, exchange
from gateway.exchange_log import log_exchange
from gateway.faults import Faults
from gateway.forwarder import create_forwarder
from gateway.health import HealthMonitor
from gateway.keyring import Keyring
from gateway.lane import ExchangeLane
from gateway.limits import HeaderLimit
from gateway.metrics import Metrics
from gateway.ratelimit import RateLimiter
from gateway.registry import Registry
from gateway.settings import GatewaySettings
from gateway.spec import PlatformSpec
from gateway.state import PlatformState, Reporter
from gateway.tokens import TokenService
from gateway.upstream_token import UpstreamToken


class LifespanState(TypedDict):
    platform: PlatformState


class _Wake:
    """Lets the document service wake the worker that is created after it."""

    target: Callable[[], None] | None = None

    def __call__(self) -> None:
        if self.target is not None:
            self.target()


def create_platform_app(
    spec: PlatformSpec,
    settings: GatewaySettings,
    reporter: Reporter,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[LifespanState]:
        data_dir = settings.data_dir
        keyring = Keyring(data_dir / f"{spec.name}.token-keys.json", settings.token_ttl_seconds)
        audit_log = AuditLog(
            data_dir / f"{spec.name}.audit.sqlite3",
            batch_size=settings.audit_batch_size,
            flush_seconds=settings.audit_flush_seconds,
            busy_timeout_seconds=settings.audit_busy_timeout_seconds,
        )
        await audit_log.open()
        registry = Registry(spec)
        access = AccessRights(spec.consumers)
        admin_store = AdminStore(data_dir / f"{spec.name}.admin.sqlite3")
        await admin_store.open()
        await admin_store.replay(registry, access)
        client = create_client(settings, transport)
        forwarder = create_forwarder(settings, transport)
        monitor = HealthMonitor(
            registry,
            client,
            interval=settings.health_interval_seconds,
            timeout=settings.health_timeout_seconds,
        )
        state = PlatformState(
            spec=spec,
            settings=settings,
            registry=registry,
            tokens=TokenService(spec.name, keyring, settings.token_ttl_seconds),
            audit=audit_log,
            client=client,
            forwarder=forwarder,
            monitor=monitor,
            upstream_token=(
                UpstreamToken(client, spec.upstream, settings.upstream_token_margin_seconds)
                if spec.upstream
                else None
            ),
            consumers_by_client_id={c.client_id: c for c in spec.consumers},
            consumers_by_id={c.id: c for c in spec.consumers},
            access=access,
            limiter=RateLimiter({c.id: c.rate_limit for c in spec.consumers if c.rate_limit}),
            admin_store=admin_store,
            reporter=reporter,
            faults=Faults(spec.faults),
            breakers=Breakers(settings.breaker_failures, settings.breaker_reset_seconds),
            metrics=Metrics(),
        )
        audit_log.observers.append(state.metrics.observe)  # every audited exchange is counted
        audit_log.observers.append(log_exchange)
        documents = DocumentStore(data_dir / f"{spec.name}.documents.sqlite3", spec.name)
        await documents.open()
        wake = _Wake()
        state.documents = DocumentService(spec, documents, wake)
        delivery = DeliveryWorker(state.documents, client, settings, state.upstream_token)
        wake.target = delivery.wake
        monitor.start()
        delivery.start()
        try:
            yield {"platform": state}
        finally:
            await delivery.stop()
            await documents.close()
            await monitor.stop()
            await audit_log.close()
            await admin_store.close()
            await forwarder.aclose()
            await client.aclose()

    app = FastAPI(
        title=spec.title,
        description=f"{spec.tier.value.capitalize()} data integration and sharing platform "
        f"({spec.name}) of the GSP sandbox.",
        version="1.0",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    problem_openapi(app, extra_models=[DocumentPackage, StatusPacket])
    app.add_middleware(ExchangeLane)
    app.add_middleware(HeaderLimit, max_bytes=settings.max_header_bytes)
    app.include_router(token.router)
    app.include_router(status.router)
    app.include_router(audit.router)
    app.include_router(catalog.router)
    app.include_router(admin.router)
    app.include_router(documents_api.router)
    app.include_router(sandbox_api.router)
    app.include_router(dashboard_api.router)
    app.include_router(metrics_api.router)
    # Published services live at /{context}/{version}/{resource}, as on WSO2 API Manager.
    for path in ("/{code}/{version}/{resource:path}", "/{code}/{version}"):
        app.router.add_route(path, exchange, methods=METHODS, include_in_schema=False)
    return app
