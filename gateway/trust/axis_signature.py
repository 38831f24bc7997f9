"""The document axis's request signature, checked as the vendor SDK (SDKVXP) makes it.

What the SDK sends, read from its classes as decompiled in a public repository (SDKVXP 2.0.1,
`com/vpcp/services/VnptService`, `KnobstickServiceImp`, `AgencyServiceImp`, `HttpConnection`,
`MultipartUtility`; found by content with the `XroadVnpt` header prefix; the example that calls
it is PVN-Organization/API-Gateway-iOffice `JDK 1.8/SDKVXP_Example/src/main/java/com/vpcp/
example/ServiceTest.java`):

- every parameter is a header `XroadVnpt-<key>`: always `systemid`, `timestamp` and
  `Content-Type`, then each key of the operation's JSON argument (`docId`, `status`, ...);
- `XroadVnpt-sign-header-key` names those keys (without the prefix) joined by `;`;
- `XroadVnpt-sign-header` is Gson's `JsonObject.toString()` of {"XroadVnpt-<key>": value}, in
  HashMap order (so no order may be assumed), sent verbatim;
- `XroadVnpt-hash-header` is the lowercase hex HMAC-SHA256 of that string's UTF-8 bytes, keyed
  by the system's secret (UTF-8);
- the timestamp is `SimpleDateFormat("ddMMyyyy'T'HHmmss+SSSS")`: local time, the last four
  digits milliseconds.

The HMAC is checked over the header's bytes as received; then every signed value must equal
the header actually sent, and only signed values are handed on, so a signature over other
values, or an unsigned parameter slipped in beside it, changes nothing.

The timestamp is bounded in days, not seconds: the SDK stamps `timestamp` once, when the
service object is constructed (`VnptService`'s constructor), and e-office systems keep that
object for their lifetime (Bkav's `ServiceVPCP` is a singleton), so a long-running client sends
the same timestamp on every call. A timestamp older than the platform's
`axis_timestamp_max_age_days` (30 by default) or more than a day ahead (the SDK writes the
JVM's local time, in whatever zone it runs) is refused. Within that window the signature
cannot stop a replay, as on the real axis (unverified: the axis's own server-side checks are
not public); README "The national document axis" says what captured headers still allow.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from apikit.problems import ProblemError
from contracts.topology import AxisSystem

PREFIX = "xroadvnpt-"
SIGN_HEADER = "xroadvnpt-sign-header"
SIGN_KEYS = "xroadvnpt-sign-header-key"
HASH_HEADER = "xroadvnpt-hash-header"
# Bounds on what is parsed before the signature is known to be good.
MAX_SIGN_HEADER_BYTES = 8 * 1024
MAX_SIGNED_KEYS = 64
MAX_VALUE_BYTES = 2 * 1024
DEFAULT_MAX_AGE_DAYS = 30.0
ZONE_SLACK = timedelta(days=1)
_TIMESTAMP = re.compile(r"^(\d{2})(\d{2})(\d{4})T(\d{2})(\d{2})(\d{2})\+(\d{4})$")
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class SignedRequest:
    """A request whose signature holds: the system, and its signed parameters by key as
    signed (without the prefix)."""

    system: AxisSystem
    params: dict[str, str]
    timestamp: datetime

    def get(self, key: str) -> str | None:
        """The parameter as the operation names it, else its only other spelling: the SDK's
        examples write `docId` and `docid` alike, and one SDK object keeps the keys of all
        its earlier calls, so both may be signed; the operation's own spelling wins."""
        if key in self.params:
            return self.params[key]
        return next((v for k, v in self.params.items() if k.lower() == key.lower()), None)


def refused(status: int, slug: str, detail: str) -> ProblemError:
    return ProblemError(status, slug, "Refused by the document axis", detail)


def parse_timestamp(value: str) -> datetime:
    found = _TIMESTAMP.match(value)
    if found is None:
        raise refused(
            400,
            "axis-bad-timestamp",
            f"XroadVnpt-timestamp {value[:40]!r} is not ddMMyyyy'T'HHmmss+SSSS "
            "(e.g. 03122026T093000+0123)",
        )
    day, month, year, hour, minute, second, millis = (int(g) for g in found.groups())
    try:
        return datetime(year, month, day, hour, minute, second, (millis % 1000) * 1000)
    except ValueError:
        raise refused(
            400, "axis-bad-timestamp", f"XroadVnpt-timestamp {value!r} is not a real date"
        ) from None


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, list[bytes]]:
    """The XroadVnpt-* headers' values by lowercase name (HTTP names are case-insensitive)."""
    found: dict[str, list[bytes]] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        if key.startswith(PREFIX):
            found.setdefault(key, []).append(value)
    return found


def _one(headers: dict[str, list[bytes]], name: str) -> bytes:
    values = headers[name]
    if len(values) > 1:
        raise refused(400, "axis-malformed-headers", f"Header {name} is sent twice.")
    return values[0]


def _text(name: str, value: bytes) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise refused(400, "axis-malformed-headers", f"Header {name} is not UTF-8.") from None


def _fresh(stamp: datetime, now: datetime, max_age_days: float) -> None:
    # One day either way for the zone the SDK's JVM writes local time in.
    if stamp > now + ZONE_SLACK or stamp < now - timedelta(days=max_age_days) - ZONE_SLACK:
        raise refused(
            403,
            "axis-stale-timestamp",
            f"XroadVnpt-timestamp {stamp:%d/%m/%Y %H:%M:%S} is outside this axis's window "
            f"(at most {max_age_days:g} days old, not in the future): make the SDK's service "
            "object again (it stamps the time once, when it is made).",
        )


def verify(
    raw: list[tuple[bytes, bytes]],
    systems: dict[str, AxisSystem],
    *,
    max_age_days: float = DEFAULT_MAX_AGE_DAYS,
    now: datetime | None = None,
) -> SignedRequest:
    """The signed request, or a ProblemError naming what is wrong."""
    headers = _headers(raw)
    missing = [
        n
        for n in ("xroadvnpt-systemid", "xroadvnpt-timestamp", SIGN_KEYS, SIGN_HEADER, HASH_HEADER)
        if n not in headers
    ]
    if missing:
        raise refused(
            403,
            "axis-missing-signature",
            f"Missing header(s) {', '.join(missing)}: every call is signed as the SDK signs it.",
        )
    signed_raw = _one(headers, SIGN_HEADER)
    if len(signed_raw) > MAX_SIGN_HEADER_BYTES:
        raise refused(
            400,
            "axis-malformed-headers",
            f"XroadVnpt-sign-header is {len(signed_raw)} bytes; the limit is "
            f"{MAX_SIGN_HEADER_BYTES}.",
        )
    systemid = _text("XroadVnpt-systemid", _one(headers, "xroadvnpt-systemid"))
    system = systems.get(systemid)
    if system is None:
        raise refused(403, "axis-unknown-system", f"No system {systemid[:64]!r} at this axis.")
    given = _text(HASH_HEADER, _one(headers, HASH_HEADER)).strip()
    expected = hmac.new(system.secret.encode(), signed_raw, hashlib.sha256).hexdigest()
    if not _HEX.match(given) or not hmac.compare_digest(given.lower(), expected):
        raise refused(
            403,
            "axis-bad-signature",
            "XroadVnpt-hash-header is not the HMAC-SHA256 (lowercase hex) of "
            "XroadVnpt-sign-header keyed by this system's secret.",
        )
    params = _signed_values(_text(SIGN_HEADER, signed_raw), headers)
    if "systemid" not in params or "timestamp" not in params:
        raise refused(
            403,
            "axis-bad-signature",
            "The signature must cover XroadVnpt-systemid and XroadVnpt-timestamp.",
        )
    if params["systemid"] != systemid:
        raise refused(403, "axis-bad-signature", "The signed systemid is not the one sent.")
    keys = {k.strip() for k in _text(SIGN_KEYS, _one(headers, SIGN_KEYS)).split(";") if k}
    if {k.lower() for k in keys} != {k.lower() for k in params}:
        raise refused(
            403,
            "axis-bad-signature",
            "XroadVnpt-sign-header-key does not name the keys of XroadVnpt-sign-header.",
        )
    stamp = parse_timestamp(params["timestamp"])
    _fresh(stamp, now or datetime.now(), max_age_days)
    return SignedRequest(system, params, stamp)


def _signed_values(sign_header: str, headers: dict[str, list[bytes]]) -> dict[str, str]:
    """The signed values by key (prefix removed), each checked against what was sent: under
    each header name, the values sent are exactly the values signed (the SDK may sign two
    spellings of one name, `docId` and `docid`, which arrive as two headers)."""
    try:
        data = orjson.loads(sign_header)
    except orjson.JSONDecodeError:
        raise refused(
            400, "axis-malformed-headers", "XroadVnpt-sign-header is not a JSON object."
        ) from None
    if not isinstance(data, dict) or len(data) > MAX_SIGNED_KEYS:
        raise refused(
            400,
            "axis-malformed-headers",
            f"XroadVnpt-sign-header must be a JSON object of at most {MAX_SIGNED_KEYS} "
            "header names and their values.",
        )
    params: dict[str, str] = {}
    signed: dict[str, list[str]] = {}
    for name, value in data.items():
        lower = name.lower()
        if not lower.startswith(PREFIX) or not isinstance(value, str):
            raise refused(
                400,
                "axis-malformed-headers",
                f"XroadVnpt-sign-header entry {name[:60]!r} must be an XroadVnpt-* header "
                "with a string value.",
            )
        if len(value.encode()) > MAX_VALUE_BYTES:
            raise refused(
                400,
                "axis-malformed-headers",
                f"Signed header {name} is over {MAX_VALUE_BYTES} bytes.",
            )
        signed.setdefault(lower, []).append(value)
        params[name[len(PREFIX) :]] = value
    for lower, values in signed.items():
        sent = [_text(lower, v) for v in headers.get(lower, [])]
        if sorted(sent) != sorted(values):
            raise refused(
                403,
                "axis-bad-signature",
                f"Header {lower} {'is missing' if not sent else 'differs from the value signed'}"
                ": the signature covers other values than those sent.",
            )
    for lower, values_sent in headers.items():
        if len(values_sent) > 1 and lower not in signed:
            raise refused(400, "axis-malformed-headers", f"Header {lower} is sent twice.")
    return params
