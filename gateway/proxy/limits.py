"""Bounds on what a client may send before any handler runs."""

from __future__ import annotations

import asyncio
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apikit.problems import ProblemError, RaisedThroughFramework, problem_response
from gateway.proxy.inbound import body_too_slow, too_large


class HeaderLimit:
    """Refuse requests whose headers add up to more than `max_bytes` (431).

    The HTTP parser has no such bound of its own; without one a client could make every
    hop copy megabytes of headers.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(k) + len(v) + 4 for k, v in scope["headers"])
            if size > self.max_bytes:
                problem = ProblemError(
                    431,
                    "headers-too-large",
                    "Request headers too large",
                    f"Headers add up to {size} bytes; the limit is {self.max_bytes}.",
                ).to_problem(uuid.uuid4().hex, instance=scope.get("path"))
                await problem_response(problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Bound every body the platform's own API reads, in size and in time, as it arrives.

    FastAPI reads a route's body before it solves the route's dependencies, so without this a
    caller with no token could make `PUT /admin/...` read 256 MiB before the 401, or hold a
    connection open for ever with a slow body. The bound sits on `receive`: a declared length
    over the limit is refused before a byte is read, a body that grows past it or takes longer
    than `within_seconds` is cut off, and the problem raised reaches the route's own
    handling (audited where the route is). Routed calls bound their bodies themselves.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, document_max_bytes: int, within_seconds: float
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.document_max_bytes = document_max_bytes
        self.within_seconds = within_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        # Packages arrive at /documents and at the document axis endpoint (/vxp/sendEdoc).
        documents = path == "/documents" or path.startswith(("/documents/", "/vxp/"))
        limit = self.document_max_bytes if documents else self.max_bytes
        if path == "/documents/relay":
            limit *= 3  # a signed package is handed over twice: as the model and its bytes
        await self.app(scope, _bounded(receive, scope, limit, self.within_seconds), send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _bounded(receive: Receive, scope: Scope, limit: int, within: float) -> Receive:
    declared = _declared_length(scope)
    received = 0
    complete = False
    deadline: float | None = None

    async def bounded_receive() -> Message:
        nonlocal received, complete, deadline
        if complete:  # after the body, receive only tells of a disconnect: no bound applies
            return await receive()
        if declared is not None and declared > limit:
            raise RaisedThroughFramework(too_large(limit))
        loop = asyncio.get_running_loop()
        if deadline is None:
            deadline = loop.time() + within
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise RaisedThroughFramework(body_too_slow(within)) from None
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise RaisedThroughFramework(too_large(limit))
            complete = not message.get("more_body", False)
        return message

    return bounded_receive
