"""Tunables of a platform process, from the environment (GSP_*)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyNetwork
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GSP_", extra="ignore")

    data_dir: Path = Path("data")
    token_ttl_seconds: int = 3600
    # Refresh the upstream token this long before it expires, so no call carries a stale one.
    upstream_token_margin_seconds: int = 60
    health_interval_seconds: float = 2.0
    health_timeout_seconds: float = 1.0
    # A service, peer or upstream is marked down after this many failed checks in a row
    # (one slow check on a busy machine is not an outage); up again on the first success.
    health_down_after_failures: int = Field(default=3, ge=1)
    # /healthz answers 503 "starting" until what this platform depends on (its services, its
    # upstream platform) has been healthy once, or the start-up checks' 30 s are over: a probe
    # of the LGSP (in a container running the whole sandbox) then means the whole is ready.
    # A node that goes down later still leaves /healthz at 200 (one node down is one down).
    healthz_waits_for_start_up: bool = False
    connect_timeout_seconds: float = 2.0
    upstream_timeout_seconds: float = 10.0
    max_body_bytes: int = 1024 * 1024
    max_header_bytes: int = 16 * 1024
    # Most records one group commit writes (a burst beyond it takes more transactions).
    audit_batch_size: int = 500
    # How long the audit log's reads (queries, health probe) wait on a locked database. Its
    # writes never wait: they run on the event loop, and a locked database fails them at once
    # (retried with a backoff; answers become 503 after audit_commit_timeout_seconds).
    audit_busy_timeout_seconds: float = 5.0
    # How long an answer waits for its audit record's commit before it becomes a 503.
    audit_commit_timeout_seconds: float = 5.0
    # A client that has not sent its whole body by then gets 408 (slow-client defence).
    body_timeout_seconds: float = 10.0
    # The document axis's XroadVnpt-timestamp: how old it may be. The SDK stamps it once, when
    # its service object is made, and hubs keep that object for the process's life (Bkav's
    # ServiceVPCP is a singleton), so the bound is days of uptime, not seconds of skew; a
    # client whose process runs longer makes its SDK object again (README "The national
    # document axis").
    axis_timestamp_max_age_days: float = 30.0
    # The routed call's outbound client: the hop's own HTTP/1.1 client, or httpx.
    transport: Literal["http1", "httpx"] = "http1"
    # Check requests against their contracts at the first hop (422 on a mismatch) on every
    # platform; off, only platforms whose topology says `validate_requests` do. WSO2 API
    # Manager, which the real platforms run, passes requests on unchecked by default.
    validate_requests: bool = False
    # Check back ends' responses against their contracts (off: faster, less safe).
    validate_responses: bool = True
    # Circuit breaker per service: open after this many failures in a row, probe after.
    breaker_failures: int = 5
    breaker_reset_seconds: float = 5.0
    # Official documents: a send may carry attachments, so it gets its own size bound.
    document_max_bytes: int = 8 * 1024 * 1024
    # An inbox page holds no more packages than this (and at least one), whatever `limit` says.
    inbox_page_max_bytes: int = 16 * 1024 * 1024
    # The CA certificates signed documents are verified against (PEM). Default: the sandbox
    # PKI's root, {data_dir}/pki/ca.pem, made by `gsp-sandbox up`.
    document_trust_anchors: Path | None = None
    delivery_concurrency: int = 16
    delivery_max_attempts: int = 12
    delivery_base_delay_seconds: float = 0.5
    delivery_max_delay_seconds: float = 60.0
    delivery_timeout_seconds: float = 10.0
    # The dashboard and /metrics show metadata only (counts, health, message ids); the
    # sandbox serves them to anyone. False: they need an admin token, as /audit does.
    dashboard_public: bool = True
    # Upstream safety (OWASP API7, API10). Back-end addresses in these networks are allowed
    # although the policy refuses them (link-local, metadata), e.g. '["169.254.0.0/16"]'.
    upstream_allowed_networks: list[IPvAnyNetwork] = []
    # A back end's host name must resolve within this when it is registered.
    upstream_resolve_timeout_seconds: float = 2.0
    # A back end's answer is read up to this many bytes (decoded); beyond it, a 502.
    max_response_bytes: int = 8 * 1024 * 1024
    # A pooled connection to a back end idles no longer than this: below uvicorn's default
    # keep-alive (5 s), so the pool never picks one the back end is closing at that moment.
    # A shorter `Keep-Alive: timeout=` from the back end is honoured too.
    upstream_keepalive_seconds: float = 4.0
