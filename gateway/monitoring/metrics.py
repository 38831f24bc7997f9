"""Live per-service metrics, fed by every audited exchange: the dashboard's and /metrics' source.

The audit log calls `Metrics.observe` for each record it accepts, so the counts here and the
rows in the audit log are the same exchanges. Each (service, version) keeps:

- a rolling window of the last `window_seconds` in one-second buckets: requests, errors,
  client errors, and a bounded sample of latencies per bucket (reservoir sampling), from
  which the dashboard reads the rate and p50/p95 latency;
- counters since the platform started and a latency histogram, per consumer too, for
  Prometheus.

What counts as an error: an exchange answered with a 5xx status, i.e. the platform or the
service failed (a back end's own 500, 502 contract-violation or back end down, 503
circuit-open, 504 timeout). A 4xx is a refused or malformed call (401, 403, 404, 422, 429):
the caller's problem, counted apart as a client error, so one consumer with an expired token
does not make a healthy service look broken.

Exchanges that named no service (token requests, paths matching no service) are counted
under service None. Everything is O(1) per exchange and lock-free: a platform runs on one
event loop, and `observe` never awaits.
"""

from __future__ import annotations

import bisect
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contracts.audit import AuditEntry
from contracts.platform import ExchangeSummary, ServiceMetrics

ServiceKey = tuple[str | None, str | None]
# (service, version, consumer): Prometheus' series; the consumer is None before one is known
# (a refused token request, say).
ConsumerKey = tuple[str | None, str | None, str | None]

# Upper bounds (seconds) of the latency histogram; Prometheus adds +Inf.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def is_error(status: int) -> bool:
    return status >= 500


def is_client_error(status: int) -> bool:
    return 400 <= status < 500


@dataclass(slots=True)
class _Bucket:
    """One second of one service's traffic."""

    second: int = -1
    requests: int = 0
    errors: int = 0
    client_errors: int = 0
    latencies: list[float] = field(default_factory=list)

    def restart(self, second: int) -> None:
        self.second = second
        self.requests = self.errors = self.client_errors = 0
        self.latencies.clear()


@dataclass(slots=True)
class Totals:
    """Since the platform started: what Prometheus scrapes."""

    requests: int = 0
    errors: int = 0
    client_errors: int = 0
    duration_seconds: float = 0.0
    # Count per histogram bucket (not cumulative); the last one is +Inf.
    histogram: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))

    def add(self, error: bool, client_error: bool, duration_ms: float) -> None:
        self.requests += 1
        self.errors += error
        self.client_errors += client_error
        self.duration_seconds += duration_ms / 1000
        self.histogram[bisect.bisect_left(LATENCY_BUCKETS, duration_ms / 1000)] += 1


@dataclass(slots=True)
class WindowView:
    requests: int
    errors: int
    client_errors: int
    p50_ms: float | None
    p95_ms: float | None


class ServiceSeries:
    """One service's rolling window and totals."""

    def __init__(self, window_seconds: int, reservoir: int, rng: random.Random) -> None:
        self._buckets = [_Bucket() for _ in range(window_seconds)]
        self._reservoir = reservoir
        self._rng = rng
        self.totals = Totals()

    def add(self, at: float, status: int, duration_ms: float) -> None:
        error, client_error = is_error(status), is_client_error(status)
        self.totals.add(error, client_error, duration_ms)

        second = int(at)
        bucket = self._buckets[second % len(self._buckets)]
        if bucket.second != second:
            if bucket.second > second:  # a record older than the window: totals only
                return
            bucket.restart(second)
        bucket.requests += 1
        bucket.errors += error
        bucket.client_errors += client_error
        # Reservoir sampling (algorithm R): every latency of the second has the same chance
        # of being kept, in bounded memory whatever the request rate.
        if len(bucket.latencies) < self._reservoir:
            bucket.latencies.append(duration_ms)
        else:
            slot = self._rng.randrange(bucket.requests)
            if slot < self._reservoir:
                bucket.latencies[slot] = duration_ms

    def window(self, now: float) -> WindowView:
        newest = int(now)
        oldest = newest - len(self._buckets) + 1
        requests = errors = client_errors = 0
        # Each kept latency stands for requests/len(latencies) of its second: weighting by
        # that keeps a busy second from counting as little as a quiet one.
        weighted: list[tuple[float, float]] = []
        for bucket in self._buckets:
            if not oldest <= bucket.second <= newest:
                continue
            requests += bucket.requests
            errors += bucket.errors
            client_errors += bucket.client_errors
            if bucket.latencies:
                weight = bucket.requests / len(bucket.latencies)
                weighted.extend((latency, weight) for latency in bucket.latencies)
        return WindowView(
            requests=requests,
            errors=errors,
            client_errors=client_errors,
            p50_ms=weighted_percentile(weighted, 0.50),
            p95_ms=weighted_percentile(weighted, 0.95),
        )


def weighted_percentile(samples: list[tuple[float, float]], q: float) -> float | None:
    """The smallest value whose cumulative weight reaches q of the total (nearest rank)."""
    if not samples:
        return None
    samples.sort()
    target = q * sum(weight for _, weight in samples)
    running = 0.0
    for value, weight in samples:
        running += weight
        if running >= target:
            return value
    return samples[-1][0]


class Metrics:
    def __init__(
        self,
        *,
        window_seconds: int = 60,
        reservoir: int = 64,
        recent: int = 50,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.window_seconds = window_seconds
        self._reservoir = reservoir
        self._clock = clock
        self._rng = rng or random.Random()
        self._started = clock()
        self._series: dict[ServiceKey, ServiceSeries] = {}
        self._by_consumer: dict[ConsumerKey, Totals] = {}
        self._recent: deque[AuditEntry] = deque(maxlen=recent)

    def observe(self, entry: AuditEntry) -> None:
        """The audit log's observer: called once per recorded exchange, on the hot path."""
        key = (entry.service, entry.version)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = ServiceSeries(
                self.window_seconds, self._reservoir, self._rng
            )
        series.add(entry.time, entry.status, entry.duration_ms)
        per_consumer = (entry.service, entry.version, entry.consumer)
        totals = self._by_consumer.get(per_consumer)
        if totals is None:
            totals = self._by_consumer[per_consumer] = Totals()
        totals.add(is_error(entry.status), is_client_error(entry.status), entry.duration_ms)
        self._recent.append(entry)

    def series(self) -> dict[ServiceKey, ServiceSeries]:
        return dict(self._series)

    def consumer_totals(self) -> dict[ConsumerKey, Totals]:
        """Totals since start per service and consumer: what Prometheus scrapes."""
        return dict(self._by_consumer)

    def snapshot(self) -> list[ServiceMetrics]:
        """Every service seen so far, its window and totals; services first, then the rest."""
        now = self._clock()
        # Early on the window is not yet full: a rate over the whole window would read low.
        span = max(1.0, min(float(self.window_seconds), now - self._started))
        out = []
        for (service, version), series in self._series.items():
            view = series.window(now)
            out.append(
                ServiceMetrics(
                    service=service,
                    version=version,
                    requests=view.requests,
                    rate_per_second=round(view.requests / span, 3),
                    errors=view.errors,
                    client_errors=view.client_errors,
                    error_rate=round(view.errors / view.requests, 4) if view.requests else 0.0,
                    p50_ms=_ms(view.p50_ms),
                    p95_ms=_ms(view.p95_ms),
                    total_requests=series.totals.requests,
                    total_errors=series.totals.errors,
                )
            )
        out.sort(key=lambda m: (m.service is None, m.service or "", m.version or ""))
        return out

    def recent(self, limit: int) -> list[ExchangeSummary]:
        """The newest exchanges first: metadata only (no bodies, no paths, no hashes)."""
        newest = list(self._recent)[-limit:]
        newest.reverse()
        return [
            ExchangeSummary(
                time=datetime.fromtimestamp(e.time, UTC),
                message_id=e.message_id,
                consumer=e.consumer,
                origin_consumer=e.origin_consumer,
                service=e.service,
                version=e.version,
                method=e.method,
                status=e.status,
                duration_ms=round(e.duration_ms, 3),
                outcome=e.outcome,
            )
            for e in newest
        ]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
