"""The benchmark keeps working: a one-second run, checked for shape, not for speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.routed_path import TARGETS
from sandbox.topology.loading import load_topology
from tests.test_launcher import _free_offset

pytestmark = pytest.mark.processes


def test_benchmark_runs_and_reports_every_figure(topology_2022, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if subprocess.run(["which", "wrk"], capture_output=True).returncode != 0:
        pytest.fail("wrk is not installed; `make test` installs it")
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.routed_path",
            "--duration",
            "1",
            "--json",
            str(out),
            "--startup",
            "bac-giang-2022",
            "--runs",
            "2",
            "--no-national",
            "--port-offset",
            str(_free_offset(topology_2022)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert len(report["rounds"]) == 2
    runs = [run for each in report["rounds"] for run in each["runs"]]
    assert {(r["name"], r["connections"]) for r in runs} == {
        (name, c)
        for name in ("direct provincial", "1 hop (LGSP)", "direct national", "2 hops (LGSP->NGSP)")
        for c in (1, 32)
    }
    assert all(r["requests"] > 0 and r["rps"] > 0 and r["errors"] == 0 for r in runs)
    # Every process on a path has its CPU cost per request (the 2-hop path crosses three).
    assert all(r["cpu_us_per_request"] for r in runs)
    assert {len(r["cpu_us_per_request"]) for r in runs if r["name"].startswith("2 hops")} == {3}
    # The summary is the median of the rounds' own ratios, with every target named.
    assert set(report["ratios"]) == set(report["rounds"][0]["ratios"]) == set(TARGETS)
    assert set(report["added_p50_ms_per_hop"])
    assert "median of 2 rounds" in result.stdout and "target >= 70%" in result.stdout
    assert report["startup_s"]["bac-giang-2022"] > 0
    for figures in report["audit"].values():
        assert figures["rows"] == figures["served"]
    topology = load_topology("bac-giang-2022")
    assert len(report["peak_rss_mb"]) == len(topology.platforms) + len(topology.backends)


def test_startup_benchmark_reports_time_and_memory_of_each_process(
    topology_2022,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    out = tmp_path / "startup.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.startup",
            "bac-giang-2022:8",
            "--runs",
            "1",
            "--json",
            str(out),
            "--port-offset",
            str(_free_offset(topology_2022)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [case] = json.loads(out.read_text())
    assert (case["topology"], case["nodes"], case["nodes_per_worker"]) == ("bac-giang-2022", 15, 8)
    [sample] = case["samples"]
    assert sample["processes"] == 3  # the zygote and two workers
    assert sample["healthy_s"] > 0 and sample["pss_mb"] > 0
    assert sample["rss_mb"] >= sample["pss_mb"]
