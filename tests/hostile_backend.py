"""A back end that misbehaves on purpose, over a real socket: what a platform must survive.

Raw asyncio rather than uvicorn, because the faults are below HTTP: a connection closed or
reset just as a pooled request arrives, a body far over any sane size.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

Fault = Literal["none", "close-second", "reset-second", "huge", "huge-declared"]


@dataclass
class HostileBackend:
    """`fault` applies per connection: *-second faults hit the second request on a connection
    (a pooled one), so the first call opens it cleanly and the next one finds it broken."""

    fault: Fault = "none"
    keep_alive_header: str | None = None
    huge_bytes: int = 256 * 1024 * 1024
    connections: int = 0
    closed: int = 0  # connections this back end is done with
    requests: list[str] = field(default_factory=list)  # "METHOD /path", in arrival order
    bytes_sent: int = 0
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                if length:
                    await reader.readexactly(length)
                self.requests.append(f"{method} {path}")
                served += 1
                if served == 2 and self.fault == "close-second":
                    return  # closed without an answer, as a back end ending an idle connection
                if served == 2 and self.fault == "reset-second":
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                if self.fault in ("huge", "huge-declared") and path.endswith("/huge"):
                    await self._huge(writer, declared=self.fault == "huge-declared")
                    return
                await self._answer(writer, b'{"ok": true}')
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            self.closed += 1
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, writer: asyncio.StreamWriter, body: bytes) -> None:
        extra = f"Keep-Alive: {self.keep_alive_header}\r\n" if self.keep_alive_header else ""
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n{extra}\r\n".encode()
            + body
        )
        await writer.drain()

    async def _huge(self, writer: asyncio.StreamWriter, *, declared: bool) -> None:
        head = f"Content-Length: {self.huge_bytes}" if declared else "Transfer-Encoding: chunked"
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n{head}\r\n\r\n".encode())
        chunk = b"x" * (1024 * 1024)
        framed = chunk if declared else b"%x\r\n%s\r\n" % (len(chunk), chunk)
        while self.bytes_sent < self.huge_bytes:
            writer.write(framed)
            await writer.drain()  # blocks while the reader does not read: no runaway buffer
            self.bytes_sent += len(chunk)
        if not declared:
            writer.write(b"0\r\n\r\n")
            await writer.drain()


@contextlib.asynccontextmanager
async def hostile_backend(**kwargs: object) -> AsyncIterator[HostileBackend]:
    backend = HostileBackend(**kwargs)  # type: ignore[arg-type]
    backend.server = await asyncio.start_server(backend._handle, "127.0.0.1", 0)
    try:
        yield backend
    finally:
        backend.server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await backend.server.wait_closed()
