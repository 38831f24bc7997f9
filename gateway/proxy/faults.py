"""The fault rules a platform applies to the calls it routes, first match wins."""

from __future__ import annotations

import asyncio
import random

import orjson

from contracts.faults import FaultAction, FaultRule


class Faults:
    def __init__(self, seeded: list[FaultRule]) -> None:
        self._seeded = list(seeded)  # from the topology: what a reset returns to
        self.rules: list[FaultRule] = list(seeded)

    def reset(self) -> None:
        self.rules = list(self._seeded)

    def match(self, code: str, method: str, resource: str) -> FaultRule | None:
        if not self.rules:
            return None
        call = f"{method} /{resource}"
        for rule in self.rules:
            if rule.service != code:
                continue
            if rule.operation is not None and not call.startswith(rule.operation):
                continue
            if rule.probability < 1.0 and random.random() >= rule.probability:
                continue
            return rule
        return None


async def delay(rule: FaultRule) -> None:
    jitter = random.uniform(-rule.jitter_ms, rule.jitter_ms) if rule.jitter_ms else 0.0
    seconds = max(0.0, rule.latency_ms + jitter) / 1000
    if seconds:
        await asyncio.sleep(seconds)


def corrupt(body: bytes) -> bytes:
    """The same answer with its first field's value of the wrong type."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return b"\x00corrupted"
    if isinstance(value, dict) and value:
        first = next(iter(value))
        value[first] = [["corrupted"]]
    elif isinstance(value, list):
        value = {"corrupted": value}
    else:
        value = [["corrupted"]]
    return orjson.dumps(value)


__all__ = ["FaultAction", "Faults", "corrupt", "delay"]
