"""Signed, expiring access tokens (JWT, HS256), issued and checked by one platform."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt

from apikit.problems import ProblemError
from contracts.platform import TokenResponse

_ALGORITHM = "HS256"


def load_or_create_key(path: Path) -> bytes:
    """The signing key survives restarts, so tokens issued before a restart stay valid."""
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(key.hex())
    tmp.chmod(0o600)
    tmp.replace(path)
    return key


@dataclass(frozen=True)
class Claims:
    consumer_id: str
    expires_at: int


def _unauthorized(slug: str, title: str, detail: str) -> ProblemError:
    return ProblemError(
        401, slug, title, detail, headers={"WWW-Authenticate": 'Bearer realm="gsp"'}
    )


class TokenService:
    def __init__(self, issuer: str, key: bytes, ttl_seconds: int) -> None:
        self.issuer = issuer
        self._key = key
        self._ttl = ttl_seconds

    def issue(self, consumer_id: str) -> TokenResponse:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.issuer,
            "sub": consumer_id,
            "iat": now,
            "exp": now + self._ttl,
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self._key, algorithm=_ALGORITHM)
        return TokenResponse(access_token=token, expires_in=self._ttl)

    def verify_header(self, authorization: str | None) -> Claims:
        if not authorization:
            raise _unauthorized(
                "missing-token",
                "Access token required",
                "Send 'Authorization: Bearer <token>'; get a token from POST /token.",
            )
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized(
                "invalid-token",
                "Invalid access token",
                "The Authorization header must be 'Bearer <token>'.",
            )
        return self.verify(token.strip())

    def verify(self, token: str) -> Claims:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                audience=self.issuer,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized(
                "token-expired", "Access token expired", "Get a new token from POST /token."
            ) from None
        except jwt.PyJWTError:
            raise _unauthorized(
                "invalid-token",
                "Invalid access token",
                f"The token was not issued by platform {self.issuer!r}, or it was altered.",
            ) from None
        return Claims(consumer_id=str(claims["sub"]), expires_at=int(claims["exp"]))
