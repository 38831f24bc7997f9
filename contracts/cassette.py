"""Cassettes: recorded exchanges of one service, written so they can be committed.

A cassette is one YAML or JSON file per service: `{service, version, upstream,
interactions: [{request: {method, path, query, headers, body}, response: {status, headers,
body}}]}`. Paths are the resource under the service (`/chiTietDoanhNghiep`), queries a list
of [name, value] pairs, bodies JSON values when the content was JSON, else text.

What never lands: secrets (the Authorization header, cookies, tokens, the document axis's
XroadVnpt hash and sign headers; only the headers in KEPT_*_HEADERS are written at all, and
fields or query names that say secret/token/password are blanked). What is masked: ID numbers
of people, by rules (MaskRule) the user can extend; a masked value keeps its length with
every character written as MASK, and replay lets a MASK stand for any character, so a
masked cassette still answers the calls it recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contracts.own_spec import SpecError, read_document

MASK = "*"
MAX_CASSETTE_BYTES = 8 * 1024 * 1024
MAX_INTERACTIONS = 5_000
MAX_BODY_BYTES = 512 * 1024  # a body larger than this is written as its size only
KEPT_REQUEST_HEADERS = frozenset({"content-type", "accept", "prefer", "soapaction"})
KEPT_RESPONSE_HEADERS = frozenset({"content-type", "location", "retry-after"})
# Never written, whatever a rule file says: names the secret-bearing headers have.
_SECRET_HEADER = re.compile(
    r"authorization|cookie|token|secret|password|api-?key|^xroadvnpt-(hash|sign)", re.I
)
_SECRET_FIELD = re.compile(r"secret|password|passwd|token|^authorization$|^api_?key$", re.I)
SECRET_VALUE = "[secret removed]"
MATCH_PARTS = ("method", "path", "query", "body")
_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
_VALUE = re.compile(r"^[^\r\n\x00]{0,4000}$")


class CassetteError(ValueError):
    """A cassette or a rule file that cannot be used; the message names the place."""


@dataclass(frozen=True)
class MaskRule:
    """Mask a value when its field name matches `field`, or the text matches `pattern`
    (every match inside any string, the path and query values included)."""

    name: str
    pattern: re.Pattern[str] | None = None
    field: re.Pattern[str] | None = None


DEFAULT_RULES: tuple[MaskRule, ...] = (
    # 12-digit citizen ID (CCCD), wherever it appears
    MaskRule("cccd", pattern=re.compile(r"(?<!\d)\d{12}(?!\d)")),
    # 9-digit old identity card, by field name only (other 9-digit numbers exist)
    MaskRule("cmnd", field=re.compile(r"cmnd|chungminh|so_?cmt", re.I)),
    # social-insurance numbers (10 digits, like enterprise codes): by field name
    MaskRule("bhxh", field=re.compile(r"bhxh|baohiem|social_?insurance", re.I)),
    # phone numbers: by field name, and +84 numbers anywhere
    MaskRule(
        "phone", field=re.compile(r"dien_?thoai|phone|mobile|telephone|^sdt$|so_?dt|fax", re.I)
    ),
    MaskRule("phone-intl", pattern=re.compile(r"\+84\d{9,10}(?!\d)")),
    MaskRule("email", field=re.compile(r"e_?mail|thu_?dien_?tu", re.I)),
)


def load_rules(path: Path | None) -> tuple[MaskRule, ...]:
    """The default rules, and a file's own: `[{name, pattern?, field?}, …]` (YAML or JSON)."""
    if path is None:
        return DEFAULT_RULES
    try:
        raw = read_document(path, 256 * 1024)
    except SpecError as exc:
        raise CassetteError(str(exc)) from None
    if not isinstance(raw, list):
        raise CassetteError(f"{path}: a list of rules {{name, pattern, field}} expected")
    rules = list(DEFAULT_RULES)
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise CassetteError(f"{path}: [{i}]: a rule is {{name, pattern?, field?}}")
        compiled: dict[str, re.Pattern[str] | None] = {}
        for key in ("pattern", "field"):
            text = item.get(key)
            if text is None:
                compiled[key] = None
                continue
            if not isinstance(text, str) or len(text) > 500:
                raise CassetteError(f"{path}: [{i}].{key}: a regular expression (≤ 500 chars)")
            try:
                compiled[key] = re.compile(text)
            except re.error as exc:
                raise CassetteError(
                    f"{path}: [{i}].{key}: not a regular expression: {exc}"
                ) from None
        if compiled["pattern"] is None and compiled["field"] is None:
            raise CassetteError(f"{path}: [{i}]: give pattern, field or both")
        rules.append(MaskRule(item["name"], compiled["pattern"], compiled["field"]))
    return tuple(rules)


def _mask_text(text: str, rules: Iterable[MaskRule]) -> str:
    for rule in rules:
        if rule.pattern is not None:
            text = rule.pattern.sub(lambda m: MASK * len(m.group(0)), text)
    return text


def mask_value(value: Any, rules: Sequence[MaskRule], field: str = "") -> Any:
    """The value with secrets blanked and people's numbers masked, recursively."""
    if field and _SECRET_FIELD.search(field):
        return SECRET_VALUE
    if isinstance(value, dict):
        return {k: mask_value(v, rules, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v, rules, field) for v in value]
    by_field = field and any(r.field is not None and r.field.search(field) for r in rules)
    if by_field and isinstance(value, str | int) and not isinstance(value, bool):
        return MASK * len(str(value))
    if isinstance(value, str):
        return _mask_text(value, rules)
    return value


def kept_headers(headers: Iterable[tuple[str, str]], kept: frozenset[str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers if k.lower() in kept and not _SECRET_HEADER.search(k)}


def body_value(content_type: str, body: bytes) -> Any:
    """What a cassette writes for a body: its JSON, its text, or a note of its size."""
    if not body:
        return None
    if len(body) > MAX_BODY_BYTES:
        return {"$omitted": f"{len(body)} bytes"}
    if "json" in content_type.lower():
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return {"$omitted": f"{len(body)} bytes, not text"}


def body_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def new_cassette(service: str, version: str, upstream: str) -> dict[str, Any]:
    return {"service": service, "version": version, "upstream": upstream, "interactions": []}


def write_cassette(path: Path, cassette: dict[str, Any]) -> None:
    """Atomically: a reader (or a crash) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix in {".yaml", ".yml"}:
        text = yaml.safe_dump(cassette, allow_unicode=True, sort_keys=False, width=100)
    else:
        text = json.dumps(cassette, ensure_ascii=False, indent=2) + "\n"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def load_cassette(path: Path) -> dict[str, Any]:
    """A cassette, its shape checked; CassetteError naming the place otherwise."""
    try:
        raw = read_document(path, MAX_CASSETTE_BYTES)
    except SpecError as exc:
        raise CassetteError(str(exc)) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("interactions"), list):
        raise CassetteError(f"{path}: (top level): a mapping with a list of interactions")
    items = raw["interactions"]
    if len(items) > MAX_INTERACTIONS:
        raise CassetteError(f"{path}: interactions: more than {MAX_INTERACTIONS:,}")
    for i, item in enumerate(items):
        where = f"{path}: interactions[{i}]"
        if not isinstance(item, dict):
            raise CassetteError(f"{where}: a mapping {{request, response}} expected")
        request, response = item.get("request"), item.get("response")
        if not isinstance(request, dict):
            raise CassetteError(f"{where}.request: a mapping expected")
        if not isinstance(request.get("method"), str) or not isinstance(request.get("path"), str):
            raise CassetteError(f"{where}.request: method and path (strings) are required")
        if not str(request["path"]).startswith("/"):
            raise CassetteError(f"{where}.request.path: starts with /")
        query = request.get("query", [])
        if not isinstance(query, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
            for p in query
        ):
            raise CassetteError(f"{where}.request.query: a list of [name, value] pairs")
        if not isinstance(response, dict):
            raise CassetteError(f"{where}.response: a mapping expected")
        status = response.get("status")
        if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
            raise CassetteError(f"{where}.response.status: an HTTP status (200–599)")
        for name, part in (("request", request), ("response", response)):
            headers = part.get("headers", {})
            if not isinstance(headers, dict) or not all(
                isinstance(k, str) and _TOKEN.match(k) and isinstance(v, str) and _VALUE.match(v)
                for k, v in headers.items()
            ):
                raise CassetteError(
                    f"{where}.{name}.headers: a mapping of header names to one-line values"
                )
    return raw


# -- matching (replay) ------------------------------------------------------------------


def _same_text(recorded: str, given: str) -> bool:
    """Equal, a MASK in the recording standing for any one character."""
    if MASK not in recorded:
        return recorded == given
    return len(recorded) == len(given) and all(
        r == g or r == MASK for r, g in zip(recorded, given, strict=True)
    )


def same_value(recorded: Any, given: Any) -> bool:
    if isinstance(recorded, dict) and isinstance(given, dict):
        return recorded.keys() == given.keys() and all(
            same_value(v, given[k]) for k, v in recorded.items()
        )
    if isinstance(recorded, list) and isinstance(given, list):
        return len(recorded) == len(given) and all(
            same_value(r, g) for r, g in zip(recorded, given, strict=True)
        )
    if recorded == SECRET_VALUE:
        return True  # blanked when recorded: whatever the caller sends
    if isinstance(recorded, str) and MASK in recorded:
        return _same_text(recorded, str(given))
    if isinstance(recorded, bool) or isinstance(given, bool):
        return recorded is given
    return bool(recorded == given)


def _same_query(recorded: list[list[str]], given: list[tuple[str, str]]) -> bool:
    if len(recorded) != len(given):
        return False
    left = sorted((k, v) for k, v in recorded)
    right = sorted(given)
    return all(a[0] == b[0] and _same_text(a[1], b[1]) for a, b in zip(left, right, strict=True))


def differences(
    request: dict[str, Any],
    method: str,
    path: str,
    query: list[tuple[str, str]],
    body: Any,
    parts: Sequence[str] = MATCH_PARTS,
) -> list[str]:
    """What keeps a recorded request from matching this one (empty: it matches)."""
    found = []
    if "method" in parts and request["method"].upper() != method.upper():
        found.append(f"method: recorded {request['method']}, got {method}")
    if "path" in parts and not _same_text(request["path"], path):
        found.append(f"path: recorded {request['path']}, got {path}")
    if "query" in parts and not _same_query(request.get("query", []), query):
        recorded = "&".join(f"{k}={v}" for k, v in request.get("query", []))
        got = "&".join(f"{k}={v}" for k, v in query)
        found.append(f"query: recorded {recorded or '(none)'}, got {got or '(none)'}")
    if "body" in parts and not same_value(request.get("body"), body):
        found.append("body: differs from the recorded one")
    return found
