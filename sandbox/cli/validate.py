"""`gsp-sandbox validate` (a topology file, checked and counted) and `samples` (its data)."""

from __future__ import annotations

import argparse
from typing import TypeVar

from rich.table import Table

from sandbox.cli.options import Subcommands, add, console, running_topology_options
from sandbox.cli.which import topology_ref
from sandbox.topology.counts import count
from sandbox.topology.loading import load_topology
from services.common.seeds import load_seeds, seed_paths

_Record = TypeVar("_Record")


def register(sub: Subcommands) -> None:
    check = add(sub, "validate", run_validate, help="check a topology file and print its counts")
    check.add_argument("topology")

    samples = add(sub, "samples", run_samples, help="IDs the sample back ends know, to call with")
    running_topology_options(samples)
    samples.add_argument("--port-offset", type=int, default=0, help="as given to `up`")
    samples.add_argument("--url", help="a running platform's base URL (to find its topology)")
    samples.add_argument("-n", "--count", type=int, default=5)


def run_validate(args: argparse.Namespace) -> int:
    topology = load_topology(args.topology)
    seeds = seed_paths(topology.seeds)
    seeded = load_seeds(seeds)
    if seeds:
        console.print(f"seeds: {seeded.summary()} from {', '.join(map(str, seeds))}")
    for name, platform in topology.platforms.items():
        console.print(
            f"{name}: {len(topology.services_at(name))} services registered"
            + (
                f", {len(topology.upstream_services(name))} through {platform.upstream.platform}"
                if platform.upstream
                else ""
            )
        )
    for line in count(topology).lines():
        console.print(line, highlight=False)
    console.print(f"{topology.name}: valid")
    return 0


def _own_first(records: tuple[_Record, ...], own: int) -> list[_Record]:
    """Seeded records come last in the sample data; here first: an agency added them."""
    split = len(records) - own
    return [*records[split:], *records[:split]]


def run_samples(args: argparse.Namespace) -> int:
    """IDs the sample back ends know, seeded ones included: something real to call with."""
    from services.common.backend_data import SampleData

    topology = load_topology(topology_ref(args))
    data = SampleData(topology.seed, load_seeds(seed_paths(topology.seeds)))
    people = Table(title=f"citizens (population, civil status, insurance) · {topology.name}")
    for column in ("soDinhDanh", "hoTen", "ngaySinh", "gioiTinh", "maSoBhxh"):
        people.add_column(column)
    for c in _own_first(data.citizens, len(data.seeded.citizens))[: args.count]:
        born = c.ngay_sinh
        people.add_row(
            c.so_dinh_danh, c.ho_ten, born.strftime("%d/%m/%Y"), str(c.gioi_tinh), c.so_bhxh
        )
    firms = Table(title="enterprises (business registration: msdn; tax: mst)")
    for column in ("msdn", "NAME", "ENTERPRISE_STATUS_NAME"):
        firms.add_column(column)
    for e in _own_first(data.enterprises, len(data.seeded.enterprises))[: args.count]:
        firms.add_row(e.msdn, e.ten, e.tinh_trang)
    console.print(people, firms)
    console.print(
        "business registration dossiers: in_journal_no 240000001 … 240000240 "
        "(tinhTrangHoSo); dates dd/MM/yyyy (danhSachHoSo, at most 5 days)",
        highlight=False,
    )
    if data.dossiers:
        dossiers = Table(title="seeded dossiers (one-stop shop)")
        for column in ("maHoSo", "maThuTuc"):
            dossiers.add_column(column)
        for d in data.dossiers[: args.count]:
            dossiers.add_row(d.maHoSo, d.maThuTuc)
        console.print(dossiers)
    return 0
