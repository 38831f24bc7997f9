"""POST /token: OAuth2 client credentials, as WSO2 API Manager answers it on the real platforms."""

from __future__ import annotations

import base64
import binascii
import hmac
import time
import uuid

from fastapi import APIRouter, Request

from apikit.problems import ProblemError
from contracts.platform import TokenResponse
from contracts.problem import Problem
from contracts.topology import Consumer
from gateway.audit import AuditEntry
from gateway.state import PlatformState, platform_of

router = APIRouter(tags=["platform"])


def _oauth_error(status: int, error: str, detail: str) -> ProblemError:
    # `error`/`error_description` keep OAuth2 clients (RFC 6749 5.2) working unchanged.
    headers = {"WWW-Authenticate": 'Basic realm="gsp"'} if status == 401 else None
    return ProblemError(
        status,
        error.replace("_", "-"),
        "Token request refused",
        detail,
        headers=headers,
        error=error,
        error_description=detail,
    )


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _oauth_error(
            400, "invalid_request", "The Basic credentials are not base64."
        ) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise _oauth_error(400, "invalid_request", "Basic credentials must be 'key:secret'.")
    return client_id, secret


def authenticate_client(state: PlatformState, client_id: str, secret: str) -> Consumer:
    consumer = state.consumers_by_client_id.get(client_id)
    expected = consumer.client_secret if consumer else "x" * 32
    # Compare even for unknown keys, so timing does not tell which keys exist.
    if not hmac.compare_digest(expected.encode(), secret.encode()) or consumer is None:
        raise _oauth_error(401, "invalid_client", "Unknown consumer key or wrong secret.")
    return consumer


@router.post(
    "/token",
    response_model=TokenResponse,
    summary="Get an access token (client credentials grant)",
    responses={400: {"model": Problem}, 401: {"model": Problem}, 415: {"model": Problem}},
)
async def issue_token(request: Request) -> TokenResponse:
    state = platform_of(request)
    started = time.perf_counter()
    consumer_id: str | None = None
    try:
        consumer = await _authenticate_token_request(state, request)
        consumer_id = consumer.id
        issued = state.tokens.issue(consumer.id)
    except ProblemError as exc:
        _audit(state, request, started, consumer_id, exc.status, exc.slug)
        raise
    # Token issuance is logged like an exchange, so a consumer fetching a token per call
    # (instead of caching it) shows in the audit log.
    _audit(state, request, started, consumer_id, 200, "token-issued")
    return issued


def _audit(
    state: PlatformState,
    request: Request,
    started: float,
    consumer: str | None,
    status: int,
    outcome: str,
) -> None:
    state.audit.record(
        AuditEntry(
            time=time.time(),
            platform=state.spec.name,
            message_id=uuid.uuid4().hex,
            consumer=consumer,
            origin_consumer=consumer,
            service=None,
            version=None,
            method=request.method,
            path=request.url.path,
            status=status,
            duration_ms=(time.perf_counter() - started) * 1000,
            request_bytes=int(request.headers.get("content-length") or 0),
            response_bytes=0,
            outcome=outcome,
            # Token requests carry secrets: not even their hash is kept.
            request_hash="",
            response_hash="",
        )
    )


async def _authenticate_token_request(state: PlatformState, request: Request) -> Consumer:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Token request must be form-encoded",
            "Send Content-Type: application/x-www-form-urlencoded with "
            "grant_type=client_credentials.",
        )
    form = await request.form()
    grant_type = form.get("grant_type")
    if grant_type != "client_credentials":
        raise _oauth_error(
            400,
            "unsupported_grant_type",
            f"grant_type must be client_credentials, got {grant_type!r}.",
        )
    basic = _basic_credentials(request.headers.get("authorization"))
    if basic is None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if not isinstance(client_id, str) or not isinstance(secret, str):
            raise _oauth_error(
                401,
                "invalid_client",
                "Give the consumer key and secret in HTTP Basic auth or as "
                "client_id/client_secret form fields.",
            )
        basic = (client_id, secret)
    return authenticate_client(state, *basic)
