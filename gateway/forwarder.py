"""Sending one routed call to the next hop: the hot path's only outbound I/O.

Two implementations behind one small interface: raw aiohttp (the default: on this kind of
machine it proxies a small JSON call at several times the throughput of httpx's own async
transport) and httpx (whose transports are the test seam, e.g. httpx.MockTransport).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import aiohttp
import httpx
from yarl import URL

from gateway.settings import GatewaySettings


@dataclass(slots=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Unreachable(Exception):
    """No answer could be had: refused, reset, no route."""


class TimedOut(Exception):
    """Connected, but the answer did not come in time."""


class Forwarder(Protocol):
    async def send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        limit_seconds: float | None = None,
    ) -> Reply: ...

    async def aclose(self) -> None: ...


class AiohttpForwarder:
    def __init__(self, settings: GatewaySettings) -> None:
        self._connect_timeout = settings.connect_timeout_seconds
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=512, limit_per_host=256, force_close=False),
            timeout=aiohttp.ClientTimeout(
                total=settings.upstream_timeout_seconds,
                connect=settings.connect_timeout_seconds,
            ),
            auto_decompress=True,
            trust_env=False,
            # The platform forwards headers as they came; it adds none of its own.
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        )

    async def send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        limit_seconds: float | None = None,
    ) -> Reply:
        try:
            async with self._session.request(
                method,
                URL(url, encoded=True),  # the query passes on exactly as the caller wrote it
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=self._timeouts(limit_seconds),
            ) as response:
                payload = await response.read()
                return Reply(response.status, list(response.headers.items()), payload)
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TimedOut(type(exc).__name__) from exc
        except aiohttp.ClientError as exc:
            raise Unreachable(type(exc).__name__) from exc

    def _timeouts(self, total: float | None) -> aiohttp.ClientTimeout | None:
        if total is None:
            return None  # the session's default
        return aiohttp.ClientTimeout(total=total, connect=self._connect_timeout)

    async def aclose(self) -> None:
        await self._session.close()


class HttpxForwarder:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        limit_seconds: float | None = None,
    ) -> Reply:
        try:
            response = await self._client.request(
                method,
                url,
                content=body or None,
                headers=headers,
                timeout=limit_seconds if limit_seconds is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.ConnectError as exc:
            raise Unreachable(type(exc).__name__) from exc
        except httpx.TimeoutException as exc:
            raise TimedOut(type(exc).__name__) from exc
        except httpx.TransportError as exc:
            raise Unreachable(type(exc).__name__) from exc
        return Reply(response.status_code, list(response.headers.items()), response.content)

    async def aclose(self) -> None:
        await self._client.aclose()


def create_forwarder(
    settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None = None
) -> Forwarder:
    if transport is not None or settings.transport == "httpx":
        return HttpxForwarder(_httpx_client(settings, transport))
    return AiohttpForwarder(settings)


def _httpx_client(
    settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=transport,
        limits=httpx.Limits(max_connections=512, max_keepalive_connections=256),
        timeout=httpx.Timeout(
            settings.upstream_timeout_seconds, connect=settings.connect_timeout_seconds
        ),
        follow_redirects=False,
        trust_env=False,
    )
