"""Serve several nodes' apps on their own ports from one event loop.

Both the node process (one or more nodes) and the in-process test harness use this, so
tests exercise the same servers, on real sockets, that the launcher starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import socket
from collections.abc import Callable, Iterator

import uvicorn
from fastapi import FastAPI

from sandbox.http_protocol import bounded_protocol
from sandbox.logformat import current_node

log = logging.getLogger(__name__)

# How long a node keeps an idle client connection open. Longer than the idle time common
# clients keep a pooled connection (httpx: 5 s, uvicorn's own default here too): when both
# are equal, a client sends its next request on a connection the node is closing at that
# instant, and loses it (a POST it must not repeat). nginx keeps 75 s, WSO2's gateway 60 s.
SERVER_KEEPALIVE_SECONDS = 30


class _Server(uvicorn.Server):
    # Signals belong to whoever owns the process (the node runner or pytest), not to
    # each of the many servers sharing its loop.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind_socket(host: str, port: int) -> socket.socket:
    # proto named: asyncio sets TCP_NODELAY only on connections of a socket whose proto is
    # IPPROTO_TCP; with 0, Nagle holds each keep-alive answer ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
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
    ) -> None:
        self._build = build
        self._host = host
        self._log_level = log_level
        self._protocol = bounded_protocol(header_timeout_seconds)
        self._servers: dict[str, tuple[_Server, asyncio.Task[None]]] = {}

    def running(self, node: str) -> bool:
        return node in self._servers

    async def start(self, node: str, port: int, sock: socket.socket | None = None) -> None:
        if node in self._servers:
            raise RuntimeError(f"{node} is already running")
        sock = sock or bind_socket(self._host, port)
        config = uvicorn.Config(
            self._build(node),
            log_level=self._log_level,
            # The process configures logging once (sandbox.logformat); uvicorn's own
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
        server = _Server(config)
        # Every task of this server (connections, lifespan, health checks) inherits the
        # context it starts in, so its log records name this node, not the whole worker.
        context = contextvars.copy_context()
        context.run(current_node.set, node)
        task = asyncio.create_task(
            server.serve(sockets=[sock]), name=f"node:{node}", context=context
        )
        while not server.started:
            if task.done():
                sock.close()
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
