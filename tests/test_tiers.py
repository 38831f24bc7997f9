"""The tier guard (tests/tiers.py) as a new test file meets it: in a pytest run of its own.

The run is a child process, so the guard under test is a fresh one and not this suite's.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.tiers import TIERS

ROOT = Path(__file__).resolve().parent.parent

INI = """
[pytest]
addopts = -p tests.tiers --strict-markers
markers =
    sockets: servers on loopback sockets
    processes: child processes
    browser: chromium
    contention: many calls at once
    containers: a container engine
"""

TESTS = """
import socket
import subprocess
import sys

import pytest

from tests.tiers import TierViolation


def listen():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()


def spawn():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


@pytest.fixture(scope="session")
def server():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def test_unmarked_binds_without_listening():
    # A unit test may bind (to learn a free port, say): only a listener is a server.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        assert sock.getsockname()[1] > 0


def test_unmarked_listens():
    listen()


def test_unmarked_spawns():
    spawn()


def test_unmarked_swallows_the_refusal():
    try:
        listen()
    except TierViolation:
        pass


@pytest.mark.sockets
def test_marked_listens():
    listen()


@pytest.mark.sockets
def test_sockets_tier_spawns():
    spawn()


@pytest.mark.processes
def test_marked_spawns_and_listens():
    spawn()
    listen()


@pytest.fixture(autouse=True)
def per_test(request):
    # Spawns only for a marked test, as the contention tier's burners do.
    if request.node.get_closest_marker("processes"):
        spawn()
    yield


@pytest.mark.sockets
def test_a_marked_test_starts_the_session_server(server):
    assert server.getsockname()[1] > 0


def test_zz_an_unmarked_test_reuses_the_session_server(server):
    assert server.getsockname()[1] > 0


def test_zz_an_unmarked_test_after_a_per_test_fixture_spawned_for_another():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        assert sock.getsockname()[1] > 0
"""


@pytest.mark.processes
def test_a_test_that_forgets_its_marker_fails_naming_it_whatever_the_order(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("COLUMNS", "400")  # the summary lines whole
    pytester.makeini(INI)
    pytester.makepyfile(test_new_file=textwrap.dedent(TESTS))
    outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE")

    outcome.assert_outcomes(passed=5, failed=4, errors=1)
    text = outcome.stdout.str()
    for test, marker in (
        ("test_unmarked_listens", "sockets"),
        ("test_unmarked_spawns", "processes"),
        ("test_unmarked_swallows_the_refusal", "sockets"),
        ("test_sockets_tier_spawns", "processes"),
    ):
        assert f"test_new_file.py::{test} " in text, test
        failure = next(line for line in text.splitlines() if f"::{test} " in line)
        assert f"pytest.mark.{marker}" in failure, failure

    # Run in file order, the session server exists before the unmarked test asks for it:
    # the guard remembers what the fixture did, so the order does not decide the tier.
    errors = [line for line in outcome.stdout.lines if line.startswith("ERROR ")]
    assert len(errors) == 1 and "test_zz_an_unmarked_test_reuses_the_session_server" in errors[0]
    assert "through its fixture 'server'" in outcome.stdout.str()


@pytest.mark.parametrize("where", ["pyproject.toml", "docs/internals/layout.md", "Makefile"])
def test_every_tier_is_declared_documented_and_left_out_of_the_fast_run(where: str) -> None:
    text = (ROOT / where).read_text(encoding="utf-8")
    for tier in TIERS:
        assert (f'"{tier}:' if where == "pyproject.toml" else f"{tier}") in text, (where, tier)
    if where == "Makefile":
        fast = text.split("test-fast:", 1)[1].split("\n\n", 1)[0]
        assert f'-m "not ({" or ".join(TIERS)})"' in fast, fast
