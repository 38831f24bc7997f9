"""A provincial platform's own token at the national one: fetched once, reused, renewed early."""

from __future__ import annotations

import asyncio
import time

import httpx

from apikit.problems import ProblemError
from gateway.spec import UpstreamSpec


class UpstreamToken:
    def __init__(self, client: httpx.AsyncClient, spec: UpstreamSpec, margin_seconds: int) -> None:
        self._client = client
        self._spec = spec
        self._margin = margin_seconds
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def bearer(self) -> str:
        if self._token is not None and time.monotonic() < self._renew_at:
            return self._token
        async with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                await self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        self._token = None

    async def _fetch(self) -> None:
        try:
            response = await self._client.post(
                f"{self._spec.url}/token",
                data={"grant_type": "client_credentials"},
                auth=(self._spec.client_id, self._spec.client_secret),
            )
        except httpx.TransportError as exc:
            raise ProblemError(
                502,
                "upstream-unreachable",
                "Upstream platform unreachable",
                f"Could not reach {self._spec.platform} for a token: {type(exc).__name__}.",
            ) from None
        if response.status_code != 200:
            raise ProblemError(
                502,
                "upstream-auth-failed",
                "Upstream platform refused this platform's credentials",
                f"{self._spec.platform} answered {response.status_code} to POST /token; "
                "check the upstream consumer's credentials in the topology.",
            )
        body = response.json()
        self._token = str(body["access_token"])
        lifetime = float(body.get("expires_in", 3600))
        self._renew_at = time.monotonic() + max(lifetime - self._margin, lifetime / 2)
