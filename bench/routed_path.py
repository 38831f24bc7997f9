"""Benchmark of the routed path: direct vs through LGSP (1 hop) vs LGSP -> NGSP (2 hops).

Starts the topology as separate processes (as `gsp-sandbox up` does), drives it with `wrk`
in its own process, and prints one table per round; `--json` writes the same figures for
comparing commits. Full auth and audit stay on. Each round measures the direct back ends and
the routed paths back to back, so its ratios compare like with like on a noisy machine; the
summary is the median of the rounds' ratios (`--runs`, 3 by default), printed beside the
targets, never asserted. It also prints the start-up time of the default topology and the
national preset's start-up and memory. Run: `.venv/bin/python -m bench.routed_path`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from sandbox.runtime.launcher import Launcher
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import load_topology
from services.common.sampledata import citizens

LGSP, NGSP = "lgsp-bac-giang", "ngsp"
CONSUMER_KEY, CONSUMER_SECRET = "motcua-bac-giang-key", "motcua-bac-giang-secret-2022"
ADMINS = {
    LGSP: ("lgsp-bac-giang-admin-key", "lgsp-bac-giang-admin-secret-2022"),
    NGSP: ("ngsp-admin-key", "ngsp-admin-secret-2022"),
}


@dataclass
class Run:
    name: str
    connections: int
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    # CPU time each process on the path spent per request served (user + system): less
    # sensitive than req/s to whatever else the machine runs at the same moment.
    cpu_us_per_request: dict[str, float] = field(default_factory=dict)


@dataclass
class Round:
    runs: list[Run] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, connections: int) -> Run:
        return next(r for r in self.runs if r.name == name and r.connections == connections)


# What issue 16 asks of the routed path, as the ratios this benchmark computes.
TARGETS = {
    "1 hop / direct (rps, 32 conns)": (">=", 0.70),
    "2 hops / direct (rps, 32 conns)": (">=", 0.50),
    "1 hop added p50 / direct p50 (1 conn)": ("<=", 0.50),
    "2 hops added p50 per hop / direct p50 (1 conn)": ("<=", 0.50),
}


@dataclass
class Report:
    duration_s: float
    startup_s: dict[str, float] = field(default_factory=dict)
    national: dict[str, float] = field(default_factory=dict)
    rounds: list[Round] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)  # the median over the rounds
    added_p50_ms_per_hop: dict[str, float] = field(default_factory=dict)
    audit: dict[str, dict[str, int]] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)


_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    url: str, connections: int, duration: float, token: str | None
) -> tuple[int, int, float, float, float]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (make bench does it)")
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(duration, 1):g}s", "--latency"]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in m.groups())
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {p: float(v) * _UNITS[u] for p, v, u in _LATENCY.findall(out)}
    return requests, errors, rps, lat.get("50", 0.0), lat.get("99", 0.0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc (clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def startup_time(topology_name: str, data_dir: Path, offset: int) -> float:
    topology = load_topology(topology_name)
    book = AddressBook(topology).shifted(offset)
    launcher = Launcher(topology_name, topology, data_dir, book, fork=True)
    started = time.monotonic()
    await launcher.start()
    try:
        await launcher.wait_ready(120)
        return time.monotonic() - started
    finally:
        await launcher.stop()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def audit_rows(database: Path, prefix: str) -> int:
    with sqlite3.connect(database) as db:
        row = db.execute(
            "SELECT COUNT(*) FROM audit WHERE path LIKE ? AND outcome != 'token-issued'",
            (f"{prefix}%",),
        ).fetchone()
    return int(row[0])


async def audit_completeness(
    book: AddressBook,
    token: str,
    targets: dict[str, tuple[str, str | None]],
    data_dir: Path,
    count: int = 1000,
    concurrency: int = 32,
) -> dict[str, dict[str, int]]:
    """Exactly `count` calls per routed path at `concurrency`: every one must be logged.

    wrk stops mid-flight, so its totals cannot be matched row for row; this phase can.
    """
    databases = {p: data_dir / f"{p}.audit.sqlite3" for p in (LGSP, NGSP)}
    headers = {"Authorization": f"Bearer {token}"}
    urls = [targets["1 hop (LGSP)"][0], targets["2 hops (LGSP->NGSP)"][0]]
    limit = asyncio.Semaphore(concurrency)
    statuses: list[int] = []
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as c:

        async def flushed_rows() -> dict[str, int]:
            # GET /audit commits everything queued before it answers.
            for platform, (key, secret) in ADMINS.items():
                reply = await c.post(
                    f"{book.url(platform)}/token",
                    auth=(key, secret),
                    data={"grant_type": "client_credentials"},
                )
                bearer = {"Authorization": f"Bearer {reply.json()['access_token']}"}
                await c.get(f"{book.url(platform)}/audit", params={"limit": 1}, headers=bearer)
            return {p: audit_rows(db, "/api") for p, db in databases.items()}

        async def call(url: str) -> None:
            async with limit:
                statuses.append((await c.get(url, headers=headers)).status_code)

        before = await flushed_rows()
        await asyncio.gather(*(call(url) for url in urls for _ in range(count)))
        after = await flushed_rows()
    return {
        LGSP: {
            "served": 2 * count,
            "rows": after[LGSP] - before[LGSP],
            "errors": sum(1 for s in statuses if s != 200),
        },
        NGSP: {"served": count, "rows": after[NGSP] - before[NGSP]},
    }


def round_ratios(r: Round) -> dict[str, float]:
    direct_p, direct_n = r.run("direct provincial", 1), r.run("direct national", 1)
    return {
        "1 hop / direct (rps, 32 conns)": round(
            r.run("1 hop (LGSP)", 32).rps / r.run("direct provincial", 32).rps, 3
        ),
        "2 hops / direct (rps, 32 conns)": round(
            r.run("2 hops (LGSP->NGSP)", 32).rps / r.run("direct national", 32).rps, 3
        ),
        "1 hop added p50 / direct p50 (1 conn)": round(
            (r.run("1 hop (LGSP)", 1).p50_ms - direct_p.p50_ms) / direct_p.p50_ms, 3
        ),
        "2 hops added p50 per hop / direct p50 (1 conn)": round(
            (r.run("2 hops (LGSP->NGSP)", 1).p50_ms - direct_n.p50_ms) / 2 / direct_n.p50_ms, 3
        ),
    }


async def national_startup(data_dir: Path, offset: int) -> dict[str, float]:
    """The `vietnam` preset packed as `up` packs it: seconds to healthy, memory summed."""
    from bench.startup import measure
    from sandbox.runtime.launcher import auto_nodes_per_worker

    nodes = len(AddressBook(load_topology("vietnam")).nodes())
    sample = await measure("vietnam", auto_nodes_per_worker(nodes), data_dir, offset)
    return {
        "nodes": nodes,
        "processes": sample.processes,
        "healthy_s": sample.healthy_s,
        "rss_mb": sample.rss_mb,
        "pss_mb": sample.pss_mb,
    }


async def main(
    duration: float, offset: int, startup: list[str], runs: int, national: bool
) -> Report:
    report = Report(duration_s=duration)
    workdir = Path(tempfile.mkdtemp(prefix="gsp-bench-"))
    for name in startup:
        report.startup_s[name] = round(await startup_time(name, workdir / name, offset), 3)
    if national:
        report.national = await national_startup(workdir / "vietnam", offset)

    topology = load_topology("bac-giang-2022")
    book = AddressBook(topology).shifted(offset)
    data_dir = workdir / "load"
    launcher = Launcher("bac-giang-2022", topology, data_dir, book, fork=True)
    await launcher.start()
    try:
        await launcher.wait_ready(120)
        async with httpx.AsyncClient() as client:
            token = (
                await client.post(
                    f"{book.url(LGSP)}/token",
                    data={"grant_type": "client_credentials"},
                    auth=(CONSUMER_KEY, CONSUMER_SECRET),
                )
            ).json()["access_token"]
        citizen = citizens(topology.seed, 1)[0].so_dinh_danh
        targets = {
            "direct provincial": (f"{book.url('data-warehouse')}/danhMucDuLieu", None),
            "1 hop (LGSP)": (f"{book.url(LGSP)}/apiKhoDuLieu/1.0/danhMucDuLieu", token),
            "direct national": (f"{book.url('population')}/congDan?soDinhDanh={citizen}", None),
            "2 hops (LGSP->NGSP)": (
                f"{book.url(LGSP)}/apiCSDLDC/1.0/congDan?soDinhDanh={citizen}",
                token,
            ),
        }
        pids = launcher.node_pids()
        path_nodes = {
            "direct provincial": ["data-warehouse"],
            "1 hop (LGSP)": [LGSP, "data-warehouse"],
            "direct national": ["population"],
            "2 hops (LGSP->NGSP)": [LGSP, NGSP, "population"],
        }
        for _ in range(runs):
            this = Round()
            for connections in (1, 32):
                for name, (url, tok) in targets.items():
                    before = {n: cpu_seconds(pids[n]) for n in path_nodes[name]}
                    requests, errors, rps, p50, p99 = wrk(url, connections, duration, tok)
                    cpu = {
                        n: round((cpu_seconds(pids[n]) - before[n]) / max(requests, 1) * 1e6, 1)
                        for n in path_nodes[name]
                    }
                    this.runs.append(Run(name, connections, requests, errors, rps, p50, p99, cpu))
            this.ratios = round_ratios(this)
            report.rounds.append(this)
        report.audit = await audit_completeness(book, token, targets, data_dir)
        report.peak_rss_mb = {n: round(peak_rss_mb(pid), 1) for n, pid in pids.items()}
    finally:
        await launcher.stop()

    report.ratios = {
        key: round(statistics.median(r.ratios[key] for r in report.rounds), 3)
        for key in report.rounds[0].ratios
    }

    def added(name: str, direct: str, hops: int) -> float:
        return round(
            statistics.median(
                (r.run(name, 1).p50_ms - r.run(direct, 1).p50_ms) / hops for r in report.rounds
            ),
            3,
        )

    report.added_p50_ms_per_hop = {
        "LGSP (1 conn)": added("1 hop (LGSP)", "direct provincial", 1),
        "LGSP+NGSP, per hop (1 conn)": added("2 hops (LGSP->NGSP)", "direct national", 2),
    }
    shutil.rmtree(workdir, ignore_errors=True)
    return report


def print_report(report: Report) -> None:
    console = Console(width=150)
    for number, this in enumerate(report.rounds, 1):
        table = Table(
            title=f"Routed path · round {number} of {len(report.rounds)} · "
            f"{report.duration_s:g} s per run · wrk, 1 thread"
        )
        for column in ("path", "conns", "req/s", "p50 ms", "p99 ms", "requests", "errors"):
            table.add_column(column, justify="right" if column != "path" else "left")
        table.add_column("CPU µs per request, per process", justify="left")
        for r in this.runs:
            table.add_row(
                r.name,
                str(r.connections),
                f"{r.rps:,.0f}",
                f"{r.p50_ms:.3f}",
                f"{r.p99_ms:.3f}",
                str(r.requests),
                str(r.errors),
                " ".join(f"{n} {us:.0f}" for n, us in r.cpu_us_per_request.items()),
            )
        console.print(table)
    console.print(f"median of {len(report.rounds)} rounds (each round's own ratios):")
    for key, value in report.ratios.items():
        op, target = TARGETS[key]
        met = value >= target if op == ">=" else value <= target
        each = ", ".join(f"{r.ratios[key]:.1%}" for r in report.rounds)
        console.print(
            f"  {key}: {value:.1%}  (rounds: {each}; target {op} {target:.0%}: "
            f"{'met' if met else 'NOT met'})"
        )
    for key, value in report.added_p50_ms_per_hop.items():
        console.print(f"added p50 latency, {key}: {value:.3f} ms (median)")
    for key, value in report.startup_s.items():
        console.print(f"start to all healthy, {key}: {value:.2f} s")
    if report.national:
        n = report.national
        console.print(
            f"national preset (vietnam): {n['nodes']:.0f} nodes in {n['processes']:.0f} "
            f"processes, healthy in {n['healthy_s']:.2f} s, RSS sum {n['rss_mb']:,.0f} MB, "
            f"PSS sum {n['pss_mb']:,.0f} MB"
        )
    for k, v in report.audit.items():
        ok = "complete" if v["rows"] == v["served"] else "MISSING ROWS"
        console.print(f"audit {k}: {v['rows']} rows for {v['served']} calls made ({ok})")
    console.print(
        "peak RSS MB: " + ", ".join(f"{k} {v:.0f}" for k, v in report.peak_rss_mb.items())
    )


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.routed_path", description=__doc__)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--port-offset", type=int, default=20000)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--startup",
        nargs="*",
        default=["bac-giang-2022"],
        help="topologies whose start-up time to measure (one process per node)",
    )
    parser.add_argument("--runs", type=int, default=3, help="rounds; ratios are their median")
    parser.add_argument(
        "--no-national",
        dest="national",
        action="store_false",
        help="skip the national preset's start-up and memory",
    )
    args = parser.parse_args(argv)
    report = asyncio.run(
        main(args.duration, args.port_offset, args.startup, args.runs, args.national)
    )
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2, ensure_ascii=False))
    broken = any(v["rows"] != v["served"] for v in report.audit.values())
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(cli())
