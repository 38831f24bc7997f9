"""One platform's resolved view of the topology: what the engine is given to run."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from contracts.faults import FaultRule
from contracts.platform import PlatformUrls
from contracts.topology import Agency, AxisSystem, Consumer, Tier


class RouteSpec(BaseModel):
    code: str
    version: str
    title: str
    owner: str
    owner_name: str
    tier: Tier
    target: Literal["backend", "upstream"]
    url: str  # the back end's base URL, or the upstream platform's base URL
    contract: str | None = None  # contract id; its version is the service version
    # Or the agency's own OpenAPI file its back end answers from (`backend: {openapi: …}`).
    contract_file: str | None = None
    timeout_seconds: float | None = None  # none: the platform's default

    @property
    def prefix(self) -> str:
        return f"/{self.code}/{self.version}/"


class UpstreamSpec(BaseModel):
    platform: str
    title: str
    agency: str
    url: str
    client_id: str
    client_secret: str


class PeerSpec(BaseModel):
    name: str
    title: str
    tier: Tier
    agency: str
    url: str
    # This platform's credentials at the peer, to hand documents down (None: it cannot).
    client_id: str | None = None
    client_secret: str | None = None


class MailboxSpec(BaseModel):
    agency: str
    platform: str
    push_url: str | None = None  # None: the agency picks documents up from its inbox


class PlatformSpec(BaseModel):
    name: str
    tier: Tier
    title: str
    agency: str
    agency_name: str
    urls: PlatformUrls | None = None  # where it answers, HTTP and HTTPS (its /topology says)
    routes: list[RouteSpec]
    consumers: list[Consumer]
    upstream: UpstreamSpec | None = None
    downstream: list[PeerSpec] = []
    mailboxes: list[MailboxSpec] = []
    faults: list[FaultRule] = []
    validate_requests: bool = False
    token_format: Literal["opaque", "jwt"] = "opaque"
    unversioned_paths: bool = False
    lgsp_access_token: bool = False
    context_aliases: dict[str, str] = {}
    document_signatures: Literal["off", "verify-if-present", "required"] = "verify-if-present"
    # The document axis endpoint (/vxp): the systems that call this platform, and the agencies
    # the axis lists to them (getAgenciesList).
    axis_systems: list[AxisSystem] = []
    axis_agencies: list[Agency] = []
