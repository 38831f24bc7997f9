"""The httpx client a platform uses off the hot path: health checks and upstream tokens."""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator, Iterable, Sequence

import httpcore
import httpx

from gateway.proxy.upstream_policy import IPNetwork, address_refusal, resolve
from gateway.settings import GatewaySettings


class ResponseTooLarge(httpx.RemoteProtocolError):
    """A transport error, so every caller's handling of a broken back end applies to it."""


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self._inner:
            size += len(chunk)
            if size > self._limit:
                raise ResponseTooLarge(f"response over {self._limit} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()  # unread: httpcore closes the connection, not pools it


class CappedTransport(httpx.AsyncBaseTransport):
    """Reads no answer past `limit` bytes on the wire (what a client that reads the whole
    body would otherwise hold in memory); `Accept-Encoding: identity` keeps the two close."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._limit:
            await response.aclose()
            raise ResponseTooLarge(f"response of {declared} bytes, over {self._limit}")
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _CappedStream(response.stream, self._limit)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves a host itself, refuses it if any address is one the upstream policy refuses,
    and connects to the address it checked: a name rebound after registration (DNS
    rebinding) to a metadata or link-local address is not reached."""

    def __init__(
        self, inner: httpcore.AsyncNetworkBackend, allowed: Sequence[IPNetwork], within: float
    ) -> None:
        self._inner = inner
        self._allowed = allowed
        self._within = within

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port, min(self._within, timeout or self._within))
        except (OSError, TimeoutError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        for address in addresses:
            reason = address_refusal(address, self._allowed)
            if reason is not None:
                raise httpcore.ConnectError(f"refused by the upstream policy: {reason}")
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host}: no address")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process, as httpx builds it (certifi's CA bundle).

    Building one reads the whole CA bundle, about 30 ms; every client of every node made its
    own, most never used (the sandbox's hops are plain HTTP). The zygote builds this one
    before forking, so every node shares it.
    """
    return httpx.create_ssl_context()


def guarded_transport(settings: GatewaySettings, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's own transport, its connections made through GuardedBackend."""
    transport = httpx.AsyncHTTPTransport(verify=tls_context(), limits=limits, trust_env=False)
    pool = transport._pool  # httpx takes no network backend; its pool does (httpcore)
    pool._network_backend = GuardedBackend(
        pool._network_backend,
        settings.upstream_allowed_networks,
        settings.upstream_resolve_timeout_seconds,
    )
    return transport


def create_client(
    settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """`transport` is the test seam."""
    # Below the back end's keep-alive (uvicorn: 5 s, httpx's own default is also 5 s), so a
    # health check never picks a connection the back end is closing.
    limits = httpx.Limits(keepalive_expiry=settings.upstream_keepalive_seconds)
    inner = transport or guarded_transport(settings, limits)
    return httpx.AsyncClient(
        transport=CappedTransport(inner, settings.max_response_bytes),
        timeout=httpx.Timeout(
            settings.upstream_timeout_seconds, connect=settings.connect_timeout_seconds
        ),
        headers={"Accept-Encoding": "identity"},
        follow_redirects=False,
        trust_env=False,
    )
