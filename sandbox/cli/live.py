"""Commands against a running sandbox: status, topology, call, audit.

Every figure shown comes from the platforms' own answers (GET /topology, GET
/dashboard/state, GET /audit), so the terminal says what the dashboard page says.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from apikit import headers as h
from contracts.audit import AuditPage, AuditRecord
from contracts.platform import (
    DashboardState,
    ServiceGroup,
    ServiceStatus,
    TopologyReport,
)
from contracts.topology import Tier, Topology
from sandbox.cli.platform_client import PlatformClient, platform_client

FOLLOW_INTERVAL_SECONDS = 0.5
FOLLOW_PAGE = 200  # more than a sandbox writes in one interval


def health_label(value: bool | None) -> str:
    return {True: "[green]healthy[/]", False: "[red]down[/]", None: "[yellow]unknown[/]"}[value]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _services(report: TopologyReport) -> list[tuple[str, ServiceStatus]]:
    found = []
    if report.national:
        found += [("national", s) for s in report.national.services]
    if report.intra:
        found += [("intra-province", s) for s in report.intra.services]
    return found


def traffic_table(state: DashboardState) -> Table:
    """One platform: each service it routes, its health and its traffic in the window."""
    report = state.report
    table = Table(
        title=f"{report.platform} · {state.headline}",
        caption=f"rate, latency and errors over the last {state.window_seconds} s; "
        "totals since the platform started",
    )
    for column in ("service", "tier", "route", "health", "req/s", "p50 ms", "p95 ms", "errors"):
        table.add_column(column, justify="right" if "ms" in column or column == "req/s" else "left")
    table.add_column("total (5xx)", justify="right")
    traffic = {(m.service, m.version): m for m in state.metrics}
    for tier, service in _services(report):
        metrics = traffic.get((service.code, service.version))
        route = "direct" if service.route == "backend" else "upstream"
        errors = "-"
        if metrics is not None:
            errors = f"{metrics.errors} ({metrics.error_rate:.0%})"
            if metrics.errors:
                errors = f"[red]{errors}[/]"
        table.add_row(
            f"{service.path} {escape(service.title)}",
            tier,
            route,
            health_label(service.healthy),
            f"{metrics.rate_per_second:.1f}" if metrics else "0.0",
            _ms(metrics.p50_ms if metrics else None),
            _ms(metrics.p95_ms if metrics else None),
            errors,
            f"{metrics.total_requests} ({metrics.total_errors})" if metrics else "0 (0)",
        )
    return table


def _group_branch(parent: Tree, label: str, group: ServiceGroup, show_services: bool) -> None:
    branch = parent.add(
        f"{label} · [bold]{group.registered}[/] registered, [bold]{group.reachable}[/] reachable"
    )
    if show_services:
        for s in group.services:
            branch.add(
                f"{s.path} {escape(s.title)} [dim]({escape(s.owner_name)})[/] "
                f"{health_label(s.healthy)}"
            )


def _platform_label(report: TopologyReport, healthy: bool | None) -> str:
    tier = "NGSP" if report.tier is Tier.NATIONAL else "LGSP"
    urls = report.urls
    where = f"\n{urls.http}" + (f" · {urls.https}" if urls.https else "") if urls else ""
    return (
        f"[bold]{tier} {report.platform}[/] {escape(report.title)} {health_label(healthy)}\n"
        f"[cyan]{escape(report.summary)}[/]{escape(where)}"
    )


def topology_tree(topology: Topology, reports: dict[str, TopologyReport]) -> Tree:
    """NGSP at the root, its provinces beneath it, each platform's services and counts.

    A platform that did not answer still shows (as down) beneath its upstream, so the tree
    is the topology's shape and the counts are what the platforms report now.
    """
    root = Tree(f"[bold]topology {topology.name}[/]")
    placed: dict[str, Tree] = {}

    def place(name: str, parent: Tree) -> None:
        report = reports.get(name)
        platform = topology.platforms[name]
        if report is None:
            node = parent.add(f"[bold]{name}[/] {escape(platform.title)} [red]not answering[/]")
        else:
            node = parent.add(_platform_label(report, True))
            upstream = platform.upstream.platform if platform.upstream else None
            if report.national and report.national.registered:
                via = f"through {upstream}" if upstream else "national services"
                _group_branch(node, via, report.national, show_services=upstream is None)
            if report.intra is not None:
                _group_branch(node, "intra-province", report.intra, show_services=True)
        placed[name] = node
        for child in topology.downstream_of(name):
            place(child, node)

    for name, platform in topology.platforms.items():
        if platform.upstream is None or platform.upstream.platform not in topology.platforms:
            place(name, root)
    return root


def fetch_reports(
    topology: Topology, platforms: Iterable[str], url: str | None, port_offset: int
) -> tuple[dict[str, TopologyReport], dict[str, str]]:
    """Each platform's GET /topology; and for those that did not answer, why."""
    reports: dict[str, TopologyReport] = {}
    failures: dict[str, str] = {}
    for name in platforms:
        with platform_client(topology, name, url=url, port_offset=port_offset) as client:
            try:
                reply = client.http.get("/topology")
                reply.raise_for_status()
                reports[name] = TopologyReport.model_validate_json(reply.content)
            except httpx.HTTPError as exc:
                failures[name] = f"{client.base_url}: {exc}"
    return reports, failures


def fetch_state(client: PlatformClient) -> DashboardState:
    # As the admin: a platform may show its dashboard to admins only.
    return DashboardState.model_validate_json(client.get_as_admin("/dashboard/state").content)


@dataclass(frozen=True)
class CallResult:
    status: int
    message_id: str | None
    elapsed_ms: float
    content_type: str
    body: bytes
    # A refusal answered as a WSO2 fault: the sandbox's own diagnosis (X-Sandbox-Detail).
    sandbox_detail: str | None = None


def parse_header(raw: str) -> tuple[str, str]:
    name, sep, value = raw.partition(":")
    if not sep or not name.strip():
        raise ValueError(f"--header {raw!r}: expected 'Name: value'")
    return name.strip(), value.strip()


def request_body(data: str | None) -> bytes | None:
    """--data as given, or @file for a file's content."""
    if data is None:
        return None
    if data.startswith("@"):
        return Path(data[1:]).read_bytes()
    return data.encode()


def routed_call(
    client: PlatformClient,
    consumer_id: str,
    method: str,
    path: str,
    body: bytes | None,
    extra_headers: dict[str, str],
) -> CallResult:
    """One call through the platform as `consumer_id`, with a token fetched for it."""
    from sandbox.topology.parties import consumer_named

    consumer = consumer_named(client.topology, client.platform, consumer_id)
    headers = {**client.bearer(consumer), **extra_headers}
    if body is not None and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    reply = client.http.request(method.upper(), path, content=body, headers=headers)
    return CallResult(
        status=reply.status_code,
        message_id=reply.headers.get(h.MESSAGE_ID),
        elapsed_ms=(time.perf_counter() - started) * 1000,
        content_type=reply.headers.get("content-type", ""),
        body=reply.content,
        sandbox_detail=reply.headers.get(h.SANDBOX_DETAIL),
    )


def print_call(result: CallResult, out: Console, err: Console) -> None:
    """The status line and message id to stderr, the body alone to stdout (for `| jq`)."""
    colour = "green" if result.status < 400 else "red"
    err.print(
        f"[{colour}]HTTP {result.status}[/] · message id {result.message_id or '-'} · "
        f"{result.elapsed_ms:.1f} ms",
        highlight=False,
    )
    if result.sandbox_detail:
        err.print(f"[yellow]sandbox: {escape(result.sandbox_detail)}[/]", highlight=False)
    if "json" in result.content_type:
        try:
            out.print_json(json.dumps(json.loads(result.body)), ensure_ascii=False)
            return
        except ValueError:
            pass
    out.print(escape(result.body.decode(errors="replace")), highlight=False)


def audit_line(record: AuditRecord) -> str:
    colour = "green" if record.status < 400 else "yellow" if record.status < 500 else "red"
    who = record.consumer or "-"
    if record.origin_consumer and record.origin_consumer != record.consumer:
        who = f"{who} for {record.origin_consumer}"
    stamp = record.time.astimezone().strftime("%H:%M:%S.%f")[:-3]
    return (
        f"{stamp} {record.platform} {record.message_id} {escape(who)} "
        f"{record.method} {escape(record.path)} [{colour}]{record.status}[/] "
        f"{record.outcome} {record.duration_ms:.1f} ms"
    )


def read_audit(
    client: PlatformClient, limit: int, message_id: str | None = None
) -> list[AuditRecord]:
    """The newest `limit` records, oldest first."""
    params: dict[str, str | int] = {"limit": limit}
    if message_id:
        params["message_id"] = message_id
    page = AuditPage.model_validate_json(client.get_as_admin("/audit", **params).content)
    return sorted(page.records, key=lambda r: r.id)


def follow_audit(
    client: PlatformClient,
    show: Callable[[AuditRecord], None],
    *,
    last_id: int,
    message_id: str | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> None:
    """Show every record written after `last_id`, as it is written, until told to stop."""
    while keep_going():
        for record in read_audit(client, FOLLOW_PAGE, message_id):
            if record.id > last_id:
                show(record)
                last_id = record.id
        time.sleep(FOLLOW_INTERVAL_SECONDS)
