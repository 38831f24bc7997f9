"""`up --nodes-per-worker`: nodes packed into worker processes, each still its own node.

Real `up` processes, real SIGKILLs of a worker; the platforms' own /topology counts and
every node's /healthz are the witnesses. The national preset (170 nodes, packed by default)
is not started here: it took 44 s on the shared 2-core machine, so `bench/startup.py` starts
it and prints its figures instead.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.runtime import control
from sandbox.runtime.launcher import pack
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import DEFAULT_TOPOLOGY, load_topology
from tests.test_supervise import (
    LGSP,
    Up,
    _taken,
    answers,
    finish,
    intra,
    launch,
    start_up,
    until,
)

pytestmark = pytest.mark.processes


def workers(up: Up) -> dict[str, dict[str, object]]:
    return up.nodes()  # ps: one row a worker, naming its nodes


def without_lgsp(up: Up) -> tuple[str, dict[str, object]]:
    """The worker whose loss the LGSP (in the other one) witnesses: it holds NGSP or the
    national back end, or both, since two of the three other nodes share it."""
    return next((w, row) for w, row in workers(up).items() if LGSP not in row["nodes"])  # type: ignore[operator]


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    up = start_up(
        tmp_path_factory.mktemp("packing"), "--nodes-per-worker", "2", "--restart-delay", "1"
    )
    try:
        up.wait_for("Ctrl-C stops everything")
        yield up
    finally:
        finish(up)
    assert up.process.returncode == 0, up.text()
    assert "all nodes stopped" in up.text()


def test_nodes_are_dealt_into_workers_round_robin() -> None:
    assert pack(["a", "b", "c", "d", "e"], 2) == {
        "worker-1": ["a", "d"],
        "worker-2": ["b", "e"],
        "worker-3": ["c"],
    }
    assert pack(["a", "b"], 1) == {"a": ["a"], "b": ["b"]}


def test_two_workers_serve_every_node_under_its_own_identity(packed: Up) -> None:
    answer = control.request(packed.data_dir, {"command": "ps"})
    rows = {row["node"]: row for row in answer["nodes"]}
    assert sorted(rows) == ["worker-1", "worker-2"]
    served = sorted(n for row in rows.values() for n in row["nodes"])
    assert served == sorted(packed.ports)
    assert len({row["pid"] for row in rows.values()}) == 2
    for node in packed.ports:
        body = httpx.get(f"{packed.url(node)}/healthz", timeout=2.0).json()
        said = {k: body[k] for k in ("topology", "node", "instance")}
        assert said == {"topology": "supervise-test", "node": node, "instance": answer["instance"]}
    # Each node keeps its own data files, whichever process serves it.
    assert (packed.data_dir / f"{LGSP}.audit.sqlite3").exists()
    assert (packed.data_dir / "one-stop-shop.sqlite3").exists()
    assert "4 nodes packed into 2 worker processes" in packed.text()


def test_each_node_has_its_own_records_in_its_workers_log(packed: Up) -> None:
    worker, row = without_lgsp(packed)
    for node in row["nodes"]:  # type: ignore[attr-defined]
        shown = packed.cli("logs", node, "--lines", "0")
        assert shown.returncode == 0, shown.stderr
        records = [json.loads(line) for line in shown.stdout.splitlines()]
        assert records and {r["node"] for r in records} == {node}
    whole = (packed.data_dir / "logs" / f"{worker}.log").read_text().splitlines()
    named = {json.loads(line)["node"] for line in whole if line.startswith("{")}
    assert named == set(row["nodes"])  # type: ignore[call-overload]


def test_a_killed_worker_comes_back_with_its_nodes_and_the_other_keeps_answering(
    packed: Up,
) -> None:
    assert packed.report().national.reachable == 1
    worker, before = without_lgsp(packed)
    its_nodes = list(before["nodes"])  # type: ignore[call-overload]
    others = [n for n in packed.ports if n not in its_nodes]
    os.kill(int(before["pid"]), signal.SIGKILL)  # type: ignore[call-overload]

    until(lambda: not any(answers(packed.url(n)) for n in its_nodes), what="its nodes down")
    assert all(answers(packed.url(n)) for n in others)
    until(lambda: packed.report().national.reachable == 0, what="the LGSP counts NGSP's down")
    assert all(answers(packed.url(n)) for n in others)

    until(lambda: packed.report().national.reachable == 1, what="the LGSP counts them back")
    assert all(answers(packed.url(n)) for n in its_nodes)
    after = workers(packed)[worker]
    assert after["pid"] != before["pid"] and after["nodes"] == before["nodes"]
    assert after["restarts"] == before["restarts"] + 1  # type: ignore[operator]
    assert after["last_exit"] == "was killed by SIGKILL"
    packed.wait_for(f"{worker} was killed by SIGKILL; restarting in 1 s")
    assert intra(packed.report()) == (1, 1)


def test_a_packed_node_is_stopped_through_its_worker(packed: Up) -> None:
    worker, row = without_lgsp(packed)
    node = row["nodes"][0]  # type: ignore[index]
    refused = packed.cli("stop", node)
    assert refused.returncode == 1
    assert f"{node} is packed into {worker}" in " ".join(refused.stderr.split())
    assert answers(packed.url(node))  # the refusal touched nothing

    stopped = packed.cli("stop", worker)
    assert stopped.returncode == 0, stopped.stderr
    until(lambda: not answers(packed.url(node)), what="the worker's nodes stop")
    assert workers(packed)[worker]["status"] == "stopped"
    assert answers(packed.url(LGSP))
    started = packed.cli("start", worker)
    assert started.returncode == 0, started.stderr
    until(lambda: packed.report().national.reachable == 1, what="back through NGSP")
    until(lambda: workers(packed)[worker]["status"] == "up", what="the worker is up again")


def _free_offset(topology_name: str) -> int:
    # every port `up` checks: the platforms' HTTPS ones too
    ports = [port for _, port in AddressBook(load_topology(topology_name)).all_ports()]
    for offset in range(3000, 20000, 997):
        if not any(_taken(p + offset) for p in ports):
            return offset
    raise RuntimeError("no free port range")


def _nodes(topology_name: str) -> list[str]:
    return AddressBook(load_topology(topology_name)).nodes()


def _counts(output: str) -> list[str]:
    # The platforms' own summaries, e.g. "NGSP: 1 provincial platforms connected, …"
    return sorted(re.findall(r"^(?:LGSP|NGSP)\b.*$", output, re.M))


def test_packed_default_topology_reports_the_same_counts_as_unpacked(tmp_path: Path) -> None:
    seen = {}
    for per_worker in ("1", "8"):
        offset = _free_offset(DEFAULT_TOPOLOGY)
        up = launch(
            Path(DEFAULT_TOPOLOGY),
            tmp_path / f"default-{per_worker}",
            {},
            "--nodes-per-worker",
            per_worker,
            "--port-offset",
            str(offset),
            "--exit-when-ready",
        )
        try:
            assert up.process.wait(timeout=120) == 0, up.text()
        finally:
            finish(up)
        seen[per_worker] = _counts(up.text())
        if per_worker == "8":
            assert "15 nodes packed into 2 worker processes" in up.text()
    assert seen["1"] == seen["8"]
    assert len(seen["1"]) == 2 and "9 services connected through NGSP" in " ".join(seen["1"])
