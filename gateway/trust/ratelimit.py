"""Per-consumer token buckets: a noisy consumer is throttled alone, never its neighbours."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from contracts.topology import RateLimit


@dataclass
class _Bucket:
    rate: float
    burst: float
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, limits: dict[str, RateLimit]) -> None:
        now = time.monotonic()
        self._buckets = {
            consumer: _Bucket(limit.per_second, limit.burst, limit.burst, now)
            for consumer, limit in limits.items()
        }

    def acquire(self, consumer: str) -> float | None:
        """None if the call may go ahead, else the seconds until it may."""
        bucket = self._buckets.get(consumer)
        if bucket is None:
            return None
        now = time.monotonic()
        bucket.tokens = min(bucket.burst, bucket.tokens + (now - bucket.updated) * bucket.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / bucket.rate

    def reset(self) -> None:
        """Every bucket full again, as at start."""
        now = time.monotonic()
        for bucket in self._buckets.values():
            bucket.tokens, bucket.updated = bucket.burst, now


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
