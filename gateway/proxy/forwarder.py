"""Sending one routed call to the next hop: the hot path's only outbound I/O.

Two implementations behind one small interface: the hop's own HTTP/1.1 client (the default,
`gateway.proxy.http1`: measured on the 2-core machine, aiohttp's session machinery was about a
third of the platform's CPU on the routed path) and httpx (whose transports are the test
seam, e.g. httpx.MockTransport). test_upstream_safety runs its guarantees against both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from apikit.problems import ProblemError
from gateway.proxy.client import guarded_transport
from gateway.proxy.http1 import AnswerTimedOut, Broken, ConnectFailed, Http1Pool, TooLarge
from gateway.settings import GatewaySettings

# RFC 9110 9.2.2: these are sent once more when the connection breaks before the whole answer
# came (a pooled one the back end had just closed, or a reset); POST and PATCH never are,
# since the back end may have acted on the first.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_CHUNK = 64 * 1024


@dataclass(slots=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Unreachable(Exception):
    """No answer could be had: refused, reset, no route; or the connection broke.

    `sent`: the request had been written when it broke, so the back end may have acted on
    it. False: it was never sent (no connection could be made).
    """

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        self.sent = sent


class TimedOut(Exception):
    """The call's deadline passed; `sent` as Unreachable's (the answer was awaited, or the
    deadline passed before a connection or a turn could be had)."""

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        self.sent = sent


class ResponseTooLarge(ProblemError):
    """The back end's answer is over the cap: read no further, its connection closed.

    A problem of its own (not Unreachable): the service is up, it answered too much.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(
            502,
            "response-too-large",
            "Response too large",
            f"The service's response is over the platform's limit of {limit} bytes; "
            "it was not read further.",
        )


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


async def _once_more_if_idempotent(
    method: str,
    attempt: Callable[[], Awaitable[Reply]],
    broken: tuple[type[BaseException], ...],
) -> Reply:
    """One attempt; if the pooled connection turned out closed or reset, one more, but only
    for a method that may be repeated (never a POST or PATCH: it may have been acted on),
    or when the request was never written (`sent` False: the back end cannot have seen it)."""
    try:
        return await attempt()
    except broken as exc:
        if method.upper() not in IDEMPOTENT and getattr(exc, "sent", True):
            raise
    return await attempt()


class Http1Forwarder:
    """The default: the hop's own HTTP/1.1 client (`gateway.proxy.http1`), pooled per origin."""

    def __init__(self, settings: GatewaySettings) -> None:
        self._timeout = settings.upstream_timeout_seconds
        self._limit = settings.max_response_bytes
        self._pool = Http1Pool(
            connect_timeout=settings.connect_timeout_seconds,
            keepalive_seconds=settings.upstream_keepalive_seconds,
            max_response_bytes=settings.max_response_bytes,
            allowed=settings.upstream_allowed_networks,
        )

    async def send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        limit_seconds: float | None = None,
    ) -> Reply:
        limit = self._timeout if limit_seconds is None else limit_seconds
        deadline = asyncio.get_running_loop().time() + limit  # both attempts, all told
        try:
            return await _once_more_if_idempotent(
                method, lambda: self._send_once(method, url, headers, body, deadline), (Broken,)
            )
        except TimeoutError as exc:
            sent = isinstance(exc, AnswerTimedOut)
            raise TimedOut(str(exc) or "no connection in time", sent=sent) from exc
        except TooLarge:
            raise ResponseTooLarge(self._limit) from None
        except ConnectFailed as exc:
            raise Unreachable(str(exc)) from exc
        except Broken as exc:
            raise Unreachable(f"Broken: {exc}", sent=exc.sent) from exc

    async def _send_once(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes, deadline: float
    ) -> Reply:
        answer, _ = await self._pool.request(method, url, headers, body, deadline)
        return Reply(answer.status, answer.headers, answer.body)

    async def aclose(self) -> None:
        await self._pool.aclose()


_BROKEN_HTTPX = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class HttpxForwarder:
    def __init__(self, client: httpx.AsyncClient, limit: int) -> None:
        self._client = client
        self._limit = limit

    async def send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        limit_seconds: float | None = None,
    ) -> Reply:
        try:
            return await _once_more_if_idempotent(
                method,
                lambda: self._send_once(method, url, headers, body, limit_seconds),
                _BROKEN_HTTPX,
            )
        except httpx.ConnectError as exc:
            policy = "upstream policy" in str(exc)
            raise Unreachable(str(exc) if policy else type(exc).__name__) from exc
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TimedOut(type(exc).__name__) from exc  # nothing was sent
        except httpx.TimeoutException as exc:
            raise TimedOut(type(exc).__name__, sent=True) from exc
        except httpx.TransportError as exc:
            raise Unreachable(type(exc).__name__, sent=True) from exc

    async def _send_once(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        limit_seconds: float | None,
    ) -> Reply:
        async with self._client.stream(
            method,
            url,
            content=body or None,
            headers=headers,
            timeout=limit_seconds if limit_seconds is not None else httpx.USE_CLIENT_DEFAULT,
        ) as response:
            # Leaving this block with the body unread closes the connection (httpcore).
            encoded = response.headers.get("content-encoding", "identity").lower() != "identity"
            declared = response.headers.get("content-length", "")
            if not encoded and declared.isdigit() and int(declared) > self._limit:
                raise ResponseTooLarge(self._limit)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes(_CHUNK):  # decoded bytes
                size += len(chunk)
                if size > self._limit:
                    raise ResponseTooLarge(self._limit)
                chunks.append(chunk)
        return Reply(response.status_code, list(response.headers.items()), b"".join(chunks))

    async def aclose(self) -> None:
        await self._client.aclose()


def create_forwarder(
    settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None = None
) -> Forwarder:
    if transport is not None or settings.transport == "httpx":
        return HttpxForwarder(_httpx_client(settings, transport), settings.max_response_bytes)
    return Http1Forwarder(settings)


def _httpx_client(
    settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=512,
        max_keepalive_connections=256,
        keepalive_expiry=settings.upstream_keepalive_seconds,
    )
    return httpx.AsyncClient(
        transport=transport or guarded_transport(settings, limits),
        timeout=httpx.Timeout(
            settings.upstream_timeout_seconds, connect=settings.connect_timeout_seconds
        ),
        follow_redirects=False,
        trust_env=False,
    )
