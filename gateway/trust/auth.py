"""Who is calling: the consumers a platform knows, and bearer token -> consumer."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Iterable, Iterator

from apikit.problems import ProblemError
from contracts.topology import Consumer, Role
from gateway.trust.tokens import TokenService

# Compared against when a key is unknown, so timing does not tell which keys exist.
_NO_SECRET = b"x" * 32


def is_admin(consumer: Consumer) -> bool:
    return Role.ADMIN in consumer.roles


class Consumers:
    """The consumers of the topology, by id and by consumer key."""

    def __init__(self, consumers: Iterable[Consumer]) -> None:
        self._by_id = {c.id: c for c in consumers}
        self._by_client_id = {c.client_id: c for c in self._by_id.values()}

    def get(self, consumer_id: str) -> Consumer | None:
        return self._by_id.get(consumer_id)

    def __iter__(self) -> Iterator[Consumer]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def with_secret(self, client_id: str, secret: str) -> Consumer | None:
        """The consumer whose key and secret these are, compared in constant time."""
        consumer = self._by_client_id.get(client_id)
        expected = consumer.client_secret.encode() if consumer else _NO_SECRET
        if not hmac.compare_digest(expected, secret.encode()):
            return None
        return consumer


class Authenticator:
    def __init__(self, platform: str, tokens: TokenService, consumers: Consumers) -> None:
        self._platform = platform
        self._tokens = tokens
        self._consumers = consumers

    def authenticate(self, authorization: str | None) -> Consumer:
        claims = self._tokens.verify_header(authorization)
        consumer = self._consumers.get(claims.consumer_id)
        if consumer is None:
            raise ProblemError(
                401,
                "invalid-token",
                "Invalid access token",
                f"Consumer {claims.consumer_id!r} is no longer registered at {self._platform}.",
            )
        return consumer

    def with_lgsp_access_token(self, value: str) -> Consumer:
        """The consumer an `lgspaccesstoken` header names: base64 of a JSON object whose
        AccessKey and SecretKey are the consumer's key and secret (the Hậu Giang LGSP's
        scheme, sent on every call instead of a bearer token)."""
        try:
            fields = json.loads(base64.b64decode(value.strip(), validate=True))
            key, secret = fields["AccessKey"], fields["SecretKey"]
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise ProblemError(
                401,
                "invalid-lgsp-access-token",
                "Invalid lgspaccesstoken",
                "lgspaccesstoken must be base64 of a JSON object with AccessKey and SecretKey.",
            ) from None
        consumer = (
            self._consumers.with_secret(key, secret)
            if isinstance(key, str) and isinstance(secret, str)
            else None
        )
        if consumer is None:
            raise ProblemError(
                401,
                "invalid-lgsp-access-token",
                "Invalid lgspaccesstoken",
                f"Unknown AccessKey or wrong SecretKey at {self._platform}.",
            )
        return consumer

    def require_admin(self, authorization: str | None) -> Consumer:
        consumer = self.authenticate(authorization)
        if not is_admin(consumer):
            raise ProblemError(
                403,
                "admin-only",
                "Admin credential required",
                f"Consumer {consumer.id!r} is not an administrator of {self._platform}.",
            )
        return consumer
