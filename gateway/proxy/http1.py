"""The hop's own HTTP/1.1 client: one request, one answer, over pooled keep-alive connections.

Why not a general client: on the routed path the platform's outbound call was a third of its
CPU with aiohttp (session, request and response objects, cookie and redirect machinery, a
timer per call), and a hop needs none of that. What it needs is small and fixed: write one
request in one `write`, read one answer with a size cap, keep the connection for the next
call while the back end would keep it, and never connect to an address the upstream policy
refuses. The parsing is llhttp's (through httptools, the parser uvicorn uses); only the
framing and the pool are here.

Guarantees kept from the general clients (and tested against both in test_upstream_safety):
- every new connection's address is checked after DNS (`connect_refusal`): a name rebound to
  a metadata or link-local address is refused at connect time;
- an answer over `max_response_bytes` is refused while it arrives (declared or counted,
  decoded size for gzip/deflate), and its connection is closed, not pooled;
- a pooled connection is given up before the idle time the back end announces
  (`Keep-Alive: timeout=N`, less a margin) and after the platform's own keep-alive;
- a call that breaks on a connection (closed, reset, answer cut short) raises `Broken`, which
  the forwarder retries once for idempotent methods only;
- gzip and deflate answers are decoded (the platform passes bodies on decoded), any other
  content coding is refused rather than passed on mislabelled.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
import time
import zlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import httptools

from gateway.proxy.client import tls_context
from gateway.proxy.upstream_policy import IPNetwork, connect_refusal

# A pooled connection is given up this long before the idle time its back end announces
# (`Keep-Alive: timeout=N`), so the two never close and reuse it in the same instant.
KEEPALIVE_MARGIN_SECONDS = 1.0
_KEEPALIVE_TIMEOUT = re.compile(r"(?:^|,)\s*timeout\s*=\s*(\d+(?:\.\d+)?)", re.I)
# Never written from what the caller sent: the connection's own framing is this client's.
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class ConnectFailed(Exception):
    """No connection could be made: refused, unreachable, or refused by the upstream policy.

    Nothing was sent, so nothing is retried by the caller.
    """


class Broken(Exception):
    """The connection failed during the call (closed, reset, invalid or cut-short answer).

    `sent`: whether the request had been handed to the connection. False (a pooled connection
    found closed before the write) means the back end cannot have seen it: any method may go
    once more. True means it may have been acted on.
    """

    def __init__(self, message: str, *, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent


class AnswerTimedOut(TimeoutError):
    """The call's deadline passed after the request was written: the back end may have acted
    on it. (A TimeoutError that is not this one came before anything was sent.)"""


class TooLarge(Exception):
    """The answer is over the cap; its connection is closed."""


def announced_idle(value: str | None) -> float | None:
    """The idle time a back end's `Keep-Alive: timeout=N` allows, less the margin."""
    if value is None:
        return None
    match = _KEEPALIVE_TIMEOUT.search(value)
    if match is None:
        return None
    return float(match.group(1)) - KEEPALIVE_MARGIN_SECONDS


@dataclass(slots=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(slots=True)
class _Origin:
    scheme: str
    host: str
    port: int
    # Calls in flight to this origin at once; more wait their turn (a burst cannot open
    # connections without bound to one back end).
    in_flight: asyncio.Semaphore
    idle: deque[_Connection] = field(default_factory=deque)
    # The back end's announced keep-alive less the margin, once it has said one.
    announced_idle: float | None = None


class _Connection(asyncio.Protocol):
    """One connection: the parser's callbacks fill the answer of the call in flight."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[Answer] | None = None
        self._head_only = False
        self._status = 0
        self._headers: list[tuple[str, str]] = []
        self._chunks: list[bytes] = []
        self._size = 0
        self._decoder: zlib._Decompress | None = None
        self._headers_done = False
        self._framed = False  # Content-Length or chunked: not "until the connection closes"
        self.reusable = False

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            # Bytes nobody asked for (or after an answer was given up): the connection is
            # not in a state to reuse.
            self._close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            # Either the answer is invalid, or a callback stopped reading (_Stop) after
            # settling the call: in both cases this connection is done.
            self._fail(Broken(f"invalid answer: {exc.__context__ or exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._headers_done and not self._framed and not self._head_only:
            # Body delimited by the close (RFC 9112 6.3, rule 8): the close completes it.
            self._complete(reusable=False)
            return
        self._fail(Broken(f"connection closed before the answer was complete: {exc or 'EOF'}"))

    # -- httptools callbacks -----------------------------------------------------------------

    def _unsolicited(self) -> None:
        if self._waiter is None or self._waiter.done():
            raise _Stop  # bytes after the answer: a back end out of step, not reused

    def on_message_begin(self) -> None:
        self._unsolicited()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._unsolicited()
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self._unsolicited()
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            # An interim answer (100 Continue, 103 Early Hints): the real one follows.
            self._headers = []
            return
        self._status = status
        self._headers_done = True
        length: int | None = None
        coding = "identity"
        for name, value in self._headers:
            lowered = name.lower()
            if lowered == "content-length":
                self._framed = True
                length = int(value) if value.strip().isdigit() else None
            elif lowered == "transfer-encoding":
                self._framed = True
            elif lowered == "content-encoding":
                coding = value.strip().lower()
        if status in (204, 304):
            self._framed = True
        if self._head_only:
            # A HEAD answer has no body whatever it declares; the parser cannot be told, so
            # the answer ends here and the connection is not reused.
            self._complete(reusable=False)
            raise _Stop
        if coding not in ("identity", ""):
            wbits = _DECODERS.get(coding)
            if wbits is None:
                self._fail(Broken(f"unsupported content coding {coding!r}"))
                raise _Stop
            self._decoder = zlib.decompressobj(wbits)
        elif length is not None and length > self._limit:
            self._fail(TooLarge())
            raise _Stop

    def on_body(self, body: bytes) -> None:
        self._unsolicited()
        if self._decoder is not None:
            # Decoded at most to the cap and one byte: a small bomb cannot inflate past it.
            body = self._decoder.decompress(body, self._limit - self._size + 1)
            if self._decoder.unconsumed_tail:
                self._fail(TooLarge())
                raise _Stop
        self._size += len(body)
        if self._size > self._limit:
            self._fail(TooLarge())
            raise _Stop
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        if not self._headers_done:
            return  # the end of an interim answer
        if self._decoder is not None:
            self._chunks.append(self._decoder.flush())
        # No _Stop here: the parser stays usable for the next answer on this connection.
        self._complete(reusable=self._parser.should_keep_alive())

    # -- one call ----------------------------------------------------------------------------

    def start(self, request: bytes, head_only: bool) -> asyncio.Future[Answer]:
        if self.transport is None or self.transport.is_closing():
            # Closed by the back end, the close not yet seen by this side: a broken pooled
            # connection like any other (an idempotent call goes once more).
            raise Broken("connection closed before the request was written", sent=False)
        self._waiter = asyncio.get_running_loop().create_future()
        self._head_only = head_only
        self._status = 0
        self._headers = []
        self._chunks = []
        self._size = 0
        self._decoder = None
        self._headers_done = False
        self._framed = False
        self.reusable = False
        try:
            self.transport.write(request)
        except (OSError, RuntimeError) as exc:  # uvloop raises on a handle it has closed
            raise Broken(f"the request could not be written: {exc}", sent=False) from exc
        return self._waiter

    def expire(self) -> None:
        """The call's deadline passed: its answer fails, and the connection goes."""
        self._fail(AnswerTimedOut("no answer in time"))

    def _complete(self, *, reusable: bool) -> None:
        waiter = self._waiter
        self.reusable = reusable and not self.closed
        if waiter is not None and not waiter.done():
            waiter.set_result(Answer(self._status, self._headers, b"".join(self._chunks)))

    def _fail(self, exc: Exception) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self._close()

    def _close(self) -> None:
        self.reusable = False
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.reusable = False
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class _Stop(Exception):
    """Raised from a parser callback to stop reading the rest of what arrived."""


class Http1Pool:
    """Keep-alive connections per origin; the most recently used is taken first."""

    def __init__(
        self,
        *,
        connect_timeout: float,
        keepalive_seconds: float,
        max_response_bytes: int,
        allowed: Sequence[IPNetwork],
        max_idle_per_origin: int = 256,
        max_in_flight_per_origin: int = 256,
    ) -> None:
        self._connect_timeout = connect_timeout
        self._keepalive = keepalive_seconds
        self._limit = max_response_bytes
        self._allowed = allowed
        self._max_idle = max_idle_per_origin
        self._max_in_flight = max_in_flight_per_origin
        self._origins: dict[tuple[str, str, int], _Origin] = {}
        self._ssl: ssl.SSLContext | None = None
        self._closed = False

    def _origin(self, scheme: str, host: str, port: int) -> _Origin:
        key = (scheme, host, port)
        origin = self._origins.get(key)
        if origin is None:
            in_flight = asyncio.Semaphore(self._max_in_flight)
            origin = self._origins[key] = _Origin(scheme, host, port, in_flight)
        return origin

    async def request(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        deadline: float | None = None,
    ) -> tuple[Answer, bool]:
        """The answer, and whether it came over a connection taken from the pool.

        `deadline` (the loop's clock) bounds the whole call: TimeoutError past it. A timer
        on the answer rather than a timeout scope around the call: one per call, on the hot
        path, and the connection is given up by the same hand that fails the answer.
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ConnectFailed(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if scheme == "https" else 80)
        origin = self._origin(scheme, parts.hostname, port)
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        host = parts.netloc.rpartition("@")[2]  # as the URL names it, port and brackets kept
        request = _request_bytes(method, target, host, headers, body)
        if deadline is not None and origin.in_flight.locked():
            async with asyncio.timeout_at(deadline):  # waiting for a turn counts, too
                await origin.in_flight.acquire()
        else:
            await origin.in_flight.acquire()
        try:
            return await self._exchange(origin, request, method, deadline)
        finally:
            origin.in_flight.release()

    async def _exchange(
        self, origin: _Origin, request: bytes, method: str, deadline: float | None
    ) -> tuple[Answer, bool]:
        connection, pooled = self._pooled(origin), True
        if connection is None:
            try:
                # No deadline: the connect timeout bounds resolving too, as it always did.
                async with (
                    asyncio.timeout(self._connect_timeout)
                    if deadline is None
                    else asyncio.timeout_at(deadline)
                ):
                    connection = await self._connect(origin)
            except TimeoutError:
                if deadline is None:
                    raise ConnectFailed(f"{origin.host} did not resolve in time") from None
                raise
            pooled = False
        timer = (
            None
            if deadline is None
            else asyncio.get_running_loop().call_at(deadline, connection.expire)
        )
        try:
            answer = await connection.start(request, head_only=method.upper() == "HEAD")
        except BaseException:
            # Cancelled, timed out, broken or too large: whatever is still arriving on it
            # belongs to nobody, so it goes.
            connection.abort()
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if connection.reusable and not self._closed:
            self._release(origin, connection, answer)
        else:
            connection.abort()
        return answer, pooled

    def _pooled(self, origin: _Origin) -> _Connection | None:
        now = time.monotonic()
        idle_limit = self._keepalive
        if origin.announced_idle is not None:
            idle_limit = min(idle_limit, origin.announced_idle)
        while origin.idle:
            connection = origin.idle.pop()
            if connection.closed or now - connection.idle_since >= idle_limit:
                connection.abort()
                continue
            return connection
        return None

    def _release(self, origin: _Origin, connection: _Connection, answer: Answer) -> None:
        for name, value in answer.headers:
            if name.lower() == "keep-alive":
                idle = announced_idle(value)
                if idle is not None and idle < self._keepalive:
                    origin.announced_idle = idle
                break
        if len(origin.idle) >= self._max_idle:
            connection.abort()
            return
        connection.idle_since = time.monotonic()
        origin.idle.append(connection)

    async def _connect(self, origin: _Origin) -> _Connection:
        """A new connection to `origin`; ConnectFailed when none could be made.

        `connect_timeout` bounds the TCP handshake, judged by the kernel's word on the
        socket, not by when this event loop got round to looking: on a loaded machine (or a
        loop shared by many nodes) the timer can fire after the handshake completed, and a
        live back end was answered "unreachable" (502s among 40 concurrent creates). Name
        resolution is bounded by the call's deadline (the caller's), not by that timer.
        """
        loop = asyncio.get_running_loop()
        try:
            infos = await _addresses(loop, origin.host, origin.port)
        except OSError as exc:
            raise ConnectFailed(f"{origin.host} did not resolve: {exc}") from None
        last: Exception | None = None
        for family, type_, proto, _, sockaddr in infos:
            reason = connect_refusal(sockaddr, self._allowed)
            if reason is not None:
                last = ConnectFailed(f"refused by the upstream policy: {reason}")
                continue
            sock = socket.socket(family, type_, proto)
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                await self._handshake(loop, sock, sockaddr)
            except (OSError, ConnectFailed) as exc:
                sock.close()
                last = exc
                continue
            except BaseException:
                sock.close()
                raise
            connection = _Connection(self._limit)
            tls = self._tls() if origin.scheme == "https" else None
            try:
                await loop.create_connection(
                    lambda connection=connection: connection,
                    sock=sock,
                    ssl=tls,
                    server_hostname=origin.host if tls is not None else None,
                )
            except OSError as exc:
                sock.close()
                raise ConnectFailed(f"{type(exc).__name__}: {exc}") from None
            except BaseException:
                sock.close()
                raise
            return connection
        if isinstance(last, ConnectFailed):
            raise last
        raise ConnectFailed(
            f"{type(last).__name__}: {last}" if last else f"{origin.host} did not resolve"
        )

    async def _handshake(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket, sockaddr: Any
    ) -> None:
        try:
            async with asyncio.timeout(self._connect_timeout):
                await loop.sock_connect(sock, sockaddr)
        except TimeoutError:
            if not _handshake_done(sock):
                raise ConnectFailed(
                    f"no connection to {sockaddr[0]}:{sockaddr[1]} within "
                    f"{self._connect_timeout:g} s"
                ) from None

    def _tls(self) -> ssl.SSLContext:
        # The process's one context (built on first use: most hops are plain HTTP).
        if self._ssl is None:
            self._ssl = tls_context()
        return self._ssl

    async def aclose(self) -> None:
        self._closed = True
        for origin in self._origins.values():
            while origin.idle:
                origin.idle.pop().abort()


def _request_bytes(
    method: str, target: str, host: str, headers: list[tuple[str, str]], body: bytes
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"]
    for name, value in headers:
        if name.lower() in _OWN_HEADERS:
            continue
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            raise ValueError(f"header {name!r} cannot be written")
        lines.append(f"{name}: {value}\r\n")
    if body or method.upper() in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}\r\n")
    lines.append("\r\n")
    head = "".join(lines).encode("latin-1")
    return head + body if body else head


async def _addresses(
    loop: asyncio.AbstractEventLoop, host: str, port: int
) -> list[tuple[Any, Any, Any, Any, Any]]:
    """Where `host` is, as getaddrinfo lists it; an address literal without a lookup (the
    sandbox's own hops): no turn in the resolver's thread pool, which a busy process fills."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return list(
            await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        )
    if address.version == 4:
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))]
    return [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port, 0, 0))]


def _handshake_done(sock: socket.socket) -> bool:
    """Whether the kernel completed this non-blocking connect (its peer is set, no error)."""
    try:
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
            return False
        sock.getpeername()
    except OSError:
        return False
    return True
