"""GET /metrics' body: prometheus-client collectors over the platform's live state.

`metrics.py` stays the one place that counts (the dashboard reads its rolling windows,
Prometheus its totals); the collectors here hold no counters of their own and read that state
each time a registry collects, i.e. when Prometheus scrapes. prometheus-client does the
writing: names, label escaping, float formatting and the histogram's cumulative layout.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from contracts.platform import TopologyReport
from gateway.monitoring.metrics import LATENCY_BUCKETS, ConsumerKey, Metrics

# generate_latest writes the classic text format, version 0.0.4. The library's
# CONTENT_TYPE_LATEST announces version 1.0.0 since 0.23, which would not describe this body.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

SERIES_LABELS = ("platform", "service", "version", "consumer")
# Bucket bounds as `le` labels, the last +Inf. For bounds this small repr() spells them as
# the client library does for its own histograms (floatToGoString, which is untyped).
_BOUNDS = (*(repr(float(b)) for b in LATENCY_BUCKETS), "+Inf")


def _series_values(platform: str, key: ConsumerKey) -> list[str]:
    # Token requests and paths matching no service carry no service, refused calls no
    # consumer: empty labels, which Prometheus reads as absent.
    service, version, consumer = key
    return [platform, service or "", version or "", consumer or ""]


class ExchangeCollector(Collector):
    """Exchange counters and the latency histogram, per service, version and consumer."""

    def __init__(self, platform: str, metrics: Metrics) -> None:
        self._platform = platform
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        # The family name keeps `_total`: the library drops it from the family and puts it
        # back on the samples and on the HELP and TYPE lines, so the text reads as before.
        exchanges = CounterMetricFamily(
            "gsp_exchanges_total",
            "Audited exchanges since start, by service and outcome "
            "(ok; client_error = 4xx; error = 5xx).",
            labels=(*SERIES_LABELS, "outcome"),
        )
        durations = HistogramMetricFamily(
            "gsp_exchange_duration_seconds",
            "Time from request to answer at this platform, per service.",
            labels=SERIES_LABELS,
        )
        for key, totals in self._metrics.consumer_totals().items():
            series = _series_values(self._platform, key)
            ok = totals.requests - totals.errors - totals.client_errors
            exchanges.add_metric([*series, "ok"], ok)
            exchanges.add_metric([*series, "client_error"], totals.client_errors)
            exchanges.add_metric([*series, "error"], totals.errors)
            # Totals keeps a count per bucket; Prometheus wants each bucket to count
            # everything at or below its bound.
            cumulative = accumulate(totals.histogram)
            durations.add_metric(
                series,
                list(zip(_BOUNDS, cumulative, strict=True)),
                totals.duration_seconds,
            )
        yield exchanges
        yield durations


class HealthCollector(Collector):
    """Health checks of the services and neighbouring platforms, from the topology report."""

    def __init__(self, report: TopologyReport) -> None:
        self._report = report

    def collect(self) -> Iterator[Metric]:
        report = self._report
        platform = report.platform
        service_up = GaugeMetricFamily(
            "gsp_service_up",
            "Last health check of each service reachable here (1 healthy, 0 down).",
            labels=("platform", "service", "version", "tier"),
        )
        groups = (("national", report.national), ("intra", report.intra))
        for _, group in groups:
            for s in group.services if group else []:
                # Absent until its first health check: no sample beats a made-up one.
                if s.healthy is not None:
                    service_up.add_metric(
                        [platform, s.code, s.version, s.tier.value], int(s.healthy)
                    )
        yield service_up

        platform_up = GaugeMetricFamily(
            "gsp_platform_up",
            "Last health check of each neighbouring platform (1 healthy, 0 down).",
            labels=("platform", "peer", "tier"),
        )
        peers = [report.upstream] if report.upstream else []
        peers += report.downstream.platforms if report.downstream else []
        for peer in peers:
            if peer.healthy is not None:
                platform_up.add_metric([platform, peer.name, peer.tier.value], int(peer.healthy))
        yield platform_up

        registered = GaugeMetricFamily(
            "gsp_services_registered",
            "Services in the registry, per group (national, intra).",
            labels=("platform", "group"),
        )
        reachable = GaugeMetricFamily(
            "gsp_services_reachable",
            "Registered services whose last health check passed, per group.",
            labels=("platform", "group"),
        )
        for name, group in groups:
            if group is not None:
                registered.add_metric([platform, name], group.registered)
                reachable.add_metric([platform, name], group.reachable)
        yield registered
        yield reachable


@dataclass(frozen=True)
class Gauges:
    """Sizes read from the platform's stores when scraped."""

    audit_pending: int
    audit_written: int
    consumers: int
    outbox: dict[str, int]  # outbox items per state (pending, done, failed)
    circuits: dict[str, str]  # service -> closed, open or half-open


class StoreCollector(Collector):
    """Queue depths and registry sizes; the route reads them (the outbox needs an await)."""

    def __init__(self, platform: str, gauges: Gauges) -> None:
        self._platform = platform
        self._gauges = gauges

    def collect(self) -> Iterator[Metric]:
        platform, gauges = self._platform, self._gauges
        pending = GaugeMetricFamily(
            "gsp_audit_pending_records",
            "Audit records accepted but not yet committed.",
            labels=("platform",),
        )
        pending.add_metric([platform], gauges.audit_pending)
        yield pending

        written = CounterMetricFamily(
            "gsp_audit_written_records_total",
            "Audit records committed since start.",
            labels=("platform",),
        )
        written.add_metric([platform], gauges.audit_written)
        yield written

        consumers = GaugeMetricFamily(
            "gsp_consumers_registered",
            "Consumers (agency systems, platforms, admins) registered at this platform.",
            labels=("platform",),
        )
        consumers.add_metric([platform], gauges.consumers)
        yield consumers

        outbox = GaugeMetricFamily(
            "gsp_document_outbox_items",
            "Document deliveries in the outbox, by state (pending = queue depth).",
            labels=("platform", "state"),
        )
        # pending is always there, even at 0: it is the queue depth people alert on.
        for state, count in sorted({"pending": 0, **gauges.outbox}.items()):
            outbox.add_metric([platform, state], count)
        yield outbox

        circuits = GaugeMetricFamily(
            "gsp_circuit_open",
            "Circuit breaker per service that has had failures (1 open or half-open).",
            labels=("platform", "service"),
        )
        for service, state in sorted(gauges.circuits.items()):
            circuits.add_metric([platform, service], int(state != "closed"))
        yield circuits


def registry(report: TopologyReport, metrics: Metrics, gauges: Gauges) -> CollectorRegistry:
    """This platform's collectors, over a report and gauges read for this scrape."""
    # Not the library's global REGISTRY: several platforms share one process in tests and
    # under `gsp-sandbox up`, and each /metrics speaks for its own platform only.
    collectors = CollectorRegistry()
    # Families come out in registration order.
    collectors.register(ExchangeCollector(report.platform, metrics))
    collectors.register(HealthCollector(report))
    collectors.register(StoreCollector(report.platform, gauges))
    return collectors


def exposition(report: TopologyReport, metrics: Metrics, gauges: Gauges) -> bytes:
    """The /metrics body, in the text format that CONTENT_TYPE names."""
    return generate_latest(registry(report, metrics, gauges))
