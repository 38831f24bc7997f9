"""The audited exchange: one wrapper for every call a platform answers on someone's behalf.

Routed calls, documents, `/token` and the admin API all pass through `AuditedExchanges.answer`:
a message id (the caller's, checked, or a fresh one), refusal while the audit log cannot take
records, timing, body sizes and hashes, one `AuditEntry` committed before the answer leaves
(no exchange is answered unlogged), and the message id on the answer. Any failure, expected
or not, is answered as problem+json and audited like a success; routed calls (`wso2_faults`)
answer the refusals the real gateway makes as WSO2 faults instead, unless the caller asks for
problem+json (`Accept: application/problem+json`), and carry the sandbox's diagnosis in the
`X-Sandbox-Problem`/`X-Sandbox-Detail` headers and the journal either way. Observers (the
journal, the live metrics, the exchange log line) see every finished exchange: one stream.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from apikit import headers as h
from apikit.gateway_fault import FAULT_MEDIA_TYPE, XML_ACCEPTS, GatewayFault
from apikit.problems import ProblemError, as_problem, internal_error, problem_response
from contracts.audit import AuditEntry
from contracts.problem import PROBLEM_MEDIA_TYPE, FieldError, problem_type
from gateway.messagelog.audit import AuditLog, AuditNotCommitted

log = logging.getLogger(__name__)

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_READS = frozenset({"GET", "HEAD"})


def new_message_id() -> str:
    """32 random hex digits, as uuid4().hex reads, without building a UUID per call."""
    return os.urandom(16).hex()


def incoming_message_id(request: Request) -> str:
    """The caller's X-Message-Id (checked), or a fresh one."""
    given = request.headers.get(h.MESSAGE_ID)
    if given is None:
        return new_message_id()
    if not h.MESSAGE_ID_FORMAT.match(given):
        raise ProblemError(
            400,
            "invalid-message-id",
            "Invalid message id",
            f"{h.MESSAGE_ID} must be 1-128 characters of letters, digits and . _ : -",
            errors=[FieldError(field=f"$.headers.{h.MESSAGE_ID}", reason="invalid format")],
        )
    return given


@dataclass(slots=True)
class Exchange:
    """What is known of one exchange while it is being answered; handlers fill it in."""

    message_id: str
    method: str
    path: str
    started: float
    service: str | None = None
    version: str | None = None
    consumer: str | None = None
    origin_consumer: str | None = None
    request_bytes: int = 0
    request_hash: str = EMPTY_SHA256
    # Off for exchanges that carry secrets (token requests): not even their hashes are kept.
    keep_hashes: bool = True
    outcome: str = "ok"
    # Diagnostics for the developer's journal, never stored in the audit log.
    closest: str | None = None
    detail: str | None = None

    def note_caller(self, consumer: str, origin: str | None = None) -> None:
        self.consumer = consumer
        self.origin_consumer = origin or consumer

    def note_body(self, body: bytes) -> None:
        self.request_bytes = len(body)
        self.request_hash = hashlib.sha256(body).hexdigest()


# Sees every finished exchange; runs on the request path, so it must be cheap and not raise.
ExchangeObserver = Callable[[AuditEntry, Exchange], None]
Handler = Callable[[Exchange], Awaitable[Response]]


class AuditedExchanges:
    def __init__(self, platform: str, audit: AuditLog) -> None:
        self._platform = platform
        self._audit = audit
        self.observers: list[ExchangeObserver] = []

    def _refuse_unless_loggable(self) -> None:
        if not self._audit.accepting:
            raise ProblemError(
                503,
                "audit-unavailable",
                "Exchange refused: it cannot be logged",
                f"{self._platform} cannot write its audit log right now, and no exchange "
                "passes unlogged. Retry shortly.",
                headers={"Retry-After": "1"},
            )

    async def answer(
        self,
        request: Request,
        handler: Handler,
        *,
        service: str | None = None,
        reads: bool = True,
        wso2_faults: bool = False,
    ) -> Response:
        """Run `handler` as one audited exchange; its answer, or the problem it raised.

        `reads=False` (the admin API): a successful GET changes nothing and is not recorded,
        so polling the audit log or the journal does not fill the log; refusals and every
        change still are.
        """
        read_only = not reads and request.method in _READS
        exchange = Exchange(
            message_id="",  # the caller's or a fresh one, checked first thing below
            method=request.method,
            path=request.scope["path"],
            started=time.perf_counter(),
            service=service,
        )
        try:
            exchange.message_id = incoming_message_id(request)
            if not read_only:
                self._refuse_unless_loggable()
            response = await handler(exchange)
        except Exception as exc:  # every answer is audited, an unexpected failure too
            exchange.message_id = exchange.message_id or new_message_id()
            problem = as_problem(exc)
            if problem is None:
                log.exception(
                    "%s %s failed (message %s)", request.method, exchange.path, exchange.message_id
                )
                problem = internal_error()
            exchange.outcome = problem.slug
            exchange.closest = problem.extra.get("closest")
            exchange.detail = problem.detail
            if wso2_faults and problem.fault is not None:
                response = _fault_or_problem(request, problem, exchange)
            else:
                response = problem_response(
                    problem.to_problem(exchange.message_id, instance=exchange.path),
                    problem.headers,
                )
        if not read_only or response.status_code >= 400:
            response = await self._finish(exchange, response)
        response.headers[h.MESSAGE_ID] = exchange.message_id
        return response

    async def _finish(self, exchange: Exchange, response: Response) -> Response:
        """Commit the record, then let the answer go; a 503 if it cannot be committed."""
        body: bytes = getattr(response, "body", b"")
        entry = AuditEntry(
            time=time.time(),
            platform=self._platform,
            message_id=exchange.message_id,
            consumer=exchange.consumer,
            origin_consumer=exchange.origin_consumer,
            service=exchange.service,
            version=exchange.version,
            method=exchange.method,
            path=exchange.path,
            status=response.status_code,
            duration_ms=(time.perf_counter() - exchange.started) * 1000,
            request_bytes=exchange.request_bytes,
            response_bytes=len(body),
            outcome=exchange.outcome,
            request_hash=exchange.request_hash if exchange.keep_hashes else "",
            response_hash=hashlib.sha256(body).hexdigest() if exchange.keep_hashes else "",
        )
        for observe in self.observers:
            observe(entry, exchange)
        try:
            await self._audit.commit(entry)
        except AuditNotCommitted:
            log.warning(
                "answering %s with 503: its audit record is not committed", entry.message_id
            )
            problem = ProblemError(
                503,
                "audit-unavailable",
                "Exchange not confirmed: it could not be logged in time",
                f"{self._platform} handled this exchange but could not commit its audit record "
                "in time; it will be written when the log recovers. Do not treat the exchange "
                "as done; retry shortly (with the same message id or idempotency key).",
                headers={"Retry-After": "1"},
            )
            return problem_response(
                problem.to_problem(exchange.message_id, instance=exchange.path), problem.headers
            )
        return response


def _wants_problem(request: Request) -> bool:
    return PROBLEM_MEDIA_TYPE in request.headers.get("accept", "").lower()


def _header_safe(text: str, limit: int = 512) -> str:
    # A header value is printable ASCII here: details quote paths, which may carry control
    # characters, and name Vietnamese services now and then.
    flat = " ".join(text.split())
    return "".join(c if " " <= c <= "~" else ascii(c)[1:-1] for c in flat[:limit])[:limit]


def _fault_or_problem(request: Request, problem: ProblemError, exchange: Exchange) -> Response:
    """The refusal as WSO2 sends it, or as problem+json for a caller that asks for that."""
    fault = problem.fault
    assert fault is not None
    diagnosis = {
        h.SANDBOX_PROBLEM: problem_type(problem.slug),
        h.SANDBOX_DETAIL: _header_safe(problem.detail),
    }
    if _wants_problem(request):
        return problem_response(
            problem.to_problem(exchange.message_id, instance=exchange.path),
            {**problem.headers, **diagnosis},
        )
    # The problem's own headers (Allow, Retry-After) stay: they do not change the body.
    headers = {**problem.headers, **fault.headers, **diagnosis}
    accept = request.headers.get("accept", "").strip().lower()
    if accept in XML_ACCEPTS and isinstance(fault, GatewayFault):
        return Response(
            fault.xml_body(),
            status_code=fault.status,
            media_type=f"{accept}; charset=UTF-8",
            headers=headers,
        )
    return Response(
        orjson.dumps(fault.body()),
        status_code=fault.status,
        media_type=FAULT_MEDIA_TYPE,
        headers=headers,
    )


def current_exchange(request: Request) -> Exchange | None:
    """The exchange an audited route is answering; None on the platform's unaudited routes."""
    found: Exchange | None = request.scope.get("gsp.exchange")
    return found


def audited_route(
    service: str | None, *, reads: bool = True, faults: bool = False
) -> type[APIRoute]:
    """A route class whose every call is an audited exchange under `service`."""

    class AuditedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            inner = super().get_route_handler()

            async def audited(request: Request) -> Response:
                exchanges: AuditedExchanges = request.state.exchanges

                async def handle(exchange: Exchange) -> Response:
                    request.scope["gsp.exchange"] = exchange
                    return await inner(request)

                return await exchanges.answer(
                    request, handle, service=service, reads=reads, wso2_faults=faults
                )

            return audited

    return AuditedRoute
