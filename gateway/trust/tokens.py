"""Expiring access tokens, issued and checked by one platform: opaque by default, as the NGSP
connection guide shows them (`Bearer 49d61ed6-…`, a UUID WSO2's key manager looks up), or
signed JWTs (HS256) where the topology asks for them (`token_format: jwt`)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Literal

import jwt

from apikit.problems import ProblemError
from contracts.platform import TokenResponse
from gateway.trust.keyring import Keyring
from gateway.trust.token_store import TokenStore

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

    def __init__(
        self,
        issuer: str,
        keyring: Keyring,
        ttl_seconds: int,
        store: TokenStore,
        token_format: Literal["opaque", "jwt"] = "opaque",
    ) -> None:
        self.issuer = issuer
        self.keyring = keyring
        self.store = store
        self.token_format = token_format
        self._ttl = ttl_seconds
        # A consumer sends the same token for an hour: check its signature once, not per call.
        self._verified: dict[str, Claims] = {}

    def issue(self, consumer_id: str) -> TokenResponse:
        now = int(time.time())
        if self.token_format == "opaque":
            token = str(uuid.uuid4())
            self.store.add(token, consumer_id, now + self._ttl)
            return TokenResponse(access_token=token, expires_in=self._ttl)
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

    def revoke(self, token: str, consumer_id: str) -> bool:
        """Revoke `token` if it is this consumer's (RFC 7009); False if it is not one."""
        stored = self.store.find(token)
        if stored is not None:
            if stored.consumer_id != consumer_id:
                return False
            self.store.revoke(token)
        else:
            try:
                claims = self._decode(token)
            except ProblemError:
                return False
            if claims.consumer_id != consumer_id:
                return False
            # A signed token stays valid by itself: keep its digest as revoked until it expires.
            self.store.add(token, consumer_id, claims.expires_at, revoked=True)
        self._verified.pop(token, None)
        return True

    def verify(self, token: str) -> Claims:
        stored = self.store.find(token)
        if stored is not None:
            return self._checked(stored.consumer_id, stored.expires_at, stored.revoked)
        if token.count(".") != 2:
            raise _unauthorized(
                "invalid-token",
                "Invalid access token",
                f"The token was not issued by platform {self.issuer!r}, or it was revoked.",
            )
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

    @staticmethod
    def _checked(consumer_id: str, expires_at: int, revoked: bool) -> Claims:
        if revoked:
            raise _unauthorized(
                "token-revoked", "Access token revoked", "Get a new token from POST /token."
            )
        if expires_at <= time.time():
            raise _unauthorized(
                "token-expired", "Access token expired", "Get a new token from POST /token."
            )
        return Claims(consumer_id=consumer_id, expires_at=expires_at)

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
