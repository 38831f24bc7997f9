"""The CLI against a running sandbox: status, topology, call, audit, logs.

One `gsp-sandbox up` for the module (every node its own process, real sockets, real log
files), and each command run as a user runs it: its own process, its own exit code.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from contracts.topology import Topology
from sandbox.runtime.logformat import parse_line
from services.common.sampledata import citizens
from tests.test_launcher import _free_offset

pytestmark = pytest.mark.processes

LGSP = "lgsp-bac-giang"
NGSP = "ngsp"
WIDE = {"COLUMNS": "240", "NO_COLOR": "1"}


@dataclass(frozen=True)
class Sandbox:
    offset: int
    data_dir: Path
    citizen: str

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sandbox.cli", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **WIDE},
        )

    def live(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(*args, "--port-offset", str(self.offset))

    def follow(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "sandbox.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **WIDE},
        )


@pytest.fixture(scope="module")
def up(topology_2022: Topology, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    offset = _free_offset(topology_2022)
    data_dir = tmp_path_factory.mktemp("cli-live") / "data"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "sandbox.cli", "up"),
            *("--data-dir", str(data_dir), "--port-offset", str(offset)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **WIDE},
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "Ctrl-C stops everything" in line:
            break
    else:
        process.wait(timeout=10)
        pytest.fail("".join(seen))
    try:
        yield Sandbox(offset, data_dir, citizens(topology_2022.seed, 1)[0].so_dinh_danh)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _message_id(stderr: str) -> str:
    found = re.search(r"message id ([0-9a-f]{32})", stderr)
    assert found, stderr
    return found.group(1)


class Follower:
    """A following command's output, read on a thread as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def started(self, seconds: float = 60) -> None:
        """Wait until it printed its first line: what it read at start is behind it."""
        deadline = time.monotonic() + seconds
        while not self.lines and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.lines, "the follower printed nothing"

    def until(self, needle: str, count: int = 1, seconds: float = 60) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            text = "".join(self.lines)
            if text.count(needle) >= count:
                return text
            time.sleep(0.05)
        return "".join(self.lines)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def test_call_fetches_a_token_prints_the_body_alone_on_stdout_and_the_message_id(
    up: Sandbox,
) -> None:
    done = up.live("call", "GET", f"/apiCSDLDC/1.0/congDan?soDinhDanh={up.citizen}")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["SoCongDan"] == up.citizen  # pipeable into jq
    assert re.search(r"HTTP 200 · message id [0-9a-f]{32} · [\d.]+ ms", done.stderr)


def test_call_sends_headers_and_exits_1_on_an_error_answer(up: Sandbox) -> None:
    done = up.live(
        "call",
        "GET",
        f"/apiCSDLDC/1.0/congDan?soDinhDanh={up.citizen}",
        "-H",
        "X-Sandbox-Scenario: record-locked",
    )
    assert done.returncode == 1
    problem = json.loads(done.stdout)
    assert problem["status"] == 423 and problem["scenario"] == "record-locked"
    assert "HTTP 423" in done.stderr


def test_call_as_another_consumer_is_refused_where_it_has_no_grant(
    topology_2022: Topology, up: Sandbox
) -> None:
    narrow = next(
        c
        for c in topology_2022.consumers_at(LGSP)
        if not c.roles and "*" not in c.grants and "apiCSDLDC" not in c.grants
    )
    done = up.live(
        "call",
        "GET",
        f"/apiCSDLDC/1.0/congDan?soDinhDanh={up.citizen}",
        "--consumer",
        narrow.id,
    )
    assert done.returncode == 1
    # The body as WSO2 sends it; the sandbox's diagnosis on stderr.
    assert json.loads(done.stdout)["fault"]["code"] == 900908
    assert "HTTP 403" in done.stderr and narrow.id in done.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--consumer", "nobody"], "no consumer 'nobody' at lgsp-bac-giang"),
        (["-H", "no colon"], "expected 'Name: value'"),
        (["--platform", "lgsp-ha-noi"], "no platform 'lgsp-ha-noi'"),
        (["--data", "@/no/such/file"], "No such file"),
    ],
)
def test_call_with_wrong_arguments_says_what_is_wrong_and_exits_2(
    up: Sandbox, args: list[str], says: str
) -> None:
    done = up.live("call", "GET", "/apiCSDLDC/1.0/congDan", *args)
    assert done.returncode == 2
    assert says in done.stderr


def test_status_shows_every_service_with_health_latency_and_errors(up: Sandbox) -> None:
    assert up.live("call", "GET", f"/apiCSDLDC/1.0/congDan?soDinhDanh={up.citizen}").returncode == 0
    done = up.live("status")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "lgsp-bac-giang · 9 services connected through NGSP · 3 intra-province" in out
    assert "ngsp · 1 provincial platforms connected · 9 national services" in out
    for header in ("service", "tier", "health", "p50 ms", "errors"):
        assert header in out
    rows = [line for line in out.splitlines() if "/apiCSDLDC/1.0/" in line]
    assert len(rows) == 2  # at the LGSP (upstream) and at NGSP (direct)
    for row in rows:
        assert "healthy" in row
        cells = [c.strip() for c in row.split("│")]
        p50 = cells[6]
        assert re.fullmatch(r"\d+\.\d", p50), row  # a measured latency, not "-"
    service_rows = [line for line in out.splitlines() if re.search(r"/api\w+/p?1\.0/", line)]
    assert len(service_rows) == 9 + 12  # NGSP's 9, the LGSP's 9 through NGSP and 3 own


def test_status_of_one_platform_and_of_a_sandbox_that_is_not_running(up: Sandbox) -> None:
    one = up.live("status", "--platform", NGSP)
    assert one.returncode == 0
    assert "ngsp ·" in one.stdout and "lgsp-bac-giang ·" not in one.stdout
    nothing = up.run("status", "--url", "http://127.0.0.1:9")
    assert nothing.returncode == 1
    assert "lgsp-bac-giang at http://127.0.0.1:9" in nothing.stderr


def test_topology_is_a_tree_with_the_counts_each_platform_reports(up: Sandbox) -> None:
    done = up.live("topology")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    ngsp = next(i for i, line in enumerate(lines) if "NGSP ngsp" in line)
    lgsp = next(i for i, line in enumerate(lines) if "LGSP lgsp-bac-giang" in line)
    assert ngsp < lgsp
    # the province hangs beneath the national platform
    assert lines[lgsp].index("LGSP") > lines[ngsp].index("NGSP")
    out = done.stdout
    assert "NGSP: 1 provincial platforms connected, 9 national services" in out
    assert "LGSP bac-giang: 9 services connected through NGSP, 3 intra-province" in out
    assert "national services · 9 registered, 9 reachable" in out
    assert "through ngsp · 9 registered, 9 reachable" in out
    assert "intra-province · 3 registered, 3 reachable" in out
    assert "/apiMotCua/1.0/" in out


def test_logs_are_json_lines_and_one_message_id_shows_the_call_on_every_node(
    up: Sandbox,
) -> None:
    called = up.live("call", "GET", f"/apiCSDLDC/1.0/congDan?soDinhDanh={up.citizen}")
    message_id = _message_id(called.stderr)
    deadline = time.monotonic() + 10
    while True:
        done = up.run("logs", "--data-dir", str(up.data_dir), "--message-id", message_id)
        records = [parse_line(line) for line in done.stdout.splitlines()]
        if len(records) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert done.returncode == 0
    assert all(r is not None for r in records), done.stdout
    by_node = {r["node"]: r for r in records if r}
    assert set(by_node) == {LGSP, NGSP, "population"}
    for record in by_node.values():
        assert record["message_id"] == message_id
        assert record["status"] == 200
        assert record["time"] and record["level"] == "info"
    assert by_node[LGSP]["consumer"] == "motcua-bac-giang"
    assert by_node[NGSP]["consumer"] == LGSP
    assert by_node[NGSP]["origin_consumer"] == "motcua-bac-giang"

    pretty = up.run(
        "logs", "--data-dir", str(up.data_dir), "--message-id", message_id, "--pretty"
    ).stdout.splitlines()
    assert len(pretty) == 3
    for line in pretty:
        assert not line.startswith("{")
        assert f"message_id={message_id}" in line and " INFO " in line


def test_logs_of_a_node_and_a_clear_error_for_an_unknown_one(up: Sandbox) -> None:
    done = up.run("logs", NGSP, "--data-dir", str(up.data_dir), "-n", "3")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert 1 <= len(lines) <= 3
    assert all((parse_line(line) or {}).get("node") == NGSP for line in lines), lines
    missing = up.run("logs", "nowhere", "--data-dir", str(up.data_dir))
    assert missing.returncode == 2
    assert "no log for nowhere" in missing.stderr and "population" in missing.stderr


def test_audit_follow_shows_a_call_made_after_it_started(up: Sandbox) -> None:
    follower = Follower(
        up.follow("audit", "--follow", "--limit", "1", "--port-offset", str(up.offset))
    )
    try:
        follower.started()  # it has read what was there (the last record); what comes is new
        called = up.live("call", "GET", f"/apiCSDLDC/1.0/congDan?soDinhDanh={up.citizen}")
        message_id = _message_id(called.stderr)
        seen = follower.until(message_id)
    finally:
        follower.stop()
    line = next(line for line in seen.splitlines() if message_id in line)
    assert "lgsp-bac-giang" in line and "GET /apiCSDLDC/1.0/congDan 200 ok" in line


def test_logs_follow_shows_lines_as_they_are_written(up: Sandbox) -> None:
    follower = Follower(
        up.follow("logs", "--follow", "--pretty", "-n", "0", "--data-dir", str(up.data_dir))
    )
    try:
        time.sleep(0.5)
        called = up.live("call", "GET", f"/apiCSDLDC/1.0/congDan?soDinhDanh={up.citizen}")
        message_id = _message_id(called.stderr)
        seen = follower.until(f"message_id={message_id}", count=3)
    finally:
        follower.stop()
    lines = [line for line in seen.splitlines() if f"message_id={message_id}" in line]
    assert {line.split()[1] for line in lines} == {LGSP, NGSP, "population"}, seen


def test_audit_json_lines_for_one_exchange(up: Sandbox) -> None:
    called = up.live("call", "GET", f"/apiCSDLDC/1.0/congDan?soDinhDanh={up.citizen}")
    message_id = _message_id(called.stderr)
    done = up.live("audit", "--platform", NGSP, "--message-id", message_id, "--json")
    assert done.returncode == 0
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 1
    assert records[0]["consumer"] == LGSP and records[0]["status"] == 200


def test_samples_lists_ids_the_sample_databases_know(topology_2022: Topology, up: Sandbox) -> None:
    done = up.run("samples", "-n", "2")
    assert done.returncode == 0, done.stderr
    assert up.citizen in done.stdout  # the first sample citizen, as the plugin's fixture says
    called = up.live("call", "GET", f"/apiCSDLDC/1.0/congDan?soDinhDanh={up.citizen}")
    assert called.returncode == 0


def test_samples_put_an_agency_s_own_seeded_records_first(
    up: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GSP_SEED_DIR", str(Path(__file__).parent.parent / "seeds" / "example"))
    done = up.run("samples", "-n", "1")
    assert done.returncode == 0, done.stderr
    assert "024190012468" in done.stdout  # seeds/example/citizens.yaml's first
    assert up.citizen not in done.stdout
    assert "BG-SEED-0001" in done.stdout
