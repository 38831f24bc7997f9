"""Serve several nodes' apps on their own ports from one event loop.

Both the node process (one or more nodes) and the in-process test harness use this, so
tests exercise the same servers, on real sockets, that the launcher starts.

A node given a TLS listener (the platforms) serves the same app on a second port over
HTTPS: one uvicorn server, one app and one lifespan, two listening sockets, so a call over
HTTPS meets exactly what a call over HTTP does (the same stores, tokens and counters).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import errno
import logging
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from sandbox.runtime.http_protocol import bounded_protocol
from sandbox.runtime.logformat import current_node
from sandbox.topology.addresses import ephemeral_range

log = logging.getLogger(__name__)

# How long a node keeps an idle client connection open. Longer than the idle time common
# clients keep a pooled connection (httpx: 5 s, uvicorn's own default here too): when both
# are equal, a client sends its next request on a connection the node is closing at that
# instant, and loses it (a POST it must not repeat). nginx keeps 75 s, WSO2's gateway 60 s.
SERVER_KEEPALIVE_SECONDS = 30


@dataclass(frozen=True)
class TlsListener:
    """Where and with what a node serves HTTPS."""

    port: int
    context: ssl.SSLContext


class _Server(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        tls: list[tuple[socket.socket, ssl.SSLContext]],
        handshake_timeout: float,
    ) -> None:
        super().__init__(config)
        self._tls = tls
        self._handshake_timeout = handshake_timeout
        self.serving = False  # every listener accepts (uvicorn's `started`: the HTTP one)

    # Signals belong to whoever owns the process (the node runner or pytest), not to
    # each of the many servers sharing its loop.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        config = self.config

        def create_protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            # What uvicorn builds for its own listeners: the same state, app and lifespan.
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
                _loop=_loop,
            )

        loop = asyncio.get_running_loop()
        for sock, context in self._tls:
            server = await loop.create_server(
                create_protocol,
                sock=sock,
                ssl=context,
                backlog=config.backlog,
                # A client that connects and never finishes its handshake is dropped as
                # one that never sends its headers is (the header deadline starts after).
                ssl_handshake_timeout=self._handshake_timeout,
            )
            self.servers.append(server)  # closed with uvicorn's own at shutdown
        self.serving = True


class PortTaken(OSError):
    """A node's port taken at bind time, after `up` found it free."""


def bind_socket(host: str, port: int) -> socket.socket:
    # proto named: asyncio sets TCP_NODELAY only on connections of a socket whose proto is
    # IPPROTO_TCP; with 0, Nagle holds each keep-alive answer ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
            raise
        low, high = ephemeral_range()
        why = (
            f" ({port} is in the kernel's ephemeral range {low}–{high}, where any program's "
            "outgoing connection can take it: choose a --port-offset that keeps every node "
            "below it)"
            if low <= port <= high
            else ""
        )
        raise PortTaken(
            exc.errno, f"cannot listen on {host}:{port}: the port is taken{why}"
        ) from None
    sock.set_inheritable(True)
    return sock


class NodeHost:
    """Starts and stops named nodes; each start builds a fresh app, like a new process."""

    def __init__(
        self,
        build: Callable[[str], FastAPI],
        *,
        host: str = "127.0.0.1",
        log_level: str = "warning",
        header_timeout_seconds: float = 10.0,
        tls: Callable[[str], TlsListener | None] | None = None,
    ) -> None:
        self._build = build
        self._host = host
        self._log_level = log_level
        self._header_timeout = header_timeout_seconds
        self._protocol = bounded_protocol(header_timeout_seconds)
        self._tls = tls
        self._servers: dict[str, tuple[_Server, asyncio.Task[None]]] = {}

    def running(self, node: str) -> bool:
        return node in self._servers

    async def start(
        self,
        node: str,
        port: int,
        sock: socket.socket | None = None,
        tls_sock: socket.socket | None = None,
    ) -> None:
        """Serve `node` on `port` (or the bound `sock`), and over HTTPS if `tls` gives it a
        listener (on its port, or the bound `tls_sock`)."""
        if node in self._servers:
            raise RuntimeError(f"{node} is already running")
        listener = self._tls(node) if self._tls is not None else None
        sock = sock or bind_socket(self._host, port)
        secure: list[tuple[socket.socket, ssl.SSLContext]] = []
        if listener is not None:
            try:
                secure.append(
                    (tls_sock or bind_socket(self._host, listener.port), listener.context)
                )
            except OSError:
                sock.close()
                raise
        config = uvicorn.Config(
            self._build(node),
            log_level=self._log_level,
            # The process configures logging once (sandbox.runtime.logformat); uvicorn's own
            # dictConfig would replace those handlers with its plain-text ones.
            log_config=None,
            lifespan="on",
            access_log=False,
            # Nodes are reached directly, never through a proxy whose X-Forwarded-* headers
            # should be believed; and the middleware would wrap every call.
            proxy_headers=False,
            timeout_graceful_shutdown=5,
            timeout_keep_alive=SERVER_KEEPALIVE_SECONDS,
            http=self._protocol,
        )
        server = _Server(config, secure, self._header_timeout)
        # Every task of this server (connections, lifespan, health checks) inherits the
        # context it starts in, so its log records name this node, not the whole worker.
        context = contextvars.copy_context()
        context.run(current_node.set, node)
        task = asyncio.create_task(
            server.serve(sockets=[sock]), name=f"node:{node}", context=context
        )
        while not server.serving:
            if task.done():
                sock.close()
                for extra, _ in secure:
                    extra.close()
                try:
                    await task
                except SystemExit:  # uvicorn exits when the app's lifespan start-up fails
                    pass
                raise RuntimeError(f"{node} failed to start; its log says why")
            await asyncio.sleep(0.01)
        self._servers[node] = (server, task)

    async def stop(self, node: str) -> None:
        server, task = self._servers.pop(node)
        server.should_exit = True
        await task

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(n) for n in list(self._servers)))

    async def wait(self) -> None:
        """Until every server has stopped (a signal handler sets should_exit)."""
        await asyncio.gather(*(task for _, task in self._servers.values()))

    def request_exit(self) -> None:
        for server, _ in self._servers.values():
            server.should_exit = True
