"""The hop's own HTTP/1.1 client against back ends that answer in every way HTTP allows.

Each back end is a real socket answering with fixed bytes, so the framing under test is
exactly what is written here: chunked, close-delimited, gzip, HEAD, 204, interim 100, and
the ways an answer can be wrong (too big declared, too big decoded, unknown coding, junk
after the answer). The pool's keep-alive, retry and address guarantees are tested for both
forwarders in test_upstream_safety.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import uvloop

from gateway.proxy.http1 import Broken, Http1Pool, TooLarge

pytestmark = pytest.mark.sockets

Reply = Callable[[bytes], bytes]  # the request's bytes -> what the back end writes


@asynccontextmanager
async def backend(reply: Reply, *, close_after: bool = False) -> AsyncIterator[list[bytes]]:
    """Answers each request with `reply(request)`; yields the requests received."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                request = head + (await reader.readexactly(length) if length else b"")
                seen.append(request)
                writer.write(reply(request))
                await writer.drain()
                if close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    seen.append(f"http://127.0.0.1:{port}".encode())  # the first entry: where it listens
    try:
        yield seen
    finally:
        server.close()
        await server.wait_closed()


def _pool(limit: int = 1024) -> Http1Pool:
    return Http1Pool(
        connect_timeout=2.0, keepalive_seconds=5.0, max_response_bytes=limit, allowed=[]
    )


def _fixed(text: bytes) -> Reply:
    return lambda _: text


async def _get(reply: Reply, *, method: str = "GET", limit: int = 1024, close: bool = False):  # type: ignore[no-untyped-def]
    async with backend(reply, close_after=close) as seen:
        pool = _pool(limit)
        try:
            answer, _ = await pool.request(method, f"{seen[0].decode()}/x?a=%3F", [], b"")
        finally:
            await pool.aclose()
        return answer, seen[1:]


async def test_the_request_is_written_once_with_its_own_framing() -> None:
    async with backend(_fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) as seen:
        pool = _pool()
        try:
            headers = [("Host", "evil"), ("Content-Length", "99"), ("X-A", "1")]
            answer, pooled = await pool.request(
                "POST", f"{seen[0].decode()}/p?q=%2F", headers, b"{}"
            )
            again, pooled_again = await pool.request("GET", f"{seen[0].decode()}/g", [], b"")
        finally:
            await pool.aclose()
    request = seen[1]
    assert request.startswith(b"POST /p?q=%2F HTTP/1.1\r\n")  # the query as written
    assert b"Host: evil" not in request and b"Content-Length: 99" not in request
    assert b"Content-Length: 2\r\n" in request and b"X-A: 1\r\n" in request
    assert request.endswith(b"\r\n\r\n{}")
    assert (answer.status, answer.body, pooled) == (200, b"ok", False)
    assert (again.body, pooled_again) == (b"ok", True)  # the same connection, kept alive


async def test_a_header_that_would_split_the_request_is_refused() -> None:
    async with backend(_fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")) as seen:
        pool = _pool()
        try:
            with pytest.raises(ValueError, match="cannot be written"):
                await pool.request("GET", f"{seen[0].decode()}/", [("X", "a\r\nY: b")], b"")
        finally:
            await pool.aclose()
    assert seen[1:] == []


async def test_chunked_and_close_delimited_bodies() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    answer, _ = await _get(_fixed(chunked))
    assert answer.body == b"abcde"
    answer, _ = await _get(
        _fixed(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-close"), close=True
    )
    assert answer.body == b"until-close"


async def test_gzip_is_decoded_and_a_bomb_stops_at_the_cap() -> None:
    packed = gzip.compress(b"x" * 500)
    head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(packed)}\r\n\r\n"
    answer, _ = await _get(_fixed(head.encode() + packed))
    assert answer.body == b"x" * 500
    bomb = gzip.compress(b"\0" * 10_000_000)  # 10 MB from about 10 kB
    head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(bomb)}\r\n\r\n"
    with pytest.raises(TooLarge):
        await _get(_fixed(head.encode() + bomb), limit=64 * 1024)


async def test_an_unknown_coding_is_refused_not_passed_on_mislabelled() -> None:
    with pytest.raises(Broken, match="content coding"):
        await _get(_fixed(b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 1\r\n\r\nx"))


async def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    with pytest.raises(TooLarge):
        await _get(_fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 999999\r\n\r\n"), limit=1000)


async def test_head_204_and_an_interim_100() -> None:
    answer, _ = await _get(_fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"), method="HEAD")
    assert (answer.status, answer.body) == (200, b"")
    answer, _ = await _get(_fixed(b"HTTP/1.1 204 No Content\r\n\r\n"))
    assert (answer.status, answer.body) == (204, b"")
    answer, _ = await _get(
        _fixed(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nk")
    )
    assert (answer.status, answer.body) == (201, b"k")


async def test_junk_after_the_answer_means_the_connection_is_not_reused() -> None:
    reply = _fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nkHTTP/1.1 200 OK\r\n")
    async with backend(reply) as seen:
        pool = _pool()
        try:
            first, _ = await pool.request("GET", f"{seen[0].decode()}/a", [], b"")
            second, pooled = await pool.request("GET", f"{seen[0].decode()}/b", [], b"")
        finally:
            await pool.aclose()
    assert (first.body, second.body, pooled) == (b"k", b"k", False)


async def test_an_invalid_answer_is_broken() -> None:
    with pytest.raises(Broken, match="invalid answer"):
        await _get(_fixed(b"NOT HTTP AT ALL\r\n\r\n"))


async def test_the_same_under_uvloop_the_loop_platforms_run_on() -> None:
    """uvloop's transports are not asyncio's classes: a round trip on its own loop."""

    async def round_trip() -> list[bytes]:
        reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
        async with backend(_fixed(reply)) as seen:
            pool = _pool()
            try:
                bodies = []
                for path in ("/a", "/b"):
                    answer, _ = await pool.request("GET", f"{seen[0].decode()}{path}", [], b"")
                    bodies.append(answer.body)
            finally:
                await pool.aclose()
        return bodies

    assert await asyncio.to_thread(uvloop.run, round_trip()) == [b"ok", b"ok"]


async def test_past_the_deadline_the_call_fails_and_its_connection_goes() -> None:
    connections: list[int] = []
    ended = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        await reader.readuntil(b"\r\n\r\n")  # the request; never an answer
        await reader.read()  # until the client gives the connection up
        ended.set()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/slow"
    pool = _pool()
    try:
        deadline = asyncio.get_running_loop().time() + 0.2
        with pytest.raises(TimeoutError):
            await pool.request("GET", url, [], b"", deadline)
        await asyncio.wait_for(ended.wait(), 5)  # closed by the client, not kept for later
        with pytest.raises(TimeoutError):
            await pool.request("GET", url, [], b"", asyncio.get_running_loop().time() + 0.2)
    finally:
        await pool.aclose()
        server.close()
        await server.wait_closed()
    assert len(connections) == 2  # the second call had a connection of its own


async def test_calls_to_one_back_end_in_flight_at_once_are_bounded() -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    async with backend(_fixed(reply)) as seen:
        pool = Http1Pool(
            connect_timeout=2.0,
            keepalive_seconds=5.0,
            max_response_bytes=1024,
            allowed=[],
            max_in_flight_per_origin=3,
        )
        try:
            answers = await asyncio.gather(
                *(pool.request("GET", f"{seen[0].decode()}/{i}", [], b"") for i in range(12))
            )
        finally:
            await pool.aclose()
    assert [a.body for a, _ in answers] == [b"ok"] * 12
    # At most three connections were ever open: the other nine calls reused them.
    assert sum(1 for _, pooled in answers if not pooled) <= 3
