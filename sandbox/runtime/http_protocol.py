"""uvicorn's HTTP protocol with a deadline for request headers, and answers in one write.

A deadline for request headers (a slowloris defence): uvicorn times out idle keep-alive
connections, but not a connection that never sends a request, nor one that sends its
headers a byte at a time: either holds a socket (and a file descriptor) for ever. Here every
request's headers must be complete within `header_timeout` seconds of the connection
opening, or of the request's first byte on a kept-alive connection; otherwise the client
gets 408 and the connection is closed. Bodies are bounded by the apps themselves (size and
time), so the deadline ends with the headers.

An idle keep-alive connection is not closed while the client's next request sits unread in
its socket (the idle timer of a busy loop fires late; closing would lose a request the client
already sent).

One write per answer: uvicorn writes an answer's status line and headers, then its body, as
two writes, two system calls and two TCP segments, each waking the client. The head is held
until the body's first write and sent with it; a streamed answer whose body comes later
still gets its head at the end of the loop turn that wrote it.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from contracts.problem import PROBLEM_MEDIA_TYPE, Problem, problem_type


def _timed_out() -> bytes:
    problem = Problem(
        type=problem_type("request-timeout"),
        title="Request headers too slow",
        status=408,
        detail="The request's headers did not arrive in time; the connection is closed.",
    )
    body = problem.model_dump_json(exclude_none=True).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        f"content-type: {PROBLEM_MEDIA_TYPE}\r\n"
        "connection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


_TIMED_OUT = _timed_out()


class _HeadWithBody:
    """The transport as one answer writes to it: its first write (the head) waits for the next."""

    __slots__ = ("_held", "_loop", "_started", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._started = False

    def write(self, data: bytes) -> None:
        if not self._started:
            self._started = True
            self._held = data
            self._loop.call_soon(self._release)
            return
        held = self._held
        if held is not None:
            self._held = None
            self._transport.writelines((held, data))
            return
        self._transport.write(data)

    def _release(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self._release()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def bounded_protocol(header_timeout: float) -> type[HttpToolsProtocol]:
    """The protocol class to give uvicorn.Config(http=...)."""

    class HeaderDeadlineProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.write(_TIMED_OUT)
                self.transport.close()

        # uvicorn's signature narrows asyncio.Protocol's BaseTransport to Transport (and
        # ignores the override itself); this one keeps uvicorn's.
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._header_timer is None:  # a further request on a kept-alive connection
                self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()
            # The cycle uvicorn just made for this request writes through the holder.
            self.cycle.transport = cast(asyncio.Transport, _HeadWithBody(self.transport, self.loop))

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def timeout_keep_alive_handler(self) -> None:
            # The idle timer fires on the loop's turn, which on a busy loop comes late: the
            # client's next request may already be in the socket, unread. Closing then loses
            # it (the client sees the connection drop, and must not repeat a POST); it is
            # read instead, and the header deadline bounds it like any request.
            if not self.transport.is_closing() and unread_bytes_waiting(self.transport):
                return
            super().timeout_keep_alive_handler()

    return HeaderDeadlineProtocol


def unread_bytes_waiting(transport: asyncio.BaseTransport) -> bool:
    """Whether the connection's socket holds received bytes not yet read (peeked, not taken)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    try:
        # A duplicate of the descriptor: the transport's own socket object refuses recv.
        with socket.fromfd(sock.fileno(), socket.AF_INET, socket.SOCK_STREAM) as peek:
            return len(peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)) > 0
    except OSError:  # nothing waiting (EAGAIN), or the socket is gone
        return False
