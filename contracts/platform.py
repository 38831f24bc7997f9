"""The platforms' own API: token, topology, audit. Both tiers speak exactly these shapes."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from contracts.fidelity import FidelityStatus
from contracts.openapi_store import load_document
from contracts.topology import AgencyCode, RateLimit, Tier


class TokenResponse(BaseModel):
    """WSO2 API Manager's client-credentials reply, as the real platforms send it."""

    access_token: str
    scope: str = "am_application_scope default"
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds until the token expires")


class ServiceStatus(BaseModel):
    code: str
    version: str
    title: str
    owner: str
    owner_name: str
    tier: Tier
    route: Literal["backend", "upstream"] = Field(
        description="backend: served behind this platform; upstream: forwarded to the next tier"
    )
    path: str = Field(description="Public path prefix, /{context}/{version}/")
    healthy: bool | None = Field(description="None until the first health check has run")
    checked_at: datetime | None = None
    detail: str | None = None


class ServiceGroup(BaseModel):
    registered: int = Field(description="Services in the registry")
    reachable: int = Field(description="Of those, the ones whose last health check passed")
    services: list[ServiceStatus]


class PlatformStatus(BaseModel):
    name: str
    title: str
    tier: Tier
    agency: str
    healthy: bool | None
    checked_at: datetime | None = None
    detail: str | None = None


class PlatformGroup(BaseModel):
    registered: int
    reachable: int
    platforms: list[PlatformStatus]


class PlatformUrls(BaseModel):
    """Where a platform answers: the same API over HTTP and, beside it, over HTTPS."""

    http: str = Field(examples=["http://127.0.0.1:8001"])
    https: str | None = Field(
        default=None,
        description="Its HTTPS base URL (certificate issued by the sandbox CA); null: none",
        examples=["https://127.0.0.1:8444"],
    )


class TopologyReport(BaseModel):
    platform: str
    tier: Tier
    title: str
    agency: str
    urls: PlatformUrls | None = Field(
        default=None, description="This platform's base URLs, as the other nodes reach it"
    )
    summary: str = Field(description="One line a person reads: the counts per tier")
    national: ServiceGroup = Field(
        description="On NGSP the national services it routes; on an LGSP those it reaches "
        "through NGSP"
    )
    intra: ServiceGroup | None = Field(
        default=None, description="Provincial platforms only: services inside the province"
    )
    upstream: PlatformStatus | None = None
    downstream: PlatformGroup | None = Field(
        default=None, description="National platform only: the provincial platforms connected"
    )


class ScenarioInfo(BaseModel):
    """A canned outcome the caller can ask the service for with X-Sandbox-Scenario."""

    name: str
    description: str
    status: int | None = Field(description="The canned status; null: the operation's usual one")
    operations: list[str] | None = Field(description="Operations it applies to; null: all")


class ServiceScenarios(BaseModel):
    """A service's canned outcomes, as GET /_sandbox/scenarios lists them."""

    code: str
    version: str
    path: str = Field(description="Public path prefix, /{context}/{version}/")
    scenarios: list[ScenarioInfo]


class OperationFidelity(BaseModel):
    """Where an operation's shape comes from (contracts/fidelity.py)."""

    operation: str = Field(examples=["GET /chiTietDoanhNghiep"])
    status: FidelityStatus
    sources: list[str] = Field(default_factory=list)
    note: str = ""


def ledger_of(contract: str, version: str) -> list[OperationFidelity]:
    """The fidelity of each operation, as the contract's committed document states it."""
    return [e.model_copy() for e in _ledger(contract, version)]


@cache
def _ledger(contract: str, version: str) -> tuple[OperationFidelity, ...]:
    document = load_document(contract, version) or {}
    found = []
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            entry = operation.get("x-sandbox-fidelity") if isinstance(operation, dict) else None
            if entry:
                found.append(OperationFidelity(operation=f"{method.upper()} {path}", **entry))
    return tuple(found)


class CatalogEntry(BaseModel):
    code: str
    version: str
    title: str
    owner: str
    owner_name: str
    tier: Tier
    path: str
    healthy: bool | None
    contract: str | None = Field(description="Contract id; requests are validated against it")
    contract_version: str | None
    openapi: str | None = Field(description="Path of the service's OpenAPI document here")
    scenarios: list[ScenarioInfo] = Field(
        default_factory=list,
        description="Test scenarios of its contract, chosen per call with X-Sandbox-Scenario",
    )
    fidelity: list[OperationFidelity] = Field(
        default_factory=list,
        description="Per operation: verified, partial or unverified against public sources, "
        "and which (the contract's x-sandbox-fidelity)",
    )

    @model_validator(mode="after")
    def _ledger(self) -> CatalogEntry:
        # Filled from the contract's document, so every platform shows the same ledger.
        if not self.fidelity and self.contract and self.contract_version:
            self.fidelity = ledger_of(self.contract, self.contract_version)
        return self


class Catalog(BaseModel):
    platform: str
    consumer: str = Field(description="The caller the catalog was made for")
    services: list[CatalogEntry] = Field(description="Exactly the services the caller may call")


class ServiceRegistration(BaseModel):
    """An admin registers (or moves) a back end behind this platform."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    owner: AgencyCode
    address: AnyHttpUrl = Field(description="Base URL of the back end: http or https only")


class RegisteredService(BaseModel):
    code: str
    version: str
    title: str
    owner: str
    tier: Tier
    route: Literal["backend", "upstream"]
    address: str


class ConsumerView(BaseModel):
    id: str
    name: str
    agency: str | None
    roles: list[str]
    grants: list[str]
    rate_limit: RateLimit | None


class KeyRotation(BaseModel):
    active_kid: str
    valid_kids: list[str] = Field(description="Keys whose tokens are still accepted")


class JournalEntry(BaseModel):
    time: datetime
    message_id: str
    consumer: str | None
    service: str | None
    method: str
    path: str
    status: int
    outcome: str
    duration_ms: float
    closest: str | None = Field(
        default=None, description="For a call that matched no service: the likeliest one"
    )
    detail: str | None = Field(
        default=None,
        description="For a refusal: the sandbox's diagnosis (which field, which contract), "
        "also when the caller was answered with a WSO2 fault",
    )


class Journal(BaseModel):
    exchanges: list[JournalEntry] = Field(description="Most recent first")
    near_misses: list[JournalEntry] = Field(description="Calls that matched no service")


class Readiness(BaseModel):
    ready: bool
    platform: str
    not_ready: list[str] = Field(description="What is not ready: services, platforms, stores")


class CircuitView(BaseModel):
    service: str
    state: str


class ResetReport(BaseModel):
    platform: str
    faults: int = Field(description="Fault rules after the reset (those of the topology)")
    backends_reset: list[str]


class ServiceMetrics(BaseModel):
    """One service's traffic at this platform: the last window, and totals since start."""

    service: str | None = Field(
        description="Service code; null for exchanges that named no service (tokens, "
        "paths matching no service)"
    )
    version: str | None
    requests: int = Field(description="Exchanges in the window")
    rate_per_second: float = Field(description="Exchanges per second over the window")
    errors: int = Field(description="Of those, answered 5xx: the platform or the service failed")
    client_errors: int = Field(description="Of those, answered 4xx: refused or malformed calls")
    error_rate: float = Field(description="errors / requests over the window (0 when idle)")
    p50_ms: float | None = Field(description="Median latency over the window; null when idle")
    p95_ms: float | None = Field(description="95th percentile latency; null when idle")
    total_requests: int = Field(description="Since the platform started")
    total_errors: int = Field(description="5xx answers since the platform started")


class ExchangeSummary(BaseModel):
    """An audited exchange as the dashboard shows it: metadata only, never bodies or paths."""

    time: datetime
    message_id: str
    consumer: str | None
    origin_consumer: str | None
    service: str | None
    version: str | None
    method: str
    status: int
    duration_ms: float
    outcome: str = Field(description="ok, or the problem type slug when the exchange failed")


class DashboardState(BaseModel):
    """What the dashboard page shows; on NGSP `report.downstream` lists the provinces."""

    generated_at: datetime
    headline: str = Field(description="The counts per tier, as the page's headline")
    window_seconds: int = Field(description="Length of the metrics' rolling window")
    report: TopologyReport
    metrics: list[ServiceMetrics] = Field(description="Every service that has had traffic")
    recent: list[ExchangeSummary] = Field(description="Most recent audited exchanges first")
