"""The routed call: find the service, authenticate, authorize, check, pass on one hop, answer.

This is the hot path of a platform: no per-request connections, no database round trip
(the audit record is only enqueued), headers filtered in one pass. One object, built once in
the lifespan with every collaborator it uses; the exchange lane calls it for each request.
"""

from __future__ import annotations

import contextlib
import difflib
import time
from functools import partial

import orjson
from starlette.requests import Request
from starlette.responses import Response

from apikit import gateway_fault as wso2
from apikit import headers as h
from apikit.headers import LGSP_ACCESS_TOKEN
from apikit.problems import ProblemError
from contracts.problem import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_PREFIX
from contracts.topology import Consumer, Role
from gateway.messagelog.audited import AuditedExchanges, Exchange
from gateway.proxy import cors
from gateway.proxy.inbound import check_json, check_path, raw_tail, read_body
from gateway.proxy.registry import Registry, Route
from gateway.proxy.upstream import UpstreamHop
from gateway.proxy.validation import Operation
from gateway.settings import GatewaySettings
from gateway.trust.access import AccessRights
from gateway.trust.auth import Authenticator
from gateway.trust.ratelimit import RateLimiter, retry_after_header

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _origin_consumer(consumer: Consumer, request: Request) -> str:
    # Only a platform relays who the original caller was; anyone else is the origin.
    if Role.PLATFORM in consumer.roles:
        return request.headers.get(h.ORIGIN_CONSUMER) or consumer.id
    return consumer.id


class RoutedCall:
    def __init__(
        self,
        *,
        platform: str,
        settings: GatewaySettings,
        registry: Registry,
        authenticator: Authenticator,
        access: AccessRights,
        limiter: RateLimiter,
        hop: UpstreamHop,
        exchanges: AuditedExchanges,
        validate_requests: bool = False,
        unversioned_paths: bool = False,
        lgsp_access_token: bool = False,
        context_aliases: dict[str, str] | None = None,
    ) -> None:
        self._platform = platform
        # A province's own context for a service (provincial variant): /hotich/… for civil status.
        self._aliases = {k.lower(): v for k, v in (context_aliases or {}).items()}
        self._unversioned_paths = unversioned_paths
        self._lgsp_access_token = lgsp_access_token
        self._validate_requests = validate_requests or settings.validate_requests
        self._settings = settings
        self._registry = registry
        self._authenticator = authenticator
        self._access = access
        self._limiter = limiter
        self._hop = hop
        self._exchanges = exchanges

    async def __call__(self, request: Request) -> Response:
        handle = self._preflight if request.method == "OPTIONS" else self._handle
        response = await self._exchanges.answer(request, partial(handle, request), wso2_faults=True)
        if request.method != "OPTIONS" or cors.ALLOW_METHODS not in response.headers:
            # WSO2's CORS handler marks every answer, refusals too, so a browser can read them.
            response.headers.update(cors.ANSWER_HEADERS)
        return response

    async def _preflight(self, request: Request, exchange: Exchange) -> Response:
        """OPTIONS as WSO2's CORS handler answers it: before any token is asked for, 200 with
        the matched resource's methods; the dispatcher's 404/405 when none matches."""
        check_path(request)
        route, resource, _ = self._route_of(request)
        exchange.service, exchange.version = route.spec.code, route.spec.version
        methods = _resource_methods(route, resource)
        if methods is not None and "OPTIONS" in methods:
            return await self._handle(request, exchange)  # published: the back end answers
        wanted = request.headers.get(cors.REQUEST_METHOD, "").strip().upper()
        if methods is not None and not methods:
            raise ProblemError(
                404,
                "unknown-operation",
                "No such operation",
                f"No resource of {route.spec.code}/{route.spec.version} at /{resource}.",
                fault=wso2.no_matching_resource(),
            )
        if methods is not None and wanted and wanted not in methods:
            allowed = ", ".join(sorted(set(methods)))
            raise ProblemError(
                405,
                "method-not-allowed",
                "Method not allowed by the contract",
                f"Preflight for {wanted} /{resource}: the resource allows {allowed}.",
                headers={"Allow": allowed},
                fault=wso2.method_not_allowed(),
            )
        exchange.outcome = "cors-preflight"
        return Response(
            status_code=200, headers=cors.cors_headers([*(methods or cors.METHODS), "OPTIONS"])
        )

    async def _handle(self, request: Request, exchange: Exchange) -> Response:
        check_path(request)
        route, resource, raw_resource = self._route_of(request)
        exchange.service, exchange.version = route.spec.code, route.spec.version
        consumer = self._authenticate(request, route)
        origin = _origin_consumer(consumer, request)
        exchange.note_caller(consumer.id, origin)
        self._authorize(consumer, route)
        body = await read_body(
            request, self._settings.max_body_bytes, self._settings.body_timeout_seconds
        )
        exchange.note_body(body)
        check_json(request, body)
        operation = _check_request(
            route, consumer, request, resource, body, validate=self._validate_requests
        )
        response = await self._hop.forward(
            request,
            route,
            resource,
            raw_resource,
            body,
            exchange.message_id,
            origin,
        )
        if response.status_code >= 500:
            # A failure relayed from further on is recorded as what it was, not as "ok".
            exchange.outcome = relayed_outcome(response)
        if (
            operation is not None
            and route.spec.target == "backend"
            and self._settings.validate_responses
        ):
            _check_response(route, operation, response)
        return response

    def _authenticate(self, request: Request, route: Route) -> Consumer:
        authorization = request.headers.get("authorization")
        lgsp_token = request.headers.get(LGSP_ACCESS_TOKEN)
        try:
            if self._lgsp_access_token and lgsp_token is not None and authorization is None:
                return self._authenticator.with_lgsp_access_token(lgsp_token)
            return self._authenticator.authenticate(authorization)
        except ProblemError as refusal:
            # WSO2 finds no credentials unless there is a bearer token to check.
            scheme, _, token = (authorization or "").partition(" ")
            presented = (scheme.lower() == "bearer" and token.strip()) or (
                self._lgsp_access_token and lgsp_token is not None
            )
            refusal.fault = (
                wso2.invalid_credentials(route.spec.code, route.spec.version)
                if presented
                else wso2.missing_credentials()
            )
            raise

    def _route_of(self, request: Request) -> tuple[Route, str, str]:
        """The route, and the resource decoded and as sent."""
        params = request.path_params
        code, version = params["code"], params["version"]
        route = self._registry.find(code, version)
        if route is None and code.lower() in self._aliases:
            route = self._registry.find(self._aliases[code.lower()], version)
        resource, raw_resource = params.get("resource", ""), params["raw_resource"]
        if route is None and self._unversioned_paths:
            # /{context}/{resource}: what looked like the version is the resource's start.
            route = self._newest(code)
            resource = f"{version}/{resource}" if resource else version
            raw_resource = raw_tail(request.scope, 2)
        if route is None:
            known = sorted(f"/{c}/{v}/" for c, v in self._registry.routes)
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
                f"No service is registered at {asked} on {self._platform}.{hint} "
                f"Registered: {', '.join(known) or 'none'}.",
                closest=closest[0] if closest else None,
                fault=wso2.no_such_api(request.url.path),
            )
        return route, resource, raw_resource

    def _newest(self, code: str) -> Route | None:
        versions = [v for c, v in self._registry.routes if c == code]
        if not versions:
            return None
        newest = max(versions, key=lambda v: tuple(int(p) for p in v.split(".") if p.isdigit()))
        return self._registry.find(code, newest)

    def _authorize(self, consumer: Consumer, route: Route) -> None:
        if not self._access.may_call(consumer.id, route.spec.code):
            raise ProblemError(
                403,
                "access-denied",
                "No access right to this service",
                f"Consumer {consumer.id!r} has no grant for service {route.spec.code!r} "
                f"at {self._platform}.",
                consumer=consumer.id,
                service=route.spec.code,
                fault=wso2.resource_forbidden(),
            )
        wait = self._limiter.acquire(consumer.id)
        if wait is not None:
            raise ProblemError(
                429,
                "rate-limited",
                "Too many requests",
                f"Consumer {consumer.id!r} is over its quota at {self._platform}; "
                f"retry in {wait:.2f} s.",
                headers={"Retry-After": retry_after_header(wait)},
                # The sandbox's quota is per consumer (application), across its services.
                fault=wso2.throttled_out(wso2.THROTTLED_APPLICATION, time.time() + wait),
            )


def _resource_methods(route: Route, resource: str) -> list[str] | None:
    """The methods the contract publishes at this resource; None when the route has none to
    say (every method passes on)."""
    if route.validator is None:
        return None
    path = "/" + resource
    return [o.method for o in route.validator.operations if o.pattern.match(path)]


def relayed_outcome(response: Response) -> str:
    """The problem type's slug of a relayed failure, or `upstream-<status>` for any other body."""
    if response.headers.get("content-type", "").startswith(PROBLEM_MEDIA_TYPE):
        with contextlib.suppress(orjson.JSONDecodeError, AttributeError, TypeError):
            kind = orjson.loads(response.body).get("type")
            if isinstance(kind, str) and kind.startswith(PROBLEM_TYPE_PREFIX):
                return kind.removeprefix(PROBLEM_TYPE_PREFIX)[:64]
    return f"upstream-{response.status_code}"


def _check_request(
    route: Route,
    consumer: Consumer,
    request: Request,
    resource: str,
    body: bytes,
    *,
    validate: bool,
) -> Operation | None:
    """Match the contract's operation; with `validate`, on the first hop, check the request.

    Matching is WSO2's resource dispatch (a call to no published resource is refused there);
    checking the request's fields is not something WSO2 does by default, so it is optional.
    """
    if route.validator is None:
        return None
    try:
        operation, path_values = route.validator.match(request.method, resource)
    except ProblemError as refusal:
        refusal.fault = (
            wso2.method_not_allowed() if refusal.status == 405 else wso2.no_matching_resource()
        )
        raise
    if not validate or Role.PLATFORM in consumer.roles:
        return operation  # unchecked, or the first hop already checked it
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
    validator = route.validator
    if validator is None:
        return
    errors = validator.check_response(
        operation,
        response.status_code,
        response.headers.get("content-type", ""),
        bytes(response.body),
    )
    if errors:
        raise ProblemError(
            502,
            "contract-violation",
            "The service broke its contract",
            f"{route.spec.code}/{route.spec.version} answered {operation.name} with a "
            f"{response.status_code} response that breaks contract "
            f"{validator.contract_id}: {', '.join(e.field for e in errors)}.",
            errors=errors,
            service=route.spec.code,
            contract=validator.contract_id,
        )
