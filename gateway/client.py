"""The httpx client a platform uses off the hot path: health checks and upstream tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

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


def create_client(
    settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """`transport` is the test seam."""
    inner = transport or httpx.AsyncHTTPTransport(
        # Below the back end's keep-alive (uvicorn: 5 s, httpx's own default is also 5 s),
        # so a health check never picks a connection the back end is closing.
        limits=httpx.Limits(keepalive_expiry=settings.upstream_keepalive_seconds),
        trust_env=False,
    )
    return httpx.AsyncClient(
        transport=CappedTransport(inner, settings.max_response_bytes),
        timeout=httpx.Timeout(
            settings.upstream_timeout_seconds, connect=settings.connect_timeout_seconds
        ),
        headers={"Accept-Encoding": "identity"},
        follow_redirects=False,
        trust_env=False,
    )
