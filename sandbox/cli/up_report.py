"""What `up` prints: the table of nodes once all are healthy, and a warning about ports.

The ephemeral-range warning is printed before anything starts; the table and the lines under
it once every platform has said its services are healthy.
"""

from __future__ import annotations

import argparse
import time

from rich.table import Table

from contracts.platform import TopologyReport
from contracts.topology import Topology
from sandbox.cli.options import console, errors
from sandbox.runtime.supervisor import RestartPolicy
from sandbox.topology.addresses import AddressBook, ephemeral_range


def print_ready(
    args: argparse.Namespace,
    topology: Topology,
    addresses: AddressBook,
    reports: dict[str, TopologyReport],
    policy: RestartPolicy,
    started: float,
) -> None:
    elapsed = time.monotonic() - started
    console.print(status_table(topology, addresses, reports))
    for report in sorted(reports.values(), key=lambda r: r.tier.value, reverse=True):
        console.print(f"[bold]{report.summary}[/]")
    lgsp = next((n for n, p in topology.platforms.items() if p.upstream), None)
    if lgsp is not None:
        console.print(
            f"dashboard {addresses.url(lgsp)}/dashboard · try: gsp-sandbox status, "
            "gsp-sandbox samples, gsp-sandbox call, gsp-sandbox logs -f --pretty",
            highlight=False,
        )
    if addresses.https:
        console.print(
            f"https: the platforms' certificates chain to {args.data_dir}/pki/ca.pem · "
            f"gsp-sandbox pki export --data-dir {args.data_dir} writes it for Java, .NET, "
            "Node and Python (README, HTTPS)",
            highlight=False,
        )
    console.print(
        f"ready in {elapsed:.1f} s · data in {args.data_dir} · logs in "
        f"{args.data_dir / 'logs'} · {policy.describe()} · "
        f"gsp-sandbox stop|start|restart NODE --data-dir {args.data_dir} · "
        "Ctrl-C stops everything",
        highlight=False,
    )


def _health(value: bool | None) -> str:
    return {True: "[green]healthy[/]", False: "[red]down[/]", None: "[yellow]unknown[/]"}[value]


def status_table(
    topology: Topology, addresses: AddressBook, reports: dict[str, TopologyReport]
) -> Table:
    table = Table(title=f"GSP sandbox · topology {topology.name}")
    for column in ("node", "kind", "serves", "url", "health"):
        table.add_column(column)
    services_health = {
        (s.code, s.version): s.healthy
        for r in reports.values()
        for group in (r.national, r.intra)
        if group
        for s in group.services
        if s.route == "backend"
    }
    for name, platform in topology.platforms.items():
        report = reports.get(name)
        table.add_row(
            name,
            f"{platform.tier.value} platform",
            platform.title,
            "\n".join(addresses.urls(name)),  # HTTP, and HTTPS beneath it
            _health(report is not None),
        )
    for name in topology.backends:
        served = [s for s in topology.services if s.backend == name]
        healthy = [services_health.get(s.key) for s in served]
        mail = [f"documents for {m.agency}" for m in topology.mailboxes if m.backend == name]
        if not served:
            # A back end that only receives documents has no service for a platform to
            # health-check; it answered /healthz before this table was drawn.
            healthy = [True]
        table.add_row(
            name,
            f"{served[0].tier.value} back end" if served else "mailbox back end",
            ", ".join([*(f"/{s.code}/{s.version}/" for s in served), *mail]) or "(no service)",
            addresses.url(name),
            _health(all(healthy) if healthy and None not in healthy else None),
        )
    return table


def ephemeral_ports(addresses: AddressBook) -> list[tuple[str, int]]:
    """(node, port) pairs in the kernel's ephemeral range, HTTPS ports included."""
    low, high = ephemeral_range()
    return [(n, p) for n, p in addresses.all_ports() if low <= p <= high]


def warn_ephemeral(addresses: AddressBook) -> None:
    exposed = ephemeral_ports(addresses)
    if not exposed:
        return
    low, high = ephemeral_range()
    ports = sorted(p for _, p in exposed)
    errors.print(
        f"[yellow]warning: {len({n for n, _ in exposed})} node(s) listen in the kernel's "
        "ephemeral port range "
        f"{low}–{high} (ports {ports[0]}–{ports[-1]}): any program's outgoing connection can "
        "take such a port between the check above and the node's bind, and that node then "
        "fails to start. Choose a --port-offset that keeps every node below "
        f"{low}.[/]",
        highlight=False,
    )
