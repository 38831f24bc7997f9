"""POST /token and POST /revoke: OAuth2 client credentials and token revocation (RFC 7009), as
WSO2 API Manager serves them on the real platforms: 3.x at the gateway's `/token` and
`/revoke` (what OpenCPS configures), 4.x at `/oauth2/token` and `/oauth2/revoke`. Both pairs
answer here, the same way."""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Request, Response
from starlette.datastructures import FormData

from apikit.gateway_fault import OAuthError
from apikit.openapi import FOREIGN_ERRORS
from apikit.problems import ProblemError
from contracts.platform import TokenResponse
from contracts.problem import PROBLEM_MEDIA_TYPE
from contracts.topology import Consumer
from gateway.api.deps import ConsumersDep, ExchangeDep, TokensDep
from gateway.messagelog.audited import audited_route
from gateway.trust.auth import Consumers

# Refusals as an OAuth 2.0 server writes them (as WSO2's token endpoint), problem+json on Accept.
router = APIRouter(tags=["platform"], route_class=audited_route(None, faults=True))


def _oauth_error(status: int, error: str, detail: str) -> ProblemError:
    # Answered as an OAuth 2.0 server (and WSO2's token endpoint) does, RFC 6749 5.2:
    # {"error_description", "error"}; problem+json for a caller that asks for it.
    headers = {"WWW-Authenticate": 'Basic realm="gsp"'} if status == 401 else {}
    return ProblemError(
        status,
        error.replace("_", "-"),
        "Token request refused",
        detail,
        headers=headers,
        error=error,
        error_description=detail,
        fault=OAuthError(status, error, detail),
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


def authenticate_client(consumers: Consumers, client_id: str, secret: str) -> Consumer:
    consumer = consumers.with_secret(client_id, secret)
    if consumer is None:
        raise _oauth_error(401, "invalid_client", "Unknown consumer key or wrong secret.")
    return consumer


_TOKEN_BODY = {
    FOREIGN_ERRORS: True,
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "client_id": {
                            "type": "string",
                            "description": "or the key in HTTP Basic auth",
                        },
                        "client_secret": {
                            "type": "string",
                            "description": "or the secret in Basic auth",
                        },
                        "scope": {"type": "string"},
                    },
                }
            }
        },
    },
}
_REVOKE_BODY = {
    FOREIGN_ERRORS: True,
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["token"],
                    "properties": {
                        "token": {"type": "string", "description": "the access token"},
                        "token_type_hint": {"type": "string"},
                        "client_id": {
                            "type": "string",
                            "description": "or the key in HTTP Basic auth",
                        },
                        "client_secret": {
                            "type": "string",
                            "description": "or the secret in Basic auth",
                        },
                    },
                }
            }
        },
    },
}


_PROBLEM = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
# RFC 6749 5.2's error body by default (as WSO2's token endpoint answers), problem+json for a
# caller that asks for it; the routes carry FOREIGN_ERRORS so these are kept as written.
_OAUTH_REFUSAL: dict[str, object] = {
    "description": "Refused (RFC 6749 5.2; problem+json when the caller accepts it)",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {"type": "string"},
                    "error_description": {"type": "string"},
                },
            }
        },
        **_PROBLEM,
    },
}
_TOKEN_RESPONSES: dict[int | str, dict[str, object]] = {
    400: _OAUTH_REFUSAL,
    401: _OAUTH_REFUSAL,
    415: {"description": "Not a form body", "content": _PROBLEM},
}


@router.post(
    "/oauth2/token",
    response_model=TokenResponse,
    summary="Get an access token (client credentials grant; WSO2 API-M 4.x path)",
    responses=_TOKEN_RESPONSES,
    openapi_extra=_TOKEN_BODY,
)
@router.post(
    "/token",
    response_model=TokenResponse,
    summary="Get an access token (client credentials grant)",
    responses=_TOKEN_RESPONSES,
    openapi_extra=_TOKEN_BODY,
)
async def issue_token(
    request: Request,
    response: Response,
    exchange: ExchangeDep,
    consumers: ConsumersDep,
    tokens: TokensDep,
) -> TokenResponse:
    # Token issuance is an audited exchange, so a consumer fetching a token per call
    # (instead of caching it) shows in the audit log. Token requests carry secrets: not even
    # their hashes are kept.
    exchange.keep_hashes = False
    exchange.request_bytes = int(request.headers.get("content-length") or 0)
    consumer = await _authenticate_token_request(consumers, request)
    exchange.note_caller(consumer.id)
    issued = tokens.issue(consumer.id)
    exchange.outcome = "token-issued"
    # RFC 6749 5.1: a reply carrying a token is never cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return issued


_REVOKE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "Revoked, or not a token of this client (RFC 7009 2.2)"},
    **_TOKEN_RESPONSES,
}


@router.post(
    "/oauth2/revoke",
    summary="Revoke an access token (RFC 7009; WSO2 API-M 4.x path)",
    response_class=Response,
    responses=_REVOKE_RESPONSES,
    openapi_extra=_REVOKE_BODY,
)
@router.post(
    "/revoke",
    summary="Revoke an access token (RFC 7009)",
    response_class=Response,
    responses=_REVOKE_RESPONSES,
    openapi_extra=_REVOKE_BODY,
)
async def revoke_token(
    request: Request, exchange: ExchangeDep, consumers: ConsumersDep, tokens: TokensDep
) -> Response:
    exchange.keep_hashes = False
    exchange.request_bytes = int(request.headers.get("content-length") or 0)
    form = await _form(request, "token=<the access token>")
    consumer = _client_of(consumers, request, form)
    exchange.note_caller(consumer.id)
    token = form.get("token")
    if not isinstance(token, str) or not token:
        raise _oauth_error(400, "invalid_request", "Give the token to revoke as token=<token>.")
    # An unknown token, or another client's, is answered 200 too: nothing to tell a prober.
    exchange.outcome = "token-revoked" if tokens.revoke(token, consumer.id) else "token-unknown"
    return Response(status_code=200, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def _form(request: Request, what: str) -> FormData:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Token request must be form-encoded",
            f"Send Content-Type: application/x-www-form-urlencoded with {what}.",
        )
    return await request.form()


def _client_of(consumers: Consumers, request: Request, form: FormData) -> Consumer:
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
    return authenticate_client(consumers, *basic)


async def _authenticate_token_request(consumers: Consumers, request: Request) -> Consumer:
    form = await _form(request, "grant_type=client_credentials")
    grant_type = form.get("grant_type")
    if grant_type != "client_credentials":
        raise _oauth_error(
            400,
            "unsupported_grant_type",
            f"grant_type must be client_credentials, got {grant_type!r}.",
        )
    return _client_of(consumers, request, form)
