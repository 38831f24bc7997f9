"""`gsp-sandbox up` keeps its nodes up: one node down is one node down.

Real `up` processes on a four-node topology (NGSP, the LGSP, a national and a provincial back
end), real SIGKILLs, and the LGSP's own /topology counts as the witness.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from contracts.platform import TopologyReport
from contracts.topology import https_port
from sandbox.runtime import control
from sandbox.runtime.supervisor import RestartPolicy
from sandbox.topology.loading import SHIPPED_DIR
from tests.helpers import zygote_of

LGSP = "lgsp-bac-giang"
NATIONAL = "population"  # reached through NGSP
PROVINCIAL = "one-stop-shop"  # registered at the LGSP; has its own SQLite file
FAST_HEALTH = {
    "GSP_HEALTH_INTERVAL_SECONDS": "0.1",
    "GSP_HEALTH_TIMEOUT_SECONDS": "0.5",
    "GSP_AUDIT_FLUSH_SECONDS": "0",
}


def small_topology(path: Path) -> dict[str, int]:
    """Bắc Giang 2022 cut down to two platforms and two back ends, on free ports."""
    raw = yaml.safe_load((SHIPPED_DIR / "bac-giang-2022.yaml").read_text(encoding="utf-8"))
    raw["name"] = "supervise-test"
    raw["backends"] = {n: raw["backends"][n] for n in (NATIONAL, PROVINCIAL)}
    raw["services"] = [s for s in raw["services"] if s.get("backend") in raw["backends"]]
    codes = {s["code"] for s in raw["services"]}
    raw["platforms"][LGSP]["national_services"] = [
        c for c in raw["platforms"][LGSP]["national_services"] if c in codes
    ]
    for consumer in raw["consumers"]:
        if "grants" in consumer:
            consumer["grants"] = [g for g in consumer["grants"] if g == "*" or g in codes]
    raw["mailboxes"] = []
    ports = _free_ports([*raw["platforms"], *raw["backends"]])
    for name, port in ports.items():
        (raw["platforms"] if name in raw["platforms"] else raw["backends"])[name]["port"] = port
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return ports


def _free_ports(names: list[str]) -> dict[str, int]:
    # Below the ephemeral range (32768+): an outgoing connection of any process on the
    # machine can take a port there between this check and `up`'s own.
    for _ in range(50):
        base = random.randrange(10_000, 32_000)
        ports = {n: base + i for i, n in enumerate(names)}
        # a platform's HTTPS port too (its port + 443), which `up` checks as well
        if not any(_taken(p) or _taken(https_port(p)) for p in ports.values()):
            return ports
    raise RuntimeError("no free ports")


def _taken(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@dataclass
class Up:
    process: subprocess.Popen[bytes]
    output: Path
    data_dir: Path
    ports: dict[str, int]

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_for(self, needle: str, within: float = 60.0) -> str:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            text = self.text()
            if needle in text:
                return text
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} not in the output of up:\n{self.text()}")

    def url(self, node: str) -> str:
        return f"http://127.0.0.1:{self.ports[node]}"

    def nodes(self) -> dict[str, dict[str, Any]]:
        answer = control.request(self.data_dir, {"command": "ps"})
        return {n["node"]: n for n in answer["nodes"]}

    def report(self) -> TopologyReport:
        response = httpx.get(f"{self.url(LGSP)}/topology", timeout=2.0)
        return TopologyReport.model_validate_json(response.content)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sandbox.cli", *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )


def start_up(tmp_path: Path, *extra: str, name: str = "up") -> Up:
    topology = tmp_path / f"{name}.yaml"
    ports = small_topology(topology)
    return launch(topology, tmp_path / name, ports, *extra)


def launch(topology: Path, data_dir: Path, ports: dict[str, int], *extra: str) -> Up:
    data_dir.mkdir(parents=True, exist_ok=True)
    output = data_dir.with_suffix(".out")
    command = [sys.executable, "-m", "sandbox.cli", "up", "--topology", str(topology)]
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--data-dir", str(data_dir), *extra],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **FAST_HEALTH, "COLUMNS": "200"},
        )
    return Up(process, output, data_dir, ports)


def finish(up: Up) -> None:
    if up.process.poll() is None:
        up.process.send_signal(signal.SIGINT)
        up.process.wait(timeout=30)


def until(condition: Callable[[], bool], within: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        time.sleep(0.02)


def until_report(
    up: Up, condition: Callable[[TopologyReport], bool], within: float = 20.0, what: str = ""
) -> TopologyReport:
    """The first report that meets the condition (later ones may already say otherwise)."""
    found: list[TopologyReport] = []

    def met() -> bool:
        report = up.report()
        if condition(report):
            found.append(report)
        return bool(found)

    until(met, within, what)
    return found[0]


def intra(report: TopologyReport) -> tuple[int, int]:
    assert report.intra is not None
    return report.intra.reachable, report.intra.registered


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    # A restart delay the LGSP's 0.1 s health checks cannot miss, even on a loaded machine.
    up = start_up(tmp_path_factory.mktemp("supervise"), "--restart-delay", "3")
    try:
        up.wait_for("Ctrl-C stops everything")
        yield up
    finally:
        finish(up)
    assert up.process.returncode == 0, up.text()
    assert "all nodes stopped" in up.text()


@pytest.mark.processes
def test_every_node_names_its_topology_node_and_this_launch(sandbox: Up) -> None:
    instance = control.request(sandbox.data_dir, {"command": "ps"})["instance"]
    for node in sandbox.ports:
        body = httpx.get(f"{sandbox.url(node)}/healthz", timeout=2.0).json()
        said = {k: body[k] for k in ("topology", "node", "instance")}
        assert said == {"topology": "supervise-test", "node": node, "instance": instance}


@pytest.mark.processes
def test_a_killed_back_end_is_restarted_and_the_others_keep_answering(sandbox: Up) -> None:
    assert intra(sandbox.report()) == (1, 1)
    before = sandbox.nodes()[PROVINCIAL]
    os.kill(before["pid"], signal.SIGKILL)

    # The report that counted it down is the one read: the supervisor may already have
    # restarted it by the next look (its delay is 1 s, and a loaded machine is slow to ask).
    down = until_report(sandbox, lambda r: intra(r) == (0, 1), what="the LGSP counts it down")
    assert "0 intra-province (1 registered)" in down.summary
    assert down.national is not None and down.national.reachable == 1
    # While it is down or coming back, every other node answers.
    assert all(answers(sandbox.url(n)) for n in sandbox.ports if n != PROVINCIAL)

    until(lambda: intra(sandbox.report()) == (1, 1), what="the LGSP counts it back")
    after = sandbox.nodes()[PROVINCIAL]
    assert after["pid"] != before["pid"] and after["restarts"] == before["restarts"] + 1
    assert after["last_exit"] == "was killed by SIGKILL"
    text = sandbox.wait_for(f"{PROVINCIAL} is up (pid {after['pid']}")
    assert f"{PROVINCIAL} was killed by SIGKILL; restarting in 3 s (attempt 1 of 5)" in text


@pytest.mark.processes
def test_stop_keeps_a_node_down_until_start(sandbox: Up) -> None:
    stopped = sandbox.cli("stop", PROVINCIAL)
    assert stopped.returncode == 0, stopped.stderr
    assert f"{PROVINCIAL} stopped" in stopped.stdout

    until(lambda: intra(sandbox.report()) == (0, 1), what="the LGSP counts it down")
    until(lambda: "stopped on purpose" in sandbox.text(), what="up reports the stop")
    # A node that crashed would be "restarting" now, its restart scheduled; this one is not.
    state = sandbox.nodes()[PROVINCIAL]
    assert (state["status"], state["pid"]) == ("stopped", None)
    assert not answers(sandbox.url(PROVINCIAL))
    assert answers(sandbox.url(NATIONAL)) and answers(sandbox.url(LGSP))
    assert intra(sandbox.report()) == (0, 1)

    started = sandbox.cli("start", PROVINCIAL)
    assert started.returncode == 0, started.stderr
    until(lambda: intra(sandbox.report()) == (1, 1), what="the LGSP counts it back")
    assert sandbox.nodes()[PROVINCIAL]["status"] == "up"

    unknown = sandbox.cli("stop", "no-such-node")
    assert unknown.returncode == 2
    assert "not a node of this sandbox" in unknown.stderr


@pytest.mark.processes
def test_restart_brings_a_node_back_with_a_new_process(sandbox: Up) -> None:
    before = sandbox.nodes()[NATIONAL]["pid"]
    restarted = sandbox.cli("restart", NATIONAL)
    assert restarted.returncode == 0, restarted.stderr
    until(lambda: sandbox.nodes()[NATIONAL]["status"] == "up", what="population up again")
    assert sandbox.nodes()[NATIONAL]["pid"] != before
    until(lambda: sandbox.report().national.reachable == 1, what="counted through NGSP")


@pytest.mark.processes
def test_a_second_up_on_the_same_ports_names_every_taken_port(sandbox: Up, tmp_path: Path) -> None:
    topology = sandbox.data_dir.parent / "up.yaml"
    second = launch(topology, tmp_path / "second", sandbox.ports)
    assert second.process.wait(timeout=60) == 1
    text = second.text()
    # 4 nodes' ports and the 2 platforms' HTTPS ports
    assert "cannot start: 6 of the 6 ports this sandbox needs are taken" in text
    for node, port in sandbox.ports.items():
        occupant = f"it answers as {node} of topology supervise-test"
        assert f"{node}: port {port} is taken: {occupant}" in text
    assert "ready" not in text
    # The first sandbox is untouched.
    assert intra(sandbox.report()) == (1, 1)

    same_dir = launch(topology, sandbox.data_dir, sandbox.ports)
    assert same_dir.process.wait(timeout=60) == 1
    assert "another `gsp-sandbox up` is running with data dir" in same_dir.text()


@pytest.mark.processes
def test_up_exits_non_zero_when_a_node_crash_loops(tmp_path: Path) -> None:
    up = start_up(tmp_path, "--restart-max-attempts", "2", "--restart-delay", "0.05")
    try:
        up.wait_for("Ctrl-C stops everything")
        assert up.cli("stop", PROVINCIAL).returncode == 0
        # Its database cannot be opened any more: every start fails.
        database = up.data_dir / f"{PROVINCIAL}.sqlite3"
        for leftover in up.data_dir.glob(f"{PROVINCIAL}.sqlite3*"):
            leftover.unlink()
        database.mkdir()
        assert up.cli("start", PROVINCIAL).returncode == 0
        assert up.process.wait(timeout=60) == 1
    finally:
        finish(up)
    text = up.text()
    # uvicorn exits 3 when the app cannot start (now and then 1, from the loop's shutdown)
    assert f"cannot keep the sandbox up: {PROVINCIAL} exited with code " in text
    assert "after 2 restarts in a row (restart limit 2)" in text
    log = up.data_dir / "logs" / f"{PROVINCIAL}.log"
    assert f"its log {log} ends:" in text
    assert "unable to open database file" in log.read_text()
    assert "all nodes stopped" in text
    assert not any(answers(up.url(n)) for n in up.ports)


@pytest.mark.processes
def test_restart_no_leaves_a_node_down_and_a_lost_zygote_ends_up(tmp_path: Path) -> None:
    up = start_up(tmp_path, "--restart", "no")
    try:
        up.wait_for("Ctrl-C stops everything")
        os.kill(up.nodes()[PROVINCIAL]["pid"], signal.SIGKILL)
        up.wait_for(f"{PROVINCIAL} was killed by SIGKILL; not restarted (restart: no)")
        until(lambda: intra(up.report()) == (0, 1), what="the LGSP counts it down")
        assert up.nodes()[PROVINCIAL]["status"] == "exited"
        assert up.process.poll() is None and answers(up.url(NATIONAL))
        assert up.cli("start", PROVINCIAL).returncode == 0
        until(lambda: intra(up.report()) == (1, 1), what="the LGSP counts it back")

        # The process that forks the nodes is gone: no node could be restarted any more.
        zygote = zygote_of(up.process.pid)
        os.kill(zygote, signal.SIGKILL)
        assert up.process.wait(timeout=60) == 1
    finally:
        finish(up)
    text = up.text()
    assert f"the node process server (zygote, pid {zygote}) was killed by SIGKILL" in text
    assert "all nodes stopped" in text
    until(lambda: not any(answers(up.url(n)) for n in up.ports), what="every node gone")


@pytest.mark.parametrize(
    ("condition", "code", "restarts"),
    [
        ("no", 1, False),
        ("on-failure", 0, False),
        ("on-failure", -9, True),
        ("always", 0, True),
        ("unless-stopped", 0, True),
    ],
)
def test_restart_policy_decides_as_compose_does(condition: str, code: int, restarts: bool) -> None:
    assert RestartPolicy(condition=condition).restarts(code) is restarts


def test_restart_backoff_doubles_up_to_its_ceiling() -> None:
    policy = RestartPolicy(delay_seconds=0.5, max_delay_seconds=3)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1, 2, 3, 3]


def test_the_restart_limit_refusal_names_the_limit_and_how_to_raise_it() -> None:
    hint = RestartPolicy(max_attempts=5, window_seconds=10).limit_hint()
    assert "--restart-max-attempts 5" in hint and "GSP_RESTART_MAX_ATTEMPTS" in hint
    assert "--restart-window" in hint and "up 10 s" in hint
    assert "0 attempts never to give up" in hint
