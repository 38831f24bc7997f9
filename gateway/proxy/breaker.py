"""A circuit breaker per service: stop calling a back end that keeps failing, then probe.

Closed: calls pass. After `threshold` consecutive failures it opens: calls get 503 at once,
without waiting on a dead back end. After `reset_seconds` one call is let through as a
probe (half-open); its success closes the circuit, its failure opens it again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass
class Circuit:
    state: CircuitState = CircuitState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    probing: bool = False


class Breakers:
    def __init__(self, threshold: int, reset_seconds: float) -> None:
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self._circuits: dict[str, Circuit] = {}

    def circuit(self, key: str) -> Circuit:
        return self._circuits.setdefault(key, Circuit())

    def allow(self, key: str) -> float | None:
        """None when the call may go; else seconds until the next probe."""
        c = self.circuit(key)
        if c.state is CircuitState.CLOSED:
            return None
        waited = time.monotonic() - c.opened_at
        if c.state is CircuitState.OPEN and waited >= self.reset_seconds:
            c.state = CircuitState.HALF_OPEN
        if c.state is CircuitState.HALF_OPEN and not c.probing:
            c.probing = True
            return None
        return max(0.0, self.reset_seconds - waited)

    def record(self, key: str, success: bool) -> None:
        c = self.circuit(key)
        c.probing = False
        if success:
            c.state, c.failures = CircuitState.CLOSED, 0
            return
        c.failures += 1
        if c.state is CircuitState.HALF_OPEN or c.failures >= self.threshold:
            c.state, c.opened_at = CircuitState.OPEN, time.monotonic()

    def states(self) -> dict[str, CircuitState]:
        return {k: c.state for k, c in self._circuits.items()}

    def reset(self) -> None:
        self._circuits.clear()
