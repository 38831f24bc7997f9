"""The platforms' own API: token, topology, audit. Both tiers speak exactly these shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from contracts.topology import Tier


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


class TopologyReport(BaseModel):
    platform: str
    tier: Tier
    title: str
    agency: str
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


class AuditRecord(BaseModel):
    id: int
    time: datetime
    platform: str
    message_id: str
    consumer: str | None
    origin_consumer: str | None
    service: str | None
    version: str | None
    method: str
    path: str
    status: int
    duration_ms: float
    request_bytes: int
    response_bytes: int
    outcome: str = Field(description="ok, or the problem type slug when the exchange failed")


class AuditPage(BaseModel):
    records: list[AuditRecord]
