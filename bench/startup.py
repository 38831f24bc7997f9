"""Start-up time and memory of whole topologies, one process per node or packed in workers.

For each case (a topology and how many nodes a worker holds) it starts the topology as
`gsp-sandbox up` does (zygote, forked units), waits until every node answers /healthz as
this launch's and every platform sees its services healthy, then reads every process's
memory from /proc: RSS summed (counts the pages the forked processes still share with the
zygote once per process, so an upper bound) and PSS summed (shared pages split among their
sharers: the memory the launch really takes). Median of `--runs` runs; printed, never
asserted. Run: `.venv/bin/python -m bench.startup`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sandbox.runtime.launcher import Launcher, auto_nodes_per_worker
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import load_topology

DEFAULT_CASES = ["bac-giang-2022:1", "bac-giang-2022:8", "vietnam:auto"]


@dataclass
class Sample:
    healthy_s: float
    processes: int
    rss_mb: float
    pss_mb: float


@dataclass
class Case:
    topology: str
    nodes: int
    nodes_per_worker: int
    samples: list[Sample]

    def median(self, attribute: str) -> float:
        return float(statistics.median(getattr(s, attribute) for s in self.samples))


def _kib(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def memory_mb(pids: list[int]) -> tuple[float, float]:
    """(RSS, PSS) summed over these processes, in MB."""
    rss = sum(_kib(Path(f"/proc/{pid}/status"), "VmRSS:") for pid in pids)
    pss = sum(_kib(Path(f"/proc/{pid}/smaps_rollup"), "Pss:") for pid in pids)
    return rss / 1024, pss / 1024


def parse_case(text: str) -> tuple[str, str]:
    topology, _, packing = text.partition(":")
    return topology, packing or "1"


async def measure(topology_name: str, per_worker: int, data_dir: Path, offset: int) -> Sample:
    topology = load_topology(topology_name)
    book = AddressBook(topology).shifted(offset)
    launcher = Launcher(
        topology_name, topology, data_dir, book, fork=True, nodes_per_worker=per_worker
    )
    started = time.monotonic()
    await launcher.start()
    try:
        await launcher.wait_ready(180)
        took = time.monotonic() - started
        pids = launcher.process_pids()
        rss, pss = memory_mb(pids)
        return Sample(round(took, 3), len(pids), round(rss, 1), round(pss, 1))
    finally:
        await launcher.stop()


async def main(cases: list[str], runs: int, offset: int) -> list[Case]:
    workdir = Path(tempfile.mkdtemp(prefix="gsp-startup-"))
    results = []
    try:
        for text in cases:
            name, packing = parse_case(text)
            nodes = len(AddressBook(load_topology(name)).nodes())
            per_worker = auto_nodes_per_worker(nodes) if packing == "auto" else int(packing)
            case = Case(name, nodes, per_worker, [])
            for run in range(runs):
                data_dir = workdir / f"{name}-{per_worker}-{run}"
                case.samples.append(await measure(name, per_worker, data_dir, offset))
            results.append(case)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def print_report(results: list[Case], runs: int) -> None:
    table = Table(title=f"Start to all healthy · median of {runs} runs")
    for column in ("topology", "nodes", "per process", "processes", "healthy s", "runs s"):
        table.add_column(column, justify="left" if column == "topology" else "right")
    for column in ("RSS sum MB", "PSS sum MB"):
        table.add_column(column, justify="right")
    for case in results:
        table.add_row(
            case.topology,
            str(case.nodes),
            str(case.nodes_per_worker),
            f"{case.median('processes'):.0f}",
            f"{case.median('healthy_s'):.2f}",
            " ".join(f"{s.healthy_s:.1f}" for s in case.samples),
            f"{case.median('rss_mb'):,.0f}",
            f"{case.median('pss_mb'):,.0f}",
        )
    Console(width=140).print(table)


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.startup", description=__doc__)
    parser.add_argument(
        "cases",
        nargs="*",
        default=DEFAULT_CASES,
        help="TOPOLOGY:N (N nodes per process; 1: a process per node; auto: as `up`)",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port-offset", type=int, default=20000)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    results = asyncio.run(main(args.cases, args.runs, args.port_offset))
    print_report(results, args.runs)
    if args.json:
        args.json.write_text(json.dumps([asdict(c) for c in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(cli())
