"""Slow or missing request headers time out with 408 instead of holding a socket for ever."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from sandbox.runtime.hosting import NodeHost
from tests.helpers import free_ports

pytestmark = pytest.mark.sockets

DEADLINE = 0.5


@pytest.fixture
async def port() -> AsyncIterator[int]:
    app = FastAPI()

    @app.get("/ok")
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    host = NodeHost(lambda _: app, header_timeout_seconds=DEADLINE)
    [found] = free_ports(["node"]).values()
    await host.start("node", found)
    try:
        yield found
    finally:
        await host.stop_all()


async def _answer(port: int, sent: bytes) -> bytes:
    """Send `sent`, stop, and read until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(sent)
        await writer.drain()
        async with asyncio.timeout(DEADLINE * 20):  # far past the deadline: it must close
            return await reader.read()
    finally:
        writer.close()


async def test_a_connection_that_never_sends_a_request_gets_408_and_is_closed(port: int) -> None:
    answer = await _answer(port, b"")
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"urn:gsp-sandbox:problem:request-timeout" in answer


async def test_headers_sent_a_byte_at_a_time_time_out(port: int) -> None:
    answer = await _answer(port, b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_a_whole_request_is_answered_and_the_next_one_on_the_connection_is_bounded_too(
    port: int,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        first = await reader.readuntil(b"}")
        assert first.startswith(b"HTTP/1.1 200 ")
        writer.write(b"GET /ok HTTP/1.1\r\nHos")  # the next request starts, then stalls
        await writer.drain()
        async with asyncio.timeout(DEADLINE * 20):
            second = await reader.read()
        assert second.startswith(b"HTTP/1.1 408 ")
    finally:
        writer.close()
