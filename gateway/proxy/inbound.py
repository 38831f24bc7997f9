"""Inbound checks: what a platform verifies of a request before anything acts on it.

The path (nothing that could address something other than what it appears to), the body
(bounded in size and in time) and, when declared as JSON, that it parses. Shared by the
routed call and the platform's own API; none of it needs a route.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote, unquote_to_bytes

import orjson
from starlette.requests import Request
from starlette.types import Scope

from apikit.problems import ProblemError
from contracts.problem import FieldError


def _bad_path(reason: str) -> ProblemError:
    return ProblemError(
        400,
        "invalid-path",
        "Invalid path",
        "Paths may not contain '.' or '..' segments, empty segments, encoded slashes, "
        "backslashes or NUL bytes, and must be UTF-8.",
        errors=[FieldError(field="$.path", reason=reason)],
    )


def check_path(request: Request) -> None:
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
    path: str = request.scope["path"]
    if "//" in path or any(seg in {".", ".."} for seg in path.split("/")):
        raise _bad_path("dot segment or empty segment")


_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?%[]"


def raw_tail(scope: Scope, skip: int) -> str:
    """The path after its first `skip` segments, as the caller wrote it: escapes kept as sent,
    bytes sent unencoded (UTF-8, controls) encoded. Encoded slashes are refused by
    `check_path` before this is used, so the raw and decoded paths have the same segments."""
    raw: bytes | None = scope.get("raw_path")
    if raw is None:  # a server that keeps no raw path: encode the decoded one
        parts = scope["path"].split("/", skip)
        return quote(parts[skip], safe=_PATH_SAFE) if len(parts) > skip else ""
    raw_parts = raw.split(b"/", skip)
    return quote(raw_parts[skip], safe=_PATH_SAFE + "%") if len(raw_parts) > skip else ""


def too_large(limit: int) -> ProblemError:
    return ProblemError(
        413, "payload-too-large", "Request body too large", f"The limit is {limit} bytes."
    )


def body_too_slow(within: float) -> ProblemError:
    return ProblemError(
        408,
        "request-timeout",
        "Request body too slow",
        f"The whole body must arrive within {within:g} s.",
    )


async def read_body(request: Request, limit: int, within: float) -> bytes:
    """The whole body, refused past `limit` bytes or when it takes longer than `within` s."""
    headers = request.headers
    declared = headers.get("content-length")
    if declared is None and "transfer-encoding" not in headers:
        return b""  # HTTP/1.1 framing: no length and no chunks means no body (RFC 9112 6.3)
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(within):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise body_too_slow(within) from None
    return b"".join(chunks)


def check_json(request: Request, body: bytes) -> None:
    """A body declared as JSON must parse; other media types pass untouched."""
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


def raw_query(scope: Scope) -> str:
    """The query as the caller wrote it, ASCII: escapes kept, unencoded bytes encoded."""
    query: bytes = scope.get("query_string", b"")
    return quote(query, safe=_QUERY_SAFE) if query else ""
