"""AuditedRoute: platform API routes whose every call is an audited exchange.

Document sends, relays and statuses carry citizens' and agencies' business just as routed
calls do, so they get the same treatment: a message id, refusal when the audit log cannot
take the record, and one audit record per call (sizes and hashes, never bodies).
Handlers note who called and what they sent on `request.state`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from apikit import headers as h
from apikit.problems import as_problem, render
from gateway.audit import AuditEntry
from gateway.exchange import incoming_message_id, refuse_unless_loggable
from gateway.state import platform_of

_EMPTY = hashlib.sha256(b"").hexdigest()


def note_body(request: Request, body: bytes) -> None:
    request.state.request_bytes = len(body)
    request.state.request_hash = hashlib.sha256(body).hexdigest()


class AuditedRoute(APIRoute):
    service = "documents"

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()
        service = self.service

        async def audited(request: Request) -> Response:
            started = time.perf_counter()
            state = platform_of(request)
            message_id = None
            outcome = "ok"
            try:
                message_id = request.state.message_id = incoming_message_id(request)
                refuse_unless_loggable(state)
                response = await inner(request)
            except Exception as exc:
                problem = as_problem(exc)
                if problem is None:
                    raise
                outcome = problem.slug
                response = render(problem, request)
            if message_id is None:
                return response
            response.headers[h.MESSAGE_ID] = message_id
            body = getattr(response, "body", b"")
            state.audit.record(
                AuditEntry(
                    time=time.time(),
                    platform=state.spec.name,
                    message_id=message_id,
                    consumer=getattr(request.state, "consumer_id", None),
                    origin_consumer=getattr(request.state, "consumer_id", None),
                    service=service,
                    version=None,
                    method=request.method,
                    path=request.url.path,
                    status=response.status_code,
                    duration_ms=(time.perf_counter() - started) * 1000,
                    request_bytes=getattr(request.state, "request_bytes", 0),
                    response_bytes=len(body),
                    outcome=outcome,
                    request_hash=getattr(request.state, "request_hash", _EMPTY),
                    response_hash=hashlib.sha256(body).hexdigest(),
                )
            )
            return response

        return audited
