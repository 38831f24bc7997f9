"""The routed call: authenticate, authorize, forward one hop, answer, audit.

This is the hot path of a platform: no per-request connections, no database round trip
(the audit record is only enqueued), headers filtered in one pass.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import logging
import math
import re
import time
import uuid
from urllib.parse import unquote_to_bytes

import orjson
from starlette.requests import Request
from starlette.responses import Response

from apikit import headers as h
from apikit.problems import ProblemError, render
from contracts.faults import FaultAction, FaultRule
from contracts.problem import PROBLEM_MEDIA_TYPE, FieldError
from contracts.topology import Consumer, Role
from gateway import faults
from gateway.audit import AuditEntry
from gateway.auth import authenticate
from gateway.forwarder import Reply, TimedOut, Unreachable
from gateway.ratelimit import retry_after_header
from gateway.registry import Route
from gateway.state import PlatformState, platform_of
from gateway.validation import Operation

log = logging.getLogger(__name__)

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
# Never passed on: the caller's credentials are for this hop only, and identity headers
# are set by the platform itself so a consumer cannot impersonate another.
_STRIPPED = h.HOP_BY_HOP | {
    "authorization",
    "cookie",
    h.MESSAGE_ID.lower(),
    h.ORIGIN_CONSUMER.lower(),
    h.CONSUMER.lower(),
}
# The body is passed on decoded, so its encoding header must not be.
_RESPONSE_STRIPPED = h.HOP_BY_HOP | {"set-cookie", "server", "date", "content-encoding"}


_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def incoming_message_id(request: Request) -> str:
    given = request.headers.get(h.MESSAGE_ID)
    if given is None:
        return uuid.uuid4().hex
    if not _MESSAGE_ID.match(given):
        raise ProblemError(
            400,
            "invalid-message-id",
            "Invalid message id",
            f"{h.MESSAGE_ID} must be 1-128 characters of letters, digits and . _ : -",
            errors=[FieldError(field=f"$.headers.{h.MESSAGE_ID}", reason="invalid format")],
        )
    return given


def _bad_path(reason: str) -> ProblemError:
    return ProblemError(
        400,
        "invalid-path",
        "Invalid path",
        "Paths may not contain '.' or '..' segments, empty segments, encoded slashes, "
        "backslashes or NUL bytes, and must be UTF-8.",
        errors=[FieldError(field="$.path", reason=reason)],
    )


def _check_path(request: Request) -> None:
    """Refuse paths that could address something other than what they appear to."""
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    lowered = raw.lower()
    if any(bad in lowered for bad in (b"%2f", b"%5c", b"%00", b"\\")):
        raise _bad_path("encoded separator or NUL byte")
    try:
        unquote_to_bytes(raw).decode("utf-8")
        unquote_to_bytes(request.scope.get("query_string", b"")).decode("utf-8")
    except UnicodeDecodeError:
        raise _bad_path("not UTF-8 once percent-decoded") from None
    path = request.url.path
    if "//" in path or any(seg in {".", ".."} for seg in path.split("/")):
        raise _bad_path("dot segment or empty segment")


async def read_body(request: Request, limit: int, within: float) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(within):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise ProblemError(
            408,
            "request-timeout",
            "Request body too slow",
            f"The whole body must arrive within {within:g} s.",
        ) from None
    return b"".join(chunks)


def _check_json(request: Request, body: bytes) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not body or not (media_type == "application/json" or media_type.endswith("+json")):
        return
    parse_json(body, media_type)


def parse_json(body: bytes, media_type: str = "application/json") -> object:
    """The body's JSON, or a 400 problem that says where it breaks."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProblemError(
            400,
            "malformed-json",
            "Malformed JSON body",
            f"The body is declared as {media_type} but is not valid JSON: {exc}.",
            errors=[FieldError(field="$.body", reason=str(exc))],
        ) from None


def _too_large(limit: int) -> ProblemError:
    return ProblemError(
        413, "payload-too-large", "Request body too large", f"The limit is {limit} bytes."
    )


def _route_of(state: PlatformState, request: Request) -> tuple[Route, str]:
    params = request.path_params
    code, version = params["code"], params["version"]
    route = state.registry.find(code, version)
    if route is None:
        known = sorted(f"/{c}/{v}/" for c, v in state.registry.routes)
        asked = f"/{code}/{version}/"
        # Compared in lower case: /csdldc/ is a slip for /apiCSDLDC/, not for /apiQLVB/.
        by_lower = {k.lower(): k for k in known}
        close = difflib.get_close_matches(asked.lower(), list(by_lower), n=1, cutoff=0.0)
        closest = [by_lower[c] for c in close]
        hint = f" Did you mean {closest[0]}?" if closest else ""
        raise ProblemError(
            404,
            "unknown-service",
            "No such service",
            f"No service is registered at {asked} on {state.spec.name}.{hint} "
            f"Registered: {', '.join(known) or 'none'}.",
            closest=closest[0] if closest else None,
        )
    return route, params.get("resource", "")


def _origin_consumer(consumer: Consumer, request: Request) -> str:
    # Only a platform relays who the original caller was; anyone else is the origin.
    if Role.PLATFORM in consumer.roles:
        return request.headers.get(h.ORIGIN_CONSUMER) or consumer.id
    return consumer.id


def _authorize(state: PlatformState, consumer: Consumer, route: Route) -> None:
    if not state.access.may_call(consumer.id, route.spec.code):
        raise ProblemError(
            403,
            "access-denied",
            "No access right to this service",
            f"Consumer {consumer.id!r} has no grant for service {route.spec.code!r} "
            f"at {state.spec.name}.",
            consumer=consumer.id,
            service=route.spec.code,
        )
    wait = state.limiter.acquire(consumer.id)
    if wait is not None:
        raise ProblemError(
            429,
            "rate-limited",
            "Too many requests",
            f"Consumer {consumer.id!r} is over its quota at {state.spec.name}; "
            f"retry in {wait:.2f} s.",
            headers={"Retry-After": retry_after_header(wait)},
        )


def _check_request(
    route: Route, consumer: Consumer, request: Request, resource: str, body: bytes
) -> Operation | None:
    """Match the contract's operation; on the first hop, also check the request against it."""
    if route.validator is None:
        return None
    operation, path_values = route.validator.match(request.method, resource)
    if Role.PLATFORM in consumer.roles:
        return operation  # the first hop already checked it
    errors = route.validator.check_request(
        operation,
        path_values,
        request.query_params.multi_items(),
        request.headers.get("content-type", ""),
        body,
    )
    if errors:
        raise ProblemError(
            422,
            "validation-error",
            "Request does not match the contract",
            f"{operation.name} of {route.spec.code}/{route.spec.version} (contract "
            f"{route.validator.contract_id}): fix {', '.join(e.field for e in errors)}.",
            errors=errors,
            contract=route.validator.contract_id,
        )
    return operation


def _check_response(route: Route, operation: Operation, response: Response) -> None:
    assert route.validator is not None
    errors = route.validator.check_response(
        operation, response.status_code, response.headers.get("content-type", ""), response.body
    )
    if errors:
        raise ProblemError(
            502,
            "contract-violation",
            "The service broke its contract",
            f"{route.spec.code}/{route.spec.version} answered {operation.name} with a "
            f"{response.status_code} response that breaks contract "
            f"{route.validator.contract_id}: {', '.join(e.field for e in errors)}.",
            errors=errors,
            service=route.spec.code,
            contract=route.validator.contract_id,
        )


def refuse_unless_loggable(state: PlatformState) -> None:
    if not state.audit.accepting:
        raise ProblemError(
            503,
            "audit-unavailable",
            "Exchange refused: it cannot be logged",
            f"{state.spec.name} cannot write its audit log right now, and no exchange "
            "passes unlogged. Retry shortly.",
            headers={"Retry-After": "1"},
        )


async def exchange(request: Request) -> Response:
    started = time.perf_counter()
    state = platform_of(request)
    message_id = request.state.message_id = uuid.uuid4().hex
    consumer: Consumer | None = None
    origin: str | None = None
    route: Route | None = None
    request_hash = _EMPTY_SHA256
    request_bytes = 0
    response: Response
    outcome = "ok"
    closest: str | None = None
    try:
        message_id = request.state.message_id = incoming_message_id(request)
        refuse_unless_loggable(state)
        _check_path(request)
        route, resource = _route_of(state, request)
        consumer = authenticate(state, request.headers.get("authorization"))
        origin = _origin_consumer(consumer, request)
        _authorize(state, consumer, route)
        body = await read_body(
            request, state.settings.max_body_bytes, state.settings.body_timeout_seconds
        )
        request_bytes = len(body)
        request_hash = hashlib.sha256(body).hexdigest()
        _check_json(request, body)
        operation = _check_request(route, consumer, request, resource, body)
        response = await _forward(state, request, route, resource, body, message_id, origin)
        if operation is not None and route.spec.target == "backend":
            if state.settings.validate_responses:
                _check_response(route, operation, response)
    except ProblemError as exc:
        outcome = exc.slug
        closest = exc.extra.get("closest")
        response = render(exc, request)
    response.headers[h.MESSAGE_ID] = message_id
    entry = AuditEntry(
        time=time.time(),
        platform=state.spec.name,
        message_id=message_id,
        consumer=consumer.id if consumer else None,
        origin_consumer=origin,
        service=route.spec.code if route else None,
        version=route.spec.version if route else None,
        method=request.method,
        path=request.url.path,
        status=response.status_code,
        duration_ms=(time.perf_counter() - started) * 1000,
        request_bytes=request_bytes,
        response_bytes=len(response.body),
        outcome=outcome,
        request_hash=request_hash,
        response_hash=hashlib.sha256(response.body).hexdigest(),
    )
    state.audit.record(entry)
    state.journal.add(entry, closest)
    return response


async def _forward(
    state: PlatformState,
    request: Request,
    route: Route,
    resource: str,
    body: bytes,
    message_id: str,
    origin: str,
) -> Response:
    spec = route.spec
    out_headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _STRIPPED]
    out_headers.append((h.MESSAGE_ID, message_id))
    out_headers.append((h.ORIGIN_CONSUMER, origin))
    if spec.target == "upstream":
        assert state.upstream_token is not None
        url = f"{spec.url}/{spec.code}/{spec.version}/{resource}"
        out_headers.append(("Authorization", f"Bearer {await state.upstream_token.bearer()}"))
    else:
        url = f"{spec.url.rstrip('/')}/{resource}"
        out_headers.append((h.CONSUMER, origin))
    query = request.url.query
    if query:
        url = f"{url}?{query}"
    key = f"{spec.code}/{spec.version}"
    wait = state.breakers.allow(key)
    if wait is not None:
        raise ProblemError(
            503,
            "circuit-open",
            "The service is temporarily cut off",
            f"{key} failed {state.breakers.threshold} times in a row; {state.spec.name} "
            f"refuses calls to it until a probe succeeds (next in {wait:.1f} s).",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
            service=spec.code,
        )
    timeout = spec.timeout_seconds or state.settings.upstream_timeout_seconds
    rule = state.faults.match(spec.code, request.method, resource)
    try:
        reply = await _send(state, rule, request.method, url, out_headers, body, timeout)
        if rule is not None and rule.action is FaultAction.ERROR:
            reply = _with_message_id(reply, message_id)
    except TimedOut:
        state.breakers.record(key, success=False)
        raise ProblemError(
            504,
            "backend-timeout",
            "The service did not answer in time",
            f"{key} did not answer within {timeout:g} s.",
            service=spec.code,
        ) from None
    except Unreachable as exc:
        state.breakers.record(key, success=False)
        route.health.mark(False, f"unreachable: {exc}")
        raise ProblemError(
            502,
            "backend-unreachable",
            "The service is unreachable",
            f"{key} could not be reached from {state.spec.name} ({exc}).",
            service=spec.code,
        ) from None
    state.breakers.record(key, success=reply.status < 500)
    if reply.status == 401 and state.upstream_token is not None:
        # The upstream may have rotated its key; fetch a fresh token for the next call.
        state.upstream_token.invalidate()
    headers = {k: v for k, v in reply.headers if k.lower() not in _RESPONSE_STRIPPED}
    return Response(content=reply.body, status_code=reply.status, headers=headers)


async def _send(
    state: PlatformState,
    rule: FaultRule | None,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    limit_seconds: float,
) -> Reply:
    """One call to the next hop, through whatever fault a rule injects."""
    if rule is None:
        return await state.forwarder.send(method, url, headers, body, limit_seconds)
    await faults.delay(rule)
    match rule.action:
        case FaultAction.ERROR:
            problem = ProblemError(
                rule.status,
                "injected-fault",
                "Injected fault",
                f"A fault rule of {state.spec.name} answered {rule.status} for {rule.service}.",
            ).to_problem(None)
            content = problem.model_dump_json(exclude_none=True).encode()
            return Reply(rule.status, [("content-type", PROBLEM_MEDIA_TYPE)], content)
        case FaultAction.TIMEOUT:
            await asyncio.sleep(limit_seconds)
            raise TimedOut("injected timeout")
        case FaultAction.DOWN:
            raise Unreachable("injected: back end down")
        case FaultAction.RESET:
            raise Unreachable("injected: connection reset by peer")
    reply = await state.forwarder.send(method, url, headers, body, limit_seconds)
    if rule.action is FaultAction.CORRUPT:
        return Reply(reply.status, reply.headers, faults.corrupt(reply.body))
    return reply


def _with_message_id(reply: Reply, message_id: str) -> Reply:
    problem = orjson.loads(reply.body)
    problem["message_id"] = message_id
    return Reply(reply.status, reply.headers, orjson.dumps(problem))
