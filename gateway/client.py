"""The httpx client a platform uses off the hot path: health checks and upstream tokens."""

from __future__ import annotations

import httpx

from gateway.settings import GatewaySettings


def create_client(
    settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """`transport` is the test seam."""
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(
            settings.upstream_timeout_seconds, connect=settings.connect_timeout_seconds
        ),
        follow_redirects=False,
        trust_env=False,
    )
