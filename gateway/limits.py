"""Bounds on what a client may send before any handler runs."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from apikit.problems import ProblemError, problem_response


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
                ).to_problem(None, instance=scope.get("path"))
                await problem_response(problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)
