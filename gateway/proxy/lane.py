"""The exchange's own lane: routed calls skip the framework's per-request machinery.

Routed calls are nearly all of a platform's traffic, and they need none of FastAPI's
dependency solving or route matching; they reach the platform's `RoutedCall` (built in the
lifespan, handed over in the lifespan state) straight from here. The platform's own API
(token, topology, catalog, audit, admin, docs) goes on to FastAPI.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from contracts.topology import RESERVED_CODES
from gateway.proxy.inbound import raw_tail
from gateway.proxy.routed_call import RoutedCall

_FRAMEWORK = RESERVED_CODES | {"docs", "redoc", "openapi.json", "favicon.ico"}


def _exchange_params(scope: Scope) -> dict[str, str] | None:
    parts = scope["path"].split("/", 3)  # "", code, version, resource
    if len(parts) < 3 or not parts[1] or parts[1].lower() in _FRAMEWORK or not parts[2]:
        return None
    resource = parts[3] if len(parts) > 3 else ""
    return {
        "code": parts[1],
        "version": parts[2],
        # Decoded: what contracts, fault rules and grants match against.
        "resource": resource,
        # As the caller wrote it: what is passed on, so that %3F stays part of the path and
        # %252e does not become a dot on the way.
        "raw_resource": raw_tail(scope, 3),
    }


class ExchangeLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = _exchange_params(scope) if scope["type"] == "http" else None
        if params is None:
            await self.app(scope, receive, send)
            return
        scope["path_params"] = params
        routed_call: RoutedCall = scope["state"]["routed_call"]
        # The routed call answers every failure itself, as an audited problem.
        response = await routed_call(Request(scope, receive))
        await response(scope, receive, send)
