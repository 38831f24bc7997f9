"""Who is calling: bearer token -> consumer, and the admin check."""

from __future__ import annotations

from apikit.problems import ProblemError
from contracts.topology import Consumer
from gateway.state import PlatformState, is_admin


def authenticate(state: PlatformState, authorization: str | None) -> Consumer:
    claims = state.tokens.verify_header(authorization)
    consumer = state.consumers_by_id.get(claims.consumer_id)
    if consumer is None:
        raise ProblemError(
            401,
            "invalid-token",
            "Invalid access token",
            f"Consumer {claims.consumer_id!r} is no longer registered at {state.spec.name}.",
        )
    return consumer


def require_admin(state: PlatformState, authorization: str | None) -> Consumer:
    consumer = authenticate(state, authorization)
    if not is_admin(consumer):
        raise ProblemError(
            403,
            "admin-only",
            "Admin credential required",
            f"Consumer {consumer.id!r} is not an administrator of {state.spec.name}.",
        )
    return consumer
