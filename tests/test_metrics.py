"""Live metrics: the rolling window, the audit log's observer hook, and GET /metrics."""

from __future__ import annotations

import asyncio
import random
import re
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from starlette.requests import Request
from starlette.responses import Response

from apikit.problems import ProblemError
from contracts.audit import AuditEntry
from contracts.platform import PlatformStatus, ServiceGroup, ServiceStatus, TopologyReport
from contracts.topology import Tier, Topology
from gateway.messagelog.audit import AuditLog
from gateway.messagelog.audited import AuditedExchanges, Exchange
from gateway.monitoring.metrics import LATENCY_BUCKETS, Metrics
from gateway.monitoring.prometheus import Gauges, exposition
from sandbox.testing.harness import RunningTopology
from services.common.sampledata import citizens
from tests.helpers import bearer

LGSP = "lgsp-bac-giang"
MOTCUA = "motcua-bac-giang"
T0 = 1_800_000_000.0  # any fixed wall-clock second


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def entry(
    at: float,
    *,
    service: str | None = "apiCSDLDC",
    status: int = 200,
    duration_ms: float = 1.0,
    message_id: str = "m",
) -> AuditEntry:
    return AuditEntry(
        time=at,
        platform="lgsp-test",
        message_id=message_id,
        consumer="c",
        origin_consumer="c",
        service=service,
        version="1.0" if service else None,
        method="GET",
        path=f"/{service}/1.0/x/012345678901",
        status=status,
        duration_ms=duration_ms,
        request_bytes=0,
        response_bytes=0,
        outcome="ok" if status < 400 else "some-problem",
        request_hash="",
        response_hash="",
    )


def only(metrics: Metrics, service: str | None = "apiCSDLDC") -> dict[str, object]:
    [found] = [m for m in metrics.snapshot() if m.service == service]
    return found.model_dump()


def test_window_counts_requests_errors_and_client_errors_apart() -> None:
    clock = Clock(T0 - 600)  # the platform started ten minutes ago: rates over the window
    metrics = Metrics(window_seconds=60, clock=clock)
    clock.now = T0 + 59.5
    statuses = [200] * 6 + [404, 422, 502, 504]
    for i, status in enumerate(statuses):
        metrics.observe(entry(T0 + i, status=status, duration_ms=float(i + 1)))
    m = only(metrics)
    assert (m["requests"], m["errors"], m["client_errors"]) == (10, 2, 2)
    assert m["error_rate"] == 0.2
    assert m["rate_per_second"] == round(10 / 60, 3)
    # Latencies 1..10 ms: nearest rank p50 is the 5th, p95 the 10th.
    assert (m["p50_ms"], m["p95_ms"]) == (5.0, 10.0)
    assert (m["total_requests"], m["total_errors"]) == (10, 2)


def test_old_seconds_leave_the_window_but_stay_in_the_totals() -> None:
    clock = Clock(T0)
    metrics = Metrics(window_seconds=60, clock=clock)
    metrics.observe(entry(T0, status=500))
    clock.now = T0 + 60  # the bucket of T0 is now 61 seconds old
    metrics.observe(entry(T0 + 60))
    m = only(metrics)
    assert (m["requests"], m["errors"]) == (1, 0)
    assert (m["total_requests"], m["total_errors"]) == (2, 1)
    clock.now = T0 + 200
    m = only(metrics)
    assert (m["requests"], m["p50_ms"], m["p95_ms"], m["error_rate"]) == (0, None, None, 0.0)


def test_busy_seconds_weigh_more_than_quiet_ones_in_the_percentiles() -> None:
    clock = Clock(T0 + 1)
    metrics = Metrics(window_seconds=60, reservoir=16, clock=clock, rng=random.Random(7))
    for _ in range(1000):
        metrics.observe(entry(T0, duration_ms=100.0))
    for _ in range(16):
        metrics.observe(entry(T0 + 1, duration_ms=1.0))
    # 16 samples kept from each second; unweighted, the quiet second would set the median.
    m = only(metrics)
    assert m["p50_ms"] == 100.0
    assert m["requests"] == 1016


def test_reservoir_stays_bounded_and_representative() -> None:
    clock = Clock(T0)
    metrics = Metrics(window_seconds=60, reservoir=64, clock=clock, rng=random.Random(3))
    for i in range(5000):
        metrics.observe(entry(T0, duration_ms=float(i % 100)))
    [series] = metrics.series().values()
    assert all(len(b.latencies) <= 64 for b in series._buckets)
    m = only(metrics)
    assert m["requests"] == 5000
    # Uniform 0..99 ms: a 64-sample reservoir puts the median well inside the middle half.
    assert 25.0 <= float(m["p50_ms"]) <= 75.0  # type: ignore[arg-type]


def test_exchanges_without_a_service_are_counted_apart() -> None:
    metrics = Metrics(clock=Clock(T0))
    metrics.observe(entry(T0, service=None))
    metrics.observe(entry(T0))
    assert [m.service for m in metrics.snapshot()] == ["apiCSDLDC", None]


def test_recent_is_newest_first_and_metadata_only() -> None:
    metrics = Metrics(recent=3, clock=Clock(T0))
    for i in range(5):
        metrics.observe(entry(T0 + i, message_id=f"m{i}"))
    recent = metrics.recent(10)
    assert [r.message_id for r in recent] == ["m4", "m3", "m2"]
    assert [r.message_id for r in metrics.recent(1)] == ["m4"]
    # Paths may carry personal identifiers (a citizen ID): the public view leaves them out.
    assert "012345678901" not in recent[0].model_dump_json()


def _request(path: str) -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    )


async def test_every_audited_exchange_reaches_the_observers_as_it_is_answered(
    tmp_path: Path,
) -> None:
    log = AuditLog(tmp_path / "audit.sqlite3", batch_size=10)
    await log.open()
    try:
        exchanges = AuditedExchanges("lgsp-test", log)
        metrics = Metrics()
        seen: list[tuple[str, str | None]] = []
        exchanges.observers.append(lambda e, _: metrics.observe(e))
        exchanges.observers.append(lambda e, x: seen.append((e.outcome, x.closest)))

        async def ok(exchange: Exchange) -> Response:
            exchange.service, exchange.version = "apiCSDLDC", "1.0"
            return Response(b"{}", media_type="application/json")

        async def refused(exchange: Exchange) -> Response:
            exchange.service, exchange.version = "apiCSDLDC", "1.0"
            raise ProblemError(503, "circuit-open", "Cut off", "no", closest="/apiCSDLDC/1.0/")

        async def broken(exchange: Exchange) -> Response:
            raise KeyError("a bug")

        answers = [
            await exchanges.answer(_request("/apiCSDLDC/1.0/a"), ok),
            await exchanges.answer(_request("/apiCSDLDC/1.0/b"), refused),
            await exchanges.answer(_request("/nowhere/1.0/c"), broken),
        ]
        assert [a.status_code for a in answers] == [200, 503, 500]
        assert all(a.headers["X-Message-Id"] for a in answers)
        # Every answer observed, and committed before it was returned.
        assert seen == [
            ("ok", None),
            ("circuit-open", "/apiCSDLDC/1.0/"),
            ("internal-error", None),
        ]
        m = only(metrics)
        assert (m["requests"], m["errors"]) == (2, 1)
        assert await log.count() == 3  # the unexpected failure is audited too
    finally:
        await log.close()


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def parse_exposition(text: str) -> Samples:
    """Prometheus text format, strictly: every line a comment or `name{labels} value`."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        labels = re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match["labels"] or "")
        samples[(match["name"], frozenset(labels))] = float(match["value"])
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.sockets
async def test_metrics_endpoint_counts_routed_calls_in_prometheus_text(
    sandbox: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> None:
    lgsp = sandbox.url(LGSP)
    key = {"platform": LGSP, "service": "apiCSDLDC", "version": "1.0", "consumer": MOTCUA}
    before = parse_exposition((await client.get(f"{lgsp}/metrics")).text)
    headers = await bearer(client, lgsp, topology_2022, MOTCUA)
    citizen = citizens(topology_2022.seed, 1)[0]
    ok = await client.get(
        f"{lgsp}/apiCSDLDC/1.0/congDan",
        params={"soDinhDanh": citizen.so_dinh_danh},
        headers=headers,
    )
    bad = await client.get(
        f"{lgsp}/apiCSDLDC/1.0/congDan", params={"soDinhDanh": "123"}, headers=headers
    )
    assert (ok.status_code, bad.status_code) == (200, 422)

    response = await client.get(f"{lgsp}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    after = parse_exposition(response.text)
    name = "gsp_exchanges_total"
    for outcome, calls in (("ok", 1), ("client_error", 1), ("error", 0)):
        delta = value(after, name, **key, outcome=outcome) - value(
            before, name, **key, outcome=outcome
        )
        assert delta == calls, outcome

    # The histogram: cumulative buckets, +Inf equal to the count, the count equal to the sum
    # of the outcome counters.
    buckets = [
        value(after, "gsp_exchange_duration_seconds_bucket", **key, le=le)
        for le in [repr(b) for b in LATENCY_BUCKETS] + ["+Inf"]
    ]
    assert buckets == sorted(buckets)
    count = value(after, "gsp_exchange_duration_seconds_count", **key)
    assert buckets[-1] == count
    assert count == sum(
        value(after, name, **key, outcome=o) for o in ("ok", "client_error", "error")
    )
    assert value(after, "gsp_exchange_duration_seconds_sum", **key) > 0

    up = [v for (n, _), v in after.items() if n == "gsp_service_up"]
    assert up == [1.0] * 12
    assert value(after, "gsp_services_reachable", platform=LGSP, group="national") == 9
    assert value(after, "gsp_services_reachable", platform=LGSP, group="intra") == 3
    assert value(after, "gsp_platform_up", platform=LGSP, peer="ngsp", tier="national") == 1
    # registry sizes and queue depths
    consumers = len(topology_2022.consumers_at(LGSP))
    assert value(after, "gsp_consumers_registered", platform=LGSP) == consumers
    assert (
        "gsp_document_outbox_items",
        frozenset({("platform", LGSP), ("state", "pending")}),
    ) in after
    assert value(after, "gsp_audit_pending_records", platform=LGSP) >= 0


@pytest.mark.sockets
async def test_metrics_keep_each_consumer_apart(
    sandbox: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> None:
    """The same service called by two consumers: two series, each counting its own calls."""
    lgsp = sandbox.url(LGSP)
    other = next(
        c.id
        for c in topology_2022.consumers_at(LGSP)
        if c.id != MOTCUA and not c.roles and ("*" in c.grants or "apiKhoDuLieu" in c.grants)
    )
    series = {
        who: {"platform": LGSP, "service": "apiKhoDuLieu", "version": "1.0", "consumer": who}
        for who in (MOTCUA, other)
    }
    before = parse_exposition((await client.get(f"{lgsp}/metrics")).text)
    for who, calls in ((MOTCUA, 2), (other, 1)):
        headers = await bearer(client, lgsp, topology_2022, who)
        for _ in range(calls):
            answer = await client.get(f"{lgsp}/apiKhoDuLieu/1.0/", headers=headers)
            assert answer.status_code < 500, answer.text
    after = parse_exposition((await client.get(f"{lgsp}/metrics")).text)

    def made(who: str) -> float:
        name = "gsp_exchange_duration_seconds_count"
        return value(after, name, **series[who]) - value(before, name, **series[who])

    assert (made(MOTCUA), made(other)) == (2, 1)


# Every family /metrics exposes, as Prometheus' own parser names them (a counter's family
# drops `_total`; its samples and its HELP and TYPE lines keep it), with its type and labels.
SERIES = {"platform", "service", "version", "consumer"}
FAMILIES = {
    "gsp_exchanges": ("counter", SERIES | {"outcome"}),
    "gsp_exchange_duration_seconds": ("histogram", SERIES),
    "gsp_service_up": ("gauge", {"platform", "service", "version", "tier"}),
    "gsp_platform_up": ("gauge", {"platform", "peer", "tier"}),
    "gsp_services_registered": ("gauge", {"platform", "group"}),
    "gsp_services_reachable": ("gauge", {"platform", "group"}),
    "gsp_audit_pending_records": ("gauge", {"platform"}),
    "gsp_audit_written_records": ("counter", {"platform"}),
    "gsp_consumers_registered": ("gauge", {"platform"}),
    "gsp_document_outbox_items": ("gauge", {"platform", "state"}),
    "gsp_circuit_open": ("gauge", {"platform", "service"}),
}
COUNTER_NAMES = ("gsp_exchanges_total", "gsp_audit_written_records_total")


def families(text: str) -> dict[str, tuple[str, list[Sample]]]:
    return {f.name: (f.type, f.samples) for f in text_string_to_metric_families(text)}


def sample(found: dict[str, tuple[str, list[Sample]]], name: str, **labels: str) -> float:
    """The value of one sample, 0 when the series does not exist yet."""
    matches = [
        s.value
        for _, samples in found.values()
        for s in samples
        if s.name == name and s.labels == labels
    ]
    assert len(matches) <= 1, (name, labels)
    return matches[0] if matches else 0.0


@pytest.mark.sockets
async def test_prometheus_parser_reads_every_family_with_its_labels_after_real_calls(
    sandbox: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> None:
    lgsp = sandbox.url(LGSP)
    key = {"platform": LGSP, "service": "apiCSDLDC", "version": "1.0", "consumer": MOTCUA}
    # A token request names no service: its series carries empty service and version.
    token_key = {**key, "service": "", "version": ""}
    before = families((await client.get(f"{lgsp}/metrics")).text)
    headers = await bearer(client, lgsp, topology_2022, MOTCUA)
    citizen = citizens(topology_2022.seed, 1)[0]
    for number, status in ((citizen.so_dinh_danh, 200), ("123", 422), ("12", 422)):
        answer = await client.get(
            f"{lgsp}/apiCSDLDC/1.0/congDan", params={"soDinhDanh": number}, headers=headers
        )
        assert answer.status_code == status, answer.text

    response = await client.get(f"{lgsp}/metrics")
    text = response.text
    after = families(text)
    assert {name: kind for name, (kind, _) in after.items()} == {
        name: kind for name, (kind, _) in FAMILIES.items()
    }
    for name, (_, labels) in FAMILIES.items():
        samples = after[name][1]
        assert samples, f"{name} has no samples"
        for s in samples:
            extra = {"le"} if s.name.endswith("_bucket") else set()
            assert set(s.labels) == labels | extra, (s.name, s.labels)
            assert s.labels["platform"] == LGSP
    # The names Prometheus stores are those of the hand-written text before this library.
    for name in COUNTER_NAMES:
        assert f"# TYPE {name} counter" in text.splitlines()

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    calls = {"ok": 1, "client_error": 2, "error": 0}
    assert {o: grew("gsp_exchanges_total", **key, outcome=o) for o in calls} == calls
    assert grew("gsp_exchanges_total", **token_key, outcome="ok") == 1
    assert grew("gsp_exchange_duration_seconds_count", **key) == 3
    assert grew("gsp_exchange_duration_seconds_sum", **key) > 0
    bounds = [*(repr(b) for b in LATENCY_BUCKETS), "+Inf"]
    buckets = [sample(after, "gsp_exchange_duration_seconds_bucket", **key, le=le) for le in bounds]
    assert buckets == sorted(buckets)
    assert buckets[-1] == sample(after, "gsp_exchange_duration_seconds_count", **key)

    # Health is whatever the last checks found (a loaded machine may time some out); within
    # one scrape the per-service gauges and the group counts come from the same report.
    up = after["gsp_service_up"][1]
    assert len(up) == 12 and {s.value for s in up} <= {0.0, 1.0}
    reachable = sum(s.value for s in after["gsp_services_reachable"][1])
    assert reachable == sum(s.value for s in up)
    # The audit log commits in batches: the three calls and the token are written soon.
    written = sample(before, "gsp_audit_written_records_total", platform=LGSP)
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        now = families((await client.get(f"{lgsp}/metrics")).text)
        if sample(now, "gsp_audit_written_records_total", platform=LGSP) >= written + 4:
            break
        assert asyncio.get_running_loop().time() < deadline, "audit records not written"
        await asyncio.sleep(0.05)


def test_exposition_counts_each_outcome_and_fills_buckets_up_to_their_bound() -> None:
    metrics = Metrics(clock=Clock(T0))
    # 1 ms lands in the 0.001 bucket itself: a bucket counts what is at or below its bound.
    for status, duration_ms in ((200, 1.0), (404, 3.0), (503, 2000.0)):
        metrics.observe(entry(T0, status=status, duration_ms=duration_ms))
    metrics.observe(entry(T0, service=None))
    up = ServiceStatus(
        code="apiCSDLDC",
        version="1.0",
        title="Dân cư",
        owner="000.00.00.H00",
        owner_name="Bộ Công an",
        tier=Tier.NATIONAL,
        route="upstream",
        path="/apiCSDLDC/1.0/",
        healthy=False,
    )
    report = TopologyReport(
        platform="lgsp-test",
        tier=Tier.PROVINCIAL,
        title="LGSP",
        agency="000.00.00.H01",
        summary="1 national",
        national=ServiceGroup(registered=1, reachable=0, services=[up]),
        upstream=PlatformStatus(
            name="ngsp", title="NGSP", tier=Tier.NATIONAL, agency="000.00.00.G22", healthy=None
        ),
    )
    gauges = Gauges(
        audit_pending=2,
        audit_written=5,
        consumers=3,
        outbox={},
        circuits={"apiCSDLDC": "open", "apiQLVB": "half-open", "apiKhoDuLieu": "closed"},
    )
    found = families(exposition(report, metrics, gauges).decode())

    key = {"platform": "lgsp-test", "service": "apiCSDLDC", "version": "1.0", "consumer": "c"}
    outcomes = {
        o: sample(found, "gsp_exchanges_total", **key, outcome=o)
        for o in ("ok", "client_error", "error")
    }
    assert outcomes == {"ok": 1, "client_error": 1, "error": 1}
    no_service = {**key, "service": "", "version": ""}
    assert sample(found, "gsp_exchanges_total", **no_service, outcome="ok") == 1
    buckets = {
        le: sample(found, "gsp_exchange_duration_seconds_bucket", **key, le=le)
        for le in ("0.001", "0.0025", "0.005", "1.0", "2.5", "+Inf")
    }
    assert buckets == {"0.001": 1, "0.0025": 1, "0.005": 2, "1.0": 2, "2.5": 3, "+Inf": 3}
    assert sample(found, "gsp_exchange_duration_seconds_count", **key) == 3
    assert sample(found, "gsp_exchange_duration_seconds_sum", **key) == (1 + 3 + 2000) / 1000

    here = {"platform": "lgsp-test"}
    service = {**here, "service": "apiCSDLDC", "version": "1.0", "tier": "national"}
    assert sample(found, "gsp_service_up", **service) == 0
    # A neighbour not yet checked has no sample rather than a guessed one; no intra group.
    assert found["gsp_platform_up"][1] == []
    assert [s.labels["group"] for s in found["gsp_services_registered"][1]] == ["national"]
    assert sample(found, "gsp_audit_pending_records", **here) == 2
    assert sample(found, "gsp_audit_written_records_total", **here) == 5
    assert sample(found, "gsp_consumers_registered", **here) == 3
    # The queue depth is there at 0 before the first document.
    assert [(s.labels["state"], s.value) for s in found["gsp_document_outbox_items"][1]] == [
        ("pending", 0)
    ]
    circuits = {s.labels["service"]: s.value for s in found["gsp_circuit_open"][1]}
    assert circuits == {"apiCSDLDC": 1, "apiQLVB": 1, "apiKhoDuLieu": 0}
