"""Refusals as WSO2 API Manager's gateway answers them: `{"fault": {code, message, description}}`.

The real platforms (NGSP, the LGSPs) run WSO2 API Manager; agency client code branches on
these bodies, so the sandbox answers its own refusals of routed calls the same way. Sources
(docs/reference/refusals.md): the codes, messages and the status per
code are WSO2's `APISecurityConstants` and `APIAuthenticationHandler.handleAuthFailure`
(900906/900908/900910 -> 403, other auth failures -> 401 with `WWW-Authenticate`); the body
shape and numeric `code` are from captured answers of live WSO2 gateways; the throttling
status per throttling code, the texts, `nextAccessTime` and the HTTP-date `Retry-After` from
WSO2's `ThrottleHandler.handleThrottleOut` (wso2/carbon-apimgt, components/apimgt/
org.wso2.carbon.apimgt.gateway/.../handlers/throttling/ThrottleHandler.java, with the codes of
APIThrottleConstants.java beside it); the XML form for `Accept: application/xml` from
`Utils.setFaultPayload` (.../gateway/handlers/Utils.java).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

from lxml import etree

# What WSO2's authentication handler challenges with (captured on a WSO2 gateway's 401).
BEARER_CHALLENGE = (
    'Bearer realm="WSO2 API Manager", error="invalid_token", '
    'error_description="The provided token is invalid"'
)
FAULT_MEDIA_TYPE = "application/json; charset=UTF-8"
# The namespaces WSO2's handlers write their XML faults in: the authentication handler's
# (APISecurityConstants.API_SECURITY_NS, prefix ams), the throttle handler's
# (APIThrottleConstants.API_THROTTLE_NS, prefix amt) and the dispatcher's sequences'
# (http://wso2.org/apimanager, prefix am; from public captures, not read in source).
SECURITY_NS = ("ams", "http://wso2.org/apimanager/security")
THROTTLE_NS = ("amt", "http://wso2.org/apimanager/throttling")
DISPATCH_NS = ("am", "http://wso2.org/apimanager")
# Utils.setFaultPayload answers in the Accept header's type when it is one the gateway
# supports (compared as a whole header value); else the handler's default, JSON in 4.x.
XML_ACCEPTS = frozenset({"application/xml", "text/xml"})


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
    # A throttle-out tells when the caller may come back (ThrottleHandler).
    next_access_time: str | None = None
    namespace: tuple[str, str] = SECURITY_NS

    def _fields(self) -> list[tuple[str, object]]:
        fields: list[tuple[str, object]] = [("code", self.code)]
        if self.type is not None:
            fields.append(("type", self.type))
        fields += [("message", self.message), ("description", self.description)]
        if self.next_access_time is not None:
            fields.append(("nextAccessTime", self.next_access_time))
        return fields

    def body(self) -> dict[str, dict[str, object]]:
        return {"fault": dict(self._fields())}

    def xml_body(self) -> bytes:
        """The fault as WSO2's handlers build it before any JSON conversion:
        `<ams:fault xmlns:ams="…"><ams:code>900901</ams:code>…</ams:fault>`."""
        prefix, uri = self.namespace
        root = etree.Element(etree.QName(uri, "fault"), nsmap={prefix: uri})
        for name, value in self._fields():
            etree.SubElement(root, etree.QName(uri, name)).text = str(value)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


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
        namespace=DISPATCH_NS,
    )


def method_not_allowed() -> GatewayFault:
    """A resource of the API matches the path but not the method (WSO2's dispatcher)."""
    return GatewayFault(
        405,
        405,
        "Runtime Error",
        "Method not allowed for given API resource",
        type="Status report",
        namespace=DISPATCH_NS,
    )


def no_such_api(path: str) -> GatewayFault:
    """No API is published at this context and version (WSO2's main sequence)."""
    return GatewayFault(
        404,
        404,
        "Not Found",
        f"The requested resource ({path}) is not available.",
        type="Status report",
        namespace=DISPATCH_NS,
    )


# WSO2's throttling codes (APIThrottleConstants): the code says which limit the call ran into.
THROTTLED_API = 900800
HARD_LIMIT = 900801
THROTTLED_RESOURCE = 900802
THROTTLED_APPLICATION = 900803
THROTTLED_SUBSCRIPTION = 900804
BLOCKED = 900805
THROTTLED_CUSTOM_POLICY = 900806
THROTTLED_SUBSCRIPTION_BURST = 900807
_QUOTA = ("Message throttled out", "You have exceeded your quota")
# ThrottleHandler.handleThrottleOut: status and texts per code; only a quota says when to
# come back (a hard limit is the API "not accepting requests", 503; a block is 403).
THROTTLING: dict[int, tuple[int, str, str]] = {
    THROTTLED_API: (429, *_QUOTA),
    HARD_LIMIT: (503, "API Limit Reached", "API not accepting requests"),
    THROTTLED_RESOURCE: (429, *_QUOTA),
    THROTTLED_APPLICATION: (429, *_QUOTA),
    THROTTLED_SUBSCRIPTION: (429, *_QUOTA),
    BLOCKED: (403, "Message blocked", "You have been blocked from accessing the resource"),
    THROTTLED_CUSTOM_POLICY: (429, *_QUOTA),
    THROTTLED_SUBSCRIPTION_BURST: (429, *_QUOTA),
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def next_access_time(at: float) -> str:
    """`yyyy-MMM-dd HH:mm:ssZ` in UTC plus " UTC", as ThrottleHandler formats it
    (`2026-Dec-07 23:55:00+0000 UTC`); English month names whatever the locale."""
    when = datetime.fromtimestamp(at, UTC)
    return f"{when.year:04d}-{_MONTHS[when.month - 1]}-{when:%d %H:%M:%S}+0000 UTC"


def http_date(at: float) -> str:
    """`EEE, dd MMM yyyy HH:mm:ss z` in GMT: ThrottleHandler's Retry-After (an HTTP-date)."""
    return format_datetime(datetime.fromtimestamp(at, UTC), usegmt=True)


def throttled_out(code: int, next_access: float | None = None) -> GatewayFault:
    """The throttle-out fault for `code`; `next_access` (epoch seconds) when the caller may
    come back, rounded up to the second so that the time written is never too early."""
    status, message, description = THROTTLING[code]
    if next_access is None or status != 429:
        return GatewayFault(status, code, message, description, namespace=THROTTLE_NS)
    at = float(math.ceil(next_access))
    when = next_access_time(at)
    return GatewayFault(
        status,
        code,
        message,
        f"{description} .You can access API after {when}",
        headers={"Retry-After": http_date(at)},
        next_access_time=when,
        namespace=THROTTLE_NS,
    )
