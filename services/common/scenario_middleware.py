"""Acting out the scenario a call names in X-Sandbox-Scenario, for every back end at once.

Pure ASGI: a call without the header costs one scan of its header list. With it, the
middleware finds the contract operation the call is for, then answers the canned problem,
holds the answer back, or rewrites the operation's real answer — and says which scenario
it played in the answer's own X-Sandbox-Scenario header.
"""

from __future__ import annotations

import asyncio
import re

import orjson
from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apikit.headers import SANDBOX_SCENARIO
from apikit.problems import ProblemError, render
from services.common.scenarios import Chosen, ScenarioBook, contract_operations

_HEADER = SANDBOX_SCENARIO.lower().encode("latin-1")


def _header(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == _HEADER:
            text: str = value.decode("latin-1").strip()
            return text or None
    return None


def _pattern(template: str) -> re.Pattern[str]:
    """`/hoSo/{maHoSo}` -> a regex matching one path segment per parameter."""
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")


class ScenarioMiddleware:
    def __init__(self, app: ASGIApp, book: ScenarioBook, backend: FastAPI) -> None:
        self.app = app
        self.book = book
        self._backend = backend
        self._operations: list[tuple[str, str, re.Pattern[str]]] | None = None

    def _operation(self, scope: Scope) -> str | None:
        """`GET /hoSo/{maHoSo}` for a call to an operation of the back end's OpenAPI
        document; None for anything else (health checks, mailboxes, unknown paths: the app
        answers those as usual)."""
        if self._operations is None:  # built on the first call that names a scenario
            document = self._backend.openapi()
            self._operations = [
                (method, path, _pattern(path)) for method, path in contract_operations(document)
            ]
        for method, path, pattern in self._operations:
            if method == scope["method"] and pattern.match(scope["path"]):
                return f"{method} {path}"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = _header(scope) if scope["type"] == "http" else None
        operation = self._operation(scope) if raw is not None else None
        if raw is None or operation is None:
            await self.app(scope, receive, send)
            return
        try:
            chosen = self.book.choose(raw, operation)
        except ProblemError as refusal:
            await render(refusal, Request(scope))(scope, receive, send)
            return
        if chosen.delay > 0:
            await asyncio.sleep(chosen.delay)
        problem = chosen.problem()
        if problem is not None:
            await render(problem, Request(scope))(scope, receive, send)
            return
        await self.app(scope, receive, _Answer(send, chosen))


class _Answer:
    """Passes the operation's answer on, marked with the scenario; with a transform, the
    2xx JSON body is rewritten (buffered, as its length changes)."""

    def __init__(self, send: Send, chosen: Chosen) -> None:
        self._send = send
        self._chosen = chosen
        self._start: Message | None = None
        self._chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        transform = self._chosen.scenario.transform
        if message["type"] == "http.response.start":
            headers = MutableHeaders(raw=list(message["headers"]))
            headers.append(SANDBOX_SCENARIO, self._chosen.scenario.name)
            message = {**message, "headers": headers.raw}
            if transform is None or not 200 <= message["status"] < 300:
                await self._send(message)
            else:
                self._start = message
            return
        if self._start is None or message["type"] != "http.response.body":
            await self._send(message)
            return
        self._chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        assert transform is not None
        body = b"".join(self._chunks)
        headers = MutableHeaders(raw=self._start["headers"])
        if headers.get("content-type", "").startswith("application/json"):
            body = orjson.dumps(transform(orjson.loads(body)))
            headers["content-length"] = str(len(body))
        await self._send({**self._start, "headers": headers.raw})
        await self._send({"type": "http.response.body", "body": body})
