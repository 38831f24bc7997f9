"""A back end that answers from a cassette (params.cassette), matching what was recorded.

A call is matched on method, path, query and body (params.match: which of them, comma
separated; a MASK in the recording stands for any character). The first recorded exchange
that matches answers; with none, a 404 problem names the closest near miss and what differs,
as WireMock's near-miss report does. The same call recorded several times is answered in the
recorded order, the last answer repeating after that.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from apikit.problems import ProblemError
from contracts.cassette import (
    MATCH_PARTS,
    CassetteError,
    body_bytes,
    body_value,
    differences,
    load_cassette,
)
from services.common.app import create_backend_app
from services.common.config import BackendConfig

MAX_BODY_BYTES = 4 * 1024 * 1024


def match_parts(given: object) -> tuple[str, ...]:
    if given is None or given == "":
        return MATCH_PARTS
    parts = tuple(p.strip() for p in str(given).split(",") if p.strip())
    unknown = [p for p in parts if p not in MATCH_PARTS]
    if unknown or not parts:
        raise CassetteError(
            f"match: {', '.join(unknown) or '(empty)'}: choose from {', '.join(MATCH_PARTS)}"
        )
    return parts


def create_app(config: BackendConfig) -> FastAPI:
    path = Path(str(config.params.get("cassette", "")))
    cassette = load_cassette(path)  # a broken cassette stops the back end, saying where
    parts = match_parts(config.params.get("match"))
    interactions: list[dict[str, Any]] = cassette["interactions"]
    served: set[int] = set()
    router = APIRouter()

    async def replay(request: Request, resource: str) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise ProblemError(
                413, "payload-too-large", "Payload too large", f"more than {MAX_BODY_BYTES} bytes"
            )
        given = body_value(request.headers.get("content-type", ""), body)
        query = list(request.query_params.multi_items())
        resource_path = "/" + resource
        nearest: tuple[int, int, list[str]] | None = None
        matching: list[int] = []
        for i, item in enumerate(interactions):
            found = differences(item["request"], request.method, resource_path, query, given, parts)
            if not found:
                matching.append(i)
            elif nearest is None or len(found) < len(nearest[2]):
                nearest = (len(found), i, found)
        if matching:
            # The same call recorded several times (a status polled while it changed) is
            # answered in the recorded order; the last answer then stays.
            chosen = next((i for i in matching if i not in served), matching[-1])
            served.add(chosen)
            return _answer(interactions[chosen]["response"])
        detail = f"No recorded exchange in {path.name} matches {request.method} {resource_path}"
        extra: dict[str, Any] = {}
        if nearest is not None:
            recorded = interactions[nearest[1]]["request"]
            detail += (
                f". Closest: interactions[{nearest[1]}] ({recorded['method']} "
                f"{recorded['path']}): {'; '.join(nearest[2])}."
            )
            extra["near_miss"] = {"interaction": nearest[1], "differences": nearest[2]}
        else:
            detail += ": the cassette is empty."
        raise ProblemError(404, "no-recorded-exchange", "Not in the cassette", detail, **extra)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    router.add_api_route("/{resource:path}", replay, methods=methods, include_in_schema=False)
    return create_backend_app(
        config,
        title=f"Replay of {path.name}",
        description=f"Answers from {len(interactions)} recorded exchanges.",
        routers=[router],
    )


def _answer(response: dict[str, Any]) -> Response:
    headers = dict(response.get("headers", {}))
    media_type = headers.pop("content-type", None)
    body = response.get("body")
    if media_type is None and body is not None and not isinstance(body, str):
        media_type = "application/json"
    content = body_bytes(body) if not (isinstance(body, dict) and "$omitted" in body) else b""
    if media_type and "json" in media_type and isinstance(body, str):
        content = json.dumps(body).encode() if not _is_json(body) else body.encode()
    if response["status"] in (204, 304):
        content = b""  # no body may follow these, whatever the file says
    return Response(content, status_code=response["status"], media_type=media_type, headers=headers)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
