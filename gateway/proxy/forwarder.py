"""Sending one routed call to the next hop: the hot path's only outbound I/O.

Two implementations behind one small interface: raw aiohttp (the default: on this kind of
machine it proxies a small JSON call at several times the throughput of httpx's own async
transport) and httpx (whose transports are the test seam, e.g. httpx.MockTransport).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from weakref import WeakKeyDictionary

import aiohttp
import httpx
from aiohappyeyeballs import AddrInfoType
from aiohttp.client_proto import ResponseHandler
from aiohttp.client_reqrep import ConnectionKey
from aiohttp.connector import Connection
from aiohttp.tracing import Trace
from yarl import URL

from apikit.problems import ProblemError
from gateway.proxy.client import guarded_transport
from gateway.proxy.upstream_policy import IPNetwork, connect_refusal
from gateway.settings import GatewaySettings

# RFC 9110 9.2.2: these are sent once more when the connection breaks before the whole answer
# came (a pooled one the back end had just closed, or a reset); POST and PATCH never are,
# since the back end may have acted on the first.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# A pooled connection is given up this long before the idle time its back end announces
# (`Keep-Alive: timeout=N`), so the two never close and reuse it in the same instant.
KEEPALIVE_MARGIN_SECONDS = 1.0
_CHUNK = 64 * 1024
_KEEPALIVE_TIMEOUT = re.compile(r"(?:^|,)\s*timeout\s*=\s*(\d+(?:\.\d+)?)", re.I)


@dataclass(slots=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Unreachable(Exception):
    """No answer could be had: refused, reset, no route."""


class TimedOut(Exception):
    """Connected, but the answer did not come in time."""


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
    for a method that may be repeated (never a POST or PATCH: it may have been acted on)."""
    try:
        return await attempt()
    except broken:
        if method.upper() not in IDEMPOTENT:
            raise
    return await attempt()


def announced_idle(value: str | None) -> float | None:
    """The idle time a back end's `Keep-Alive: timeout=N` allows, less the margin."""
    if value is None:
        return None
    match = _KEEPALIVE_TIMEOUT.search(value)
    if match is None:
        return None
    return float(match.group(1)) - KEEPALIVE_MARGIN_SECONDS


class _PoolConnector(aiohttp.TCPConnector):
    """A connector that also gives up a pooled connection past the idle time its back end
    announced (`Keep-Alive: timeout=`); aiohttp itself knows only its own keepalive_timeout."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.announced_idle: dict[tuple[str, int | None], float] = {}  # by (host, port)
        self._idle_since: WeakKeyDictionary[ResponseHandler, float] = WeakKeyDictionary()

    def _release(
        self, key: ConnectionKey, protocol: ResponseHandler, *, should_close: bool = False
    ) -> None:
        if (key.host, key.port) in self.announced_idle:
            self._idle_since[protocol] = time.monotonic()
        super()._release(key, protocol, should_close=should_close)

    async def _get(self, key: ConnectionKey, traces: list[Trace]) -> Connection | None:
        idle = self.announced_idle.get((key.host, key.port))
        while True:
            connection = await super()._get(key, traces)
            if idle is None or connection is None or connection.protocol is None:
                return connection
            since = self._idle_since.get(connection.protocol)
            if since is None or time.monotonic() - since < idle:
                return connection
            connection.close()


def _guarded_socket(allowed: Sequence[IPNetwork]) -> Callable[[AddrInfoType], socket.socket]:
    """aiohttp's socket factory: sees the very address each new connection goes to, after
    DNS, so a name rebound to a metadata or link-local address is refused here too."""

    def create(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        reason = connect_refusal(sockaddr, allowed)
        if reason is not None:
            raise OSError(f"refused by the upstream policy: {reason}")
        return socket.socket(family=family, type=type_, proto=proto)

    return create


class AiohttpForwarder:
    def __init__(self, settings: GatewaySettings) -> None:
        self._connect_timeout = settings.connect_timeout_seconds
        self._limit = settings.max_response_bytes
        self._keepalive = settings.upstream_keepalive_seconds
        self._connector = _PoolConnector(
            limit=512,
            limit_per_host=256,
            force_close=False,
            keepalive_timeout=settings.upstream_keepalive_seconds,
            socket_factory=_guarded_socket(settings.upstream_allowed_networks),
        )
        self._session = aiohttp.ClientSession(
            connector=self._connector,
            timeout=aiohttp.ClientTimeout(
                total=settings.upstream_timeout_seconds,
                connect=settings.connect_timeout_seconds,
            ),
            auto_decompress=True,
            trust_env=False,
            # The platform forwards headers as they came; it adds none of its own.
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        )
        # aiohttp retries idempotent calls itself, but only until the headers arrive; the
        # one retry lives in send() instead, covering the body too, so no call goes 3 times.
        self._session._retry_connection = False

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
                _BROKEN_AIOHTTP,
            )
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TimedOut(type(exc).__name__) from exc
        except aiohttp.ClientError as exc:
            raise Unreachable(_describe(exc)) from exc

    async def _send_once(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        limit_seconds: float | None,
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
                payload = await self._read_capped(response)
                self._note_keep_alive(response)
                return Reply(response.status, list(response.headers.items()), payload)
        except aiohttp.ClientOSError as exc:
            if isinstance(exc, aiohttp.ClientConnectorError):
                raise  # never connected: nothing was sent, nothing to retry
            raise _ResetError(*exc.args) from exc

    def _note_keep_alive(self, response: aiohttp.ClientResponse) -> None:
        idle = announced_idle(response.headers.get("Keep-Alive"))
        if idle is None or idle >= self._keepalive:
            return
        origin = (response.url.host or "", response.url.port)
        if self._connector.announced_idle.get(origin) != idle:
            self._connector.announced_idle[origin] = idle

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self._limit
        encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
        declared = response.content_length
        if not encoded and declared is not None:
            if declared > limit:
                response.close()
                raise ResponseTooLarge(limit)
            return await response.read()  # the parser stops at the declared length
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(_CHUNK):  # decoded bytes
            size += len(chunk)
            if size > limit:
                response.close()  # the connection goes, not back to the pool
                raise ResponseTooLarge(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def _timeouts(self, total: float | None) -> aiohttp.ClientTimeout | None:
        if total is None:
            return None  # the session's default
        return aiohttp.ClientTimeout(total=total, connect=self._connect_timeout)

    async def aclose(self) -> None:
        await self._session.close()


class _ResetError(aiohttp.ClientOSError):
    """An established connection failed mid-call (reset, broken pipe)."""


_BROKEN_AIOHTTP = (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, _ResetError)
_BROKEN_HTTPX = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


def _describe(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError) and "upstream policy" in str(exc.os_error):
        return str(exc.os_error)
    return type(exc).__name__


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
        except httpx.TimeoutException as exc:
            raise TimedOut(type(exc).__name__) from exc
        except httpx.TransportError as exc:
            raise Unreachable(type(exc).__name__) from exc

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
    return AiohttpForwarder(settings)


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
