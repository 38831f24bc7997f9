"""Refusals as WSO2 API Manager's gateway answers them: `{"fault": {code, message, description}}`.

The real platforms (NGSP, the LGSPs) run WSO2 API Manager; agency client code branches on
these bodies, so the sandbox answers its own refusals of routed calls the same way. Sources
(docs/reference/refusals.md): the codes, messages and the status per
code are WSO2's `APISecurityConstants` and `APIAuthenticationHandler.handleAuthFailure`
(900906/900908/900910 -> 403, other auth failures -> 401 with `WWW-Authenticate`); the body
shape and numeric `code` are from captured answers of live WSO2 gateways; the throttling
status (429) and texts from WSO2's `ThrottleHandler`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# What WSO2's authentication handler challenges with (captured on a WSO2 gateway's 401).
BEARER_CHALLENGE = (
    'Bearer realm="WSO2 API Manager", error="invalid_token", '
    'error_description="The provided token is invalid"'
)
FAULT_MEDIA_TYPE = "application/json; charset=UTF-8"


@dataclass(frozen=True, slots=True)
class GatewayFault:
    """One WSO2 fault: the HTTP status it goes with, the body's fields, its headers."""

    status: int
    code: int
    message: str
    description: str
    # WSO2's dispatcher faults (no matching resource, no such API) carry a `type` too.
    type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, dict[str, object]]:
        fault: dict[str, object] = {"code": self.code}
        if self.type is not None:
            fault["type"] = self.type
        fault["message"] = self.message
        fault["description"] = self.description
        return {"fault": fault}


@dataclass(frozen=True, slots=True)
class OAuthError:
    """A refused token request as an OAuth 2.0 server answers it (RFC 6749 5.2), which is how
    WSO2's token endpoint answers: `{"error_description": ..., "error": ...}`."""

    status: int
    error: str
    description: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, str]:
        return {"error_description": self.description, "error": self.error}


def invalid_credentials(api: str, version: str) -> GatewayFault:
    # The description as a live WSO2 gateway writes it (FBR capture, 2026): it names the API.
    return GatewayFault(
        401,
        900901,
        "Invalid Credentials",
        f"Access failure for API: /{api}/{version}, version: {version} status: (900901) - "
        "Invalid Credentials. Make sure you have given the correct access token",
        headers={"WWW-Authenticate": BEARER_CHALLENGE},
    )


def missing_credentials() -> GatewayFault:
    return GatewayFault(
        401,
        900902,
        "Missing Credentials",
        "Required OAuth credentials not provided. Make sure your API invocation call has a "
        'header: "Authorization: Bearer ACCESS_TOKEN"',
        headers={"WWW-Authenticate": BEARER_CHALLENGE},
    )


def resource_forbidden() -> GatewayFault:
    # WSO2's message constant has the trailing space; clients compare it as sent.
    return GatewayFault(
        403,
        900908,
        "Resource forbidden ",
        "User is NOT authorized to access the Resource. API Subscription validation failed.",
    )


def no_matching_resource() -> GatewayFault:
    """The API exists but no resource of it matches the method and path (WSO2's dispatcher)."""
    return GatewayFault(
        404,
        404,
        "Runtime Error",
        "No matching resource found for given API Request",
        type="Status report",
    )


def method_not_allowed() -> GatewayFault:
    """A resource of the API matches the path but not the method (WSO2's dispatcher)."""
    return GatewayFault(
        405,
        405,
        "Runtime Error",
        "Method not allowed for given API resource",
        type="Status report",
    )


def no_such_api(path: str) -> GatewayFault:
    """No API is published at this context and version (WSO2's main sequence)."""
    return GatewayFault(
        404,
        404,
        "Not Found",
        f"The requested resource ({path}) is not available.",
        type="Status report",
    )


# WSO2's throttling levels: the code says which limit the call ran into.
THROTTLED_API = 900800
THROTTLED_RESOURCE = 900802
THROTTLED_APPLICATION = 900803
THROTTLED_SUBSCRIPTION = 900804


def throttled_out(code: int, retry_after: str | None = None) -> GatewayFault:
    # Retry-After is the sandbox's addition (public captures do not show WSO2 sending it);
    # it helps a client back off and does not change the body a WSO2 client reads.
    headers = {"Retry-After": retry_after} if retry_after else {}
    return GatewayFault(
        429, code, "Message throttled out", "You have exceeded your quota", headers=headers
    )
