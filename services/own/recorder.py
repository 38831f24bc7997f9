"""A back end that passes each call on to a real upstream and writes the exchange down.

params: `upstream` (the base URL the resource is appended to), `cassette` (the file, YAML
or JSON by its suffix; exchanges are added to what it holds), `rules` (optional: a file of
extra masking rules, contracts/cassette.py). The upstream's own credentials, when it wants
some, come from the environment, never from a file, and are never written: either the whole
Authorization value (GSP_RECORD_AUTHORIZATION), or a WSO2 client-credentials grant as the
real LGSPs issue tokens (GSP_RECORD_TOKEN_URL, GSP_RECORD_CLIENT_ID, GSP_RECORD_CLIENT_SECRET:
a token is fetched, kept until it expires, and fetched again once when the upstream says 401).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from apikit.headers import CONSUMER, HOP_BY_HOP, MESSAGE_ID, ORIGIN_CONSUMER
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
TOKEN_URL_ENV = "GSP_RECORD_TOKEN_URL"
CLIENT_ID_ENV = "GSP_RECORD_CLIENT_ID"
CLIENT_SECRET_ENV = "GSP_RECORD_CLIENT_SECRET"
MAX_BODY_BYTES = 4 * 1024 * 1024
UPSTREAM_TIMEOUT_SECONDS = 30.0
# Not passed on: hop-by-hop headers, and the identity the sandbox's platform stamped on the
# call (a real platform upstream names its own consumer from the token it issued).
_NOT_PASSED = HOP_BY_HOP | {
    "host",
    "content-length",
    MESSAGE_ID.lower(),
    ORIGIN_CONSUMER.lower(),
    CONSUMER.lower(),
}
_NOT_RETURNED = frozenset(
    {"content-length", "content-encoding", "transfer-encoding", "connection", "set-cookie"}
)


def checked_upstream(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise CassetteError(f"upstream {url!r}: an http(s) URL with a host expected")
    if parts.username or parts.password:
        raise CassetteError(f"upstream {url!r}: credentials go in {AUTHORIZATION_ENV}, not the URL")
    return url.rstrip("/")


class UpstreamCredentials:
    """The Authorization value to send upstream, from the environment."""

    def __init__(self) -> None:
        self.fixed = os.environ.get(AUTHORIZATION_ENV)
        self.token_url = os.environ.get(TOKEN_URL_ENV)
        self.client = (os.environ.get(CLIENT_ID_ENV, ""), os.environ.get(CLIENT_SECRET_ENV, ""))
        self._token: str | None = None
        self._until = 0.0

    async def header(self, client: httpx.AsyncClient, *, fresh: bool = False) -> str | None:
        if self.fixed or not self.token_url:
            return self.fixed
        if fresh or self._token is None or time.monotonic() >= self._until:
            answer = await client.post(
                self.token_url, data={"grant_type": "client_credentials"}, auth=self.client
            )
            if answer.status_code != 200:
                raise ProblemError(
                    502,
                    "upstream-token-refused",
                    "The recorded upstream refused a token",
                    f"POST {self.token_url} answered {answer.status_code}: check "
                    f"{CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}.",
                )
            body = answer.json()
            self._token = str(body["access_token"])
            self._until = time.monotonic() + max(0, int(body.get("expires_in", 3600)) - 30)
        return f"Bearer {self._token}"

    @property
    def refreshable(self) -> bool:
        return not self.fixed and bool(self.token_url)


def create_app(config: BackendConfig) -> FastAPI:
    upstream = checked_upstream(str(config.params.get("upstream", "")))
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
    credentials = UpstreamCredentials()
    router = APIRouter()

    async def record(request: Request, resource: str) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise ProblemError(
                413, "payload-too-large", "Payload too large", f"more than {MAX_BODY_BYTES} bytes"
            )
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _NOT_PASSED]
        path = "/" + resource
        try:
            async with httpx.AsyncClient(
                trust_env=False, timeout=UPSTREAM_TIMEOUT_SECONDS
            ) as client:
                for fresh in (False, True):
                    secret = await credentials.header(client, fresh=fresh)
                    answer = await client.request(
                        request.method,
                        upstream + path,
                        params=list(request.query_params.multi_items()),
                        headers=headers + ([("Authorization", secret)] if secret else []),
                        content=body,
                    )
                    if answer.status_code != 401 or not credentials.refreshable:
                        break
        except (httpx.HTTPError, ValueError, KeyError) as exc:
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
