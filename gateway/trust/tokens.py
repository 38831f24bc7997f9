"""Signed, expiring access tokens (JWT, HS256), issued and checked by one platform."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from apikit.problems import ProblemError
from contracts.platform import TokenResponse
from gateway.trust.keyring import Keyring

_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Claims:
    consumer_id: str
    expires_at: int


def _unauthorized(slug: str, title: str, detail: str) -> ProblemError:
    return ProblemError(
        401, slug, title, detail, headers={"WWW-Authenticate": 'Bearer realm="gsp"'}
    )


class TokenService:
    _CACHE_SIZE = 10_000

    def __init__(self, issuer: str, keyring: Keyring, ttl_seconds: int) -> None:
        self.issuer = issuer
        self.keyring = keyring
        self._ttl = ttl_seconds
        # A consumer sends the same token for an hour: check its signature once, not per call.
        self._verified: dict[str, Claims] = {}

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
        key = self.keyring.active
        token = jwt.encode(claims, key.key, algorithm=_ALGORITHM, headers={"kid": key.kid})
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
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at > time.time():
                return cached
            del self._verified[token]
        claims = self._decode(token)
        if len(self._verified) >= self._CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _decode(self, token: str) -> Claims:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self.keyring.find(kid) if isinstance(kid, str) else None
            if key is None:
                raise jwt.InvalidKeyError("unknown or retired key id")
            claims = jwt.decode(
                token,
                key.key,
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
