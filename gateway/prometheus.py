"""GET /metrics in Prometheus' text exposition format (version 0.0.4), written by hand.

A few counters, one histogram and some gauges need no client library: the format is lines of
`name{labels} value`, and writing them from the live metrics keeps one source of truth for
the dashboard and the scraper.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from contracts.platform import TopologyReport
from gateway.metrics import LATENCY_BUCKETS, ConsumerKey, Metrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


def _family(name: str, kind: str, help_text: str, samples: Iterable[str]) -> Iterator[str]:
    yield f"# HELP {name} {help_text}"
    yield f"# TYPE {name} {kind}"
    yield from samples


def _series_labels(platform: str, key: ConsumerKey) -> dict[str, str]:
    # Token requests and paths matching no service carry no service, refused calls no
    # consumer: empty labels, which Prometheus reads as absent.
    service, version, consumer = key
    return {
        "platform": platform,
        "service": service or "",
        "version": version or "",
        "consumer": consumer or "",
    }


def _exchanges(platform: str, metrics: Metrics) -> Iterator[str]:
    for key, totals in metrics.consumer_totals().items():
        base = _series_labels(platform, key)
        ok = totals.requests - totals.errors - totals.client_errors
        for outcome, count in (
            ("ok", ok),
            ("client_error", totals.client_errors),
            ("error", totals.errors),
        ):
            yield f"gsp_exchanges_total{_labels(**base, outcome=outcome)} {count}"


def _durations(platform: str, metrics: Metrics) -> Iterator[str]:
    name = "gsp_exchange_duration_seconds"
    bounds = [_number(b) for b in LATENCY_BUCKETS] + ["+Inf"]
    for key, totals in metrics.consumer_totals().items():
        base = _series_labels(platform, key)
        cumulative = 0
        for bound, count in zip(bounds, totals.histogram, strict=True):
            cumulative += count
            yield f"{name}_bucket{_labels(**base, le=bound)} {cumulative}"
        yield f"{name}_sum{_labels(**base)} {_number(totals.duration_seconds)}"
        yield f"{name}_count{_labels(**base)} {totals.requests}"


def _service_up(report: TopologyReport) -> Iterator[str]:
    """1 or 0 per service; absent until its first health check."""
    for group in (report.national, report.intra):
        for s in group.services if group else []:
            if s.healthy is not None:
                labels = _labels(
                    platform=report.platform, service=s.code, version=s.version, tier=s.tier.value
                )
                yield f"gsp_service_up{labels} {int(s.healthy)}"


def _platform_up(report: TopologyReport) -> Iterator[str]:
    peers = [report.upstream] if report.upstream else []
    peers += report.downstream.platforms if report.downstream else []
    for peer in peers:
        if peer.healthy is not None:
            labels = _labels(platform=report.platform, peer=peer.name, tier=peer.tier.value)
            yield f"gsp_platform_up{labels} {int(peer.healthy)}"


def _group_counts(report: TopologyReport, name: str, field: str) -> Iterator[str]:
    for group_name, group in (("national", report.national), ("intra", report.intra)):
        if group is not None:
            labels = _labels(platform=report.platform, group=group_name)
            yield f"{name}{labels} {getattr(group, field)}"


@dataclass(frozen=True)
class Gauges:
    """Sizes read from the platform's stores when scraped."""

    audit_pending: int
    audit_written: int
    consumers: int
    outbox: dict[str, int]  # outbox items per state (pending, done, failed)
    circuits: dict[str, str]  # service -> closed, open or half-open


def render(report: TopologyReport, metrics: Metrics, gauges: Gauges) -> str:
    platform = report.platform
    here = _labels(platform=platform)
    lines = [
        *_family(
            "gsp_exchanges_total",
            "counter",
            "Audited exchanges since start, by service and outcome "
            "(ok; client_error = 4xx; error = 5xx).",
            _exchanges(platform, metrics),
        ),
        *_family(
            "gsp_exchange_duration_seconds",
            "histogram",
            "Time from request to answer at this platform, per service.",
            _durations(platform, metrics),
        ),
        *_family(
            "gsp_service_up",
            "gauge",
            "Last health check of each service reachable here (1 healthy, 0 down).",
            _service_up(report),
        ),
        *_family(
            "gsp_platform_up",
            "gauge",
            "Last health check of each neighbouring platform (1 healthy, 0 down).",
            _platform_up(report),
        ),
        *_family(
            "gsp_services_registered",
            "gauge",
            "Services in the registry, per group (national, intra).",
            _group_counts(report, "gsp_services_registered", "registered"),
        ),
        *_family(
            "gsp_services_reachable",
            "gauge",
            "Registered services whose last health check passed, per group.",
            _group_counts(report, "gsp_services_reachable", "reachable"),
        ),
        *_family(
            "gsp_audit_pending_records",
            "gauge",
            "Audit records accepted but not yet committed.",
            [f"gsp_audit_pending_records{here} {gauges.audit_pending}"],
        ),
        *_family(
            "gsp_audit_written_records_total",
            "counter",
            "Audit records committed since start.",
            [f"gsp_audit_written_records_total{here} {gauges.audit_written}"],
        ),
        *_family(
            "gsp_consumers_registered",
            "gauge",
            "Consumers (agency systems, platforms, admins) registered at this platform.",
            [f"gsp_consumers_registered{here} {gauges.consumers}"],
        ),
        *_family(
            "gsp_document_outbox_items",
            "gauge",
            "Document deliveries in the outbox, by state (pending = queue depth).",
            [
                f"gsp_document_outbox_items{_labels(platform=platform, state=k)} {v}"
                for k, v in sorted({"pending": 0, **gauges.outbox}.items())
            ],
        ),
        *_family(
            "gsp_circuit_open",
            "gauge",
            "Circuit breaker per service that has had failures (1 open or half-open).",
            [
                f"gsp_circuit_open{_labels(platform=platform, service=k)} {int(v != 'closed')}"
                for k, v in sorted(gauges.circuits.items())
            ],
        ),
    ]
    return "\n".join(lines) + "\n"
