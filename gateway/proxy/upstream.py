"""The upstream hop: one routed call passed on to the back end or to the upstream platform.

Builds the next hop's URL and headers (the caller's credentials and identity headers never
pass on; the platform sets its own), goes through the circuit breaker and any fault rule,
and turns what happened on the wire into the answer or a problem: 502 unreachable (nothing
was sent), 502 connection lost (sent, no answer), 503 circuit open, 504 timed out; a POST or
PATCH that was sent and got no answer is `may-have-been-processed` (502 or 504).
"""

from __future__ import annotations

import asyncio
import math

import orjson
from starlette.requests import Request
from starlette.responses import Response

from apikit import headers as h
from apikit.problems import ProblemError
from contracts.faults import FaultAction, FaultRule
from contracts.problem import PROBLEM_MEDIA_TYPE
from gateway.proxy import faults
from gateway.proxy.breaker import Breakers
from gateway.proxy.faults import Faults
from gateway.proxy.forwarder import IDEMPOTENT, Forwarder, Reply, TimedOut, Unreachable
from gateway.proxy.inbound import raw_query
from gateway.proxy.registry import Route
from gateway.settings import GatewaySettings
from gateway.trust.upstream_token import UpstreamToken

# Never passed on: the caller's credentials are for this hop only, and identity headers
# are set by the platform itself so a consumer cannot impersonate another.
_STRIPPED = h.HOP_BY_HOP | {
    "authorization",
    h.LGSP_ACCESS_TOKEN,
    "cookie",
    h.MESSAGE_ID.lower(),
    h.ORIGIN_CONSUMER.lower(),
    h.CONSUMER.lower(),
}
# The body is passed on decoded, so its encoding header must not be.
_RESPONSE_STRIPPED = h.HOP_BY_HOP | {"set-cookie", "server", "date", "content-encoding"}


class UpstreamHop:
    def __init__(
        self,
        *,
        platform: str,
        settings: GatewaySettings,
        forwarder: Forwarder,
        breakers: Breakers,
        faults: Faults,
        upstream_token: UpstreamToken | None,
    ) -> None:
        self._platform = platform
        self._settings = settings
        self._forwarder = forwarder
        self._breakers = breakers
        self._faults = faults
        self._upstream_token = upstream_token

    async def forward(
        self,
        request: Request,
        route: Route,
        resource: str,
        raw_resource: str,
        body: bytes,
        message_id: str,
        origin: str,
    ) -> Response:
        """Pass the call on; `resource` is matched against fault rules, `raw_resource` sent."""
        spec = route.spec
        out_headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _STRIPPED]
        out_headers.append((h.MESSAGE_ID, message_id))
        out_headers.append((h.ORIGIN_CONSUMER, origin))
        if spec.target == "upstream":
            if self._upstream_token is None:
                raise RuntimeError(f"{spec.code} routes upstream, but no upstream is configured")
            url = f"{spec.url}/{spec.code}/{spec.version}/{raw_resource}"
            token = await self._upstream_token.bearer()
            out_headers.append(("Authorization", f"Bearer {token}"))
        else:
            url = f"{spec.url.rstrip('/')}/{raw_resource}"
            out_headers.append((h.CONSUMER, origin))
        query = raw_query(request.scope)
        if query:
            url = f"{url}?{query}"
        key = f"{spec.code}/{spec.version}"
        wait = self._breakers.allow(key)
        if wait is not None:
            raise ProblemError(
                503,
                "circuit-open",
                "The service is temporarily cut off",
                f"{key} failed {self._breakers.threshold} times in a row; {self._platform} "
                f"refuses calls to it until a probe succeeds (next in {wait:.1f} s).",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
                service=spec.code,
            )
        timeout = spec.timeout_seconds or self._settings.upstream_timeout_seconds
        rule = self._faults.match(spec.code, request.method, resource)
        # A failure the caller asked for (a test scenario) says nothing about the service's
        # health: it must not open the circuit or mark the service down for anyone else.
        counts = h.SANDBOX_SCENARIO not in request.headers
        try:
            reply = await self._send(rule, request.method, url, out_headers, body, timeout)
            if rule is not None and rule.action is FaultAction.ERROR:
                reply = _with_message_id(reply, message_id)
        except TimedOut as exc:
            if counts:
                self._breakers.record(key, success=False)
            if exc.sent and request.method.upper() not in IDEMPOTENT:
                raise _may_have_been_processed(
                    504, key, f"no answer came within {timeout:g} s", spec.code
                ) from None
            waited = "" if exc.sent else " (no connection could be made in that time)"
            raise ProblemError(
                504,
                "backend-timeout",
                "The service did not answer in time",
                f"{key} did not answer within {timeout:g} s{waited}.",
                service=spec.code,
            ) from None
        except Unreachable as exc:
            # Health is the monitor's to judge (after failed checks in a row): one refused
            # connection says less than that. The breaker counts it.
            if counts:
                self._breakers.record(key, success=False)
            if exc.sent and request.method.upper() not in IDEMPOTENT:
                raise _may_have_been_processed(
                    502, key, f"the connection broke before its answer ({exc})", spec.code
                ) from None
            if exc.sent:
                raise ProblemError(
                    502,
                    "backend-connection-lost",
                    "The connection to the service broke",
                    f"{key} was reached from {self._platform}, but the connection broke before "
                    f"its answer, also when the call was repeated once ({exc}).",
                    service=spec.code,
                ) from None
            raise ProblemError(
                502,
                "backend-unreachable",
                "The service is unreachable",
                f"{key} could not be reached from {self._platform} ({exc}); nothing was sent.",
                service=spec.code,
            ) from None
        if counts:
            self._breakers.record(key, success=reply.status < 500)
        if reply.status == 401 and self._upstream_token is not None:
            # The upstream may have rotated its key; fetch a fresh token for the next call.
            self._upstream_token.invalidate()
        headers = {k: v for k, v in reply.headers if k.lower() not in _RESPONSE_STRIPPED}
        return Response(content=reply.body, status_code=reply.status, headers=headers)

    async def _send(
        self,
        rule: FaultRule | None,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        limit_seconds: float,
    ) -> Reply:
        """One call to the next hop, through whatever fault a rule injects."""
        if rule is None:
            return await self._forwarder.send(method, url, headers, body, limit_seconds)
        await faults.delay(rule)
        match rule.action:
            case FaultAction.ERROR:
                problem = ProblemError(
                    rule.status,
                    "injected-fault",
                    "Injected fault",
                    f"A fault rule of {self._platform} answered {rule.status} for {rule.service}.",
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
        reply = await self._forwarder.send(method, url, headers, body, limit_seconds)
        if rule.action is FaultAction.CORRUPT:
            return Reply(reply.status, reply.headers, faults.corrupt(reply.body))
        return reply


def _may_have_been_processed(status: int, key: str, what: str, service: str) -> ProblemError:
    """A call that may create or change something reached the back end and no answer came:
    it may have been done. Said in the problem type too, so the audit of every hop records it
    (a client that repeats a create on a bare 502 or 504 can make a second record)."""
    return ProblemError(
        status,
        "may-have-been-processed",
        "The service may have processed the request",
        f"The request was sent to {key}, but {what}: it may have been processed. Look it up "
        "(by your own reference or idempotency key) before sending it again.",
        service=service,
    )


def _with_message_id(reply: Reply, message_id: str) -> Reply:
    problem = orjson.loads(reply.body)
    problem["message_id"] = message_id
    return Reply(reply.status, reply.headers, orjson.dumps(problem))
