"""A back end that passes each call on to a real upstream and writes the exchange down.

params: `upstream` (the base URL the resource is appended to), `cassette` (the file, YAML
or JSON by its suffix; exchanges are added to what it holds), `rules` (optional: a file of
extra masking rules, contracts/cassette.py). The upstream's own credentials, when it wants
some, come from the environment (GSP_RECORD_AUTHORIZATION: the whole Authorization value),
never from a file, and are never written.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from apikit.problems import ProblemError
from contracts.cassette import (
    KEPT_REQUEST_HEADERS,
    KEPT_RESPONSE_HEADERS,
    MAX_INTERACTIONS,
    CassetteError,
    body_value,
    kept_headers,
    load_cassette,
    load_rules,
    mask_value,
    new_cassette,
    write_cassette,
)
from services.common.app import create_backend_app
from services.common.config import BackendConfig

AUTHORIZATION_ENV = "GSP_RECORD_AUTHORIZATION"
MAX_BODY_BYTES = 4 * 1024 * 1024
UPSTREAM_TIMEOUT_SECONDS = 30.0
_NOT_PASSED = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade", "te"}
)
_NOT_RETURNED = frozenset(
    {"content-length", "content-encoding", "transfer-encoding", "connection", "set-cookie"}
)


def _checked_upstream(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise CassetteError(f"upstream {url!r}: an http(s) URL with a host expected")
    if parts.username or parts.password:
        raise CassetteError(f"upstream {url!r}: credentials go in {AUTHORIZATION_ENV}, not the URL")
    return url.rstrip("/")


def create_app(config: BackendConfig) -> FastAPI:
    upstream = _checked_upstream(str(config.params.get("upstream", "")))
    cassette_path = Path(str(config.params.get("cassette", "")))
    if not cassette_path.name:
        raise CassetteError(f"back end {config.name}: params.cassette is required")
    rules_param = config.params.get("rules")
    rules = load_rules(Path(str(rules_param)) if rules_param else None)
    service = str(config.params.get("service", config.name))
    version = str(config.params.get("version", "1.0"))
    cassette: dict[str, Any] = (
        load_cassette(cassette_path)
        if cassette_path.is_file()
        else new_cassette(service, version, upstream)
    )
    lock = asyncio.Lock()
    router = APIRouter()

    async def record(request: Request, resource: str) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise ProblemError(
                413, "payload-too-large", "Payload too large", f"more than {MAX_BODY_BYTES} bytes"
            )
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _NOT_PASSED]
        secret = os.environ.get(AUTHORIZATION_ENV)
        if secret:
            headers.append(("Authorization", secret))
        path = "/" + resource
        try:
            async with httpx.AsyncClient(
                trust_env=False, timeout=UPSTREAM_TIMEOUT_SECONDS
            ) as client:
                answer = await client.request(
                    request.method,
                    upstream + path,
                    params=list(request.query_params.multi_items()),
                    headers=headers,
                    content=body,
                )
        except httpx.HTTPError as exc:
            raise ProblemError(
                502,
                "upstream-unreachable",
                "The recorded upstream did not answer",
                f"{request.method} {upstream}{path}: {type(exc).__name__}: {exc}",
            ) from None
        request_type = request.headers.get("content-type", "")
        response_type = answer.headers.get("content-type", "")
        exchange = {
            "request": {
                "method": request.method,
                "path": mask_value(path, rules),
                "query": [
                    [k, str(mask_value(v, rules, k))] for k, v in request.query_params.multi_items()
                ],
                "headers": kept_headers(request.headers.items(), KEPT_REQUEST_HEADERS),
                "body": mask_value(body_value(request_type, body), rules),
            },
            "response": {
                "status": answer.status_code,
                "headers": kept_headers(answer.headers.items(), KEPT_RESPONSE_HEADERS),
                "body": mask_value(body_value(response_type, answer.content), rules),
            },
        }
        async with lock:
            if len(cassette["interactions"]) < MAX_INTERACTIONS:
                cassette["interactions"].append(exchange)
                await asyncio.to_thread(write_cassette, cassette_path, cassette)
        return Response(
            answer.content,
            status_code=answer.status_code,
            headers={k: v for k, v in answer.headers.items() if k.lower() not in _NOT_RETURNED},
        )

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    router.add_api_route("/{resource:path}", record, methods=methods, include_in_schema=False)
    return create_backend_app(
        config,
        title=f"Recorder of {upstream}",
        description=f"Passes calls on to {upstream} and writes them to {cassette_path}.",
        routers=[router],
    )
