"""The suite's tiers, and the guard that keeps every test in the tier its marker names.

A test without a tier marker is a unit test: `make test-fast` runs only those, so none of
them may start a server on a real socket or a child process. Rather than trust each author
to remember the marker, the guard watches the two ways in: `socket.listen` (every server
the suite starts, uvicorn's or a bare asyncio one, listens through it) and the process
spawners (`subprocess` and asyncio's subprocesses share `Popen`; `os.fork`, `posix_spawn`).
When a test, or a fixture it uses, does what its tier does not allow, the call raises at
once (so the fast tier never waits on a sandbox it should not have started) and the test
fails naming the marker it needs. A session fixture set up earlier by a marked test is
remembered, so a test that only reuses it is caught too, whatever the order.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

# Tier marker -> what it allows; declared (with these descriptions) in pyproject.toml.
SOCKETS = "sockets"  # servers on real loopback sockets inside the test's process
PROCESSES = "processes"  # child processes: `gsp-sandbox up`, a node, the CLI, a pytest run
BROWSER = "browser"  # Chromium under Playwright, against nodes on real sockets
LOAD = "contention"  # many calls at once, under CPU burners (tests/contention.py)
CONTAINERS = "containers"  # a real container engine: images, containers, Compose
TIERS = (SOCKETS, PROCESSES, BROWSER, LOAD, CONTAINERS)

LISTEN = "listened on a socket"
SPAWN = "started a child process"
_ALLOWED = {
    SOCKETS: {LISTEN},
    PROCESSES: {LISTEN, SPAWN},
    BROWSER: {LISTEN, SPAWN},
    LOAD: {LISTEN, SPAWN},
    CONTAINERS: {LISTEN, SPAWN},
}
# The marker a test needs for each act, as the failure message suggests it.
_NEEDS = {LISTEN: SOCKETS, SPAWN: PROCESSES}

_violations_key = pytest.StashKey[list[str]]()


class TierViolation(RuntimeError):
    """Raised inside the act itself, so the test stops before a server or process exists."""


class _Guard:
    def __init__(self) -> None:
        self.item: pytest.Item | None = None
        self.allowed: set[str] = set()
        # Fixtures being set up right now, innermost last, and those whose set-up did what.
        self.fixtures: list[Any] = []
        self.fixture_acts: dict[Any, set[str]] = {}

    def act(self, what: str, detail: str) -> None:
        for fixturedef in self.fixtures:
            self.fixture_acts.setdefault(fixturedef, set()).add(what)
        if self.item is None or what in self.allowed:
            return
        message = _message(self.item, what, detail)
        self.item.stash.setdefault(_violations_key, []).append(message)
        raise TierViolation(message)


def _message(item: pytest.Item, what: str, detail: str) -> str:
    marker = _NEEDS[what]
    return (
        f"needs @pytest.mark.{marker}: {item.nodeid} {what} ({detail}); mark the test, or "
        f"a whole module with `pytestmark = pytest.mark.{marker}` "
        "(the tiers: docs/internals/layout.md)"
    )


def tiers_of(item: pytest.Item) -> set[str]:
    return {tier for tier in TIERS if item.get_closest_marker(tier) is not None}


def allowed_for(item: pytest.Item) -> set[str]:
    return set().union(*(_ALLOWED[tier] for tier in tiers_of(item)))


_guard = _Guard()


def _argv(args: Any) -> str:
    if isinstance(args, str | bytes | os.PathLike):
        return os.fsdecode(args)
    return " ".join(os.fsdecode(a) for a in list(args)[:3])


def _patches() -> list[tuple[Any, str, Callable[..., Any]]]:
    # Every way subprocess (and asyncio's subprocesses, built on Popen) starts a program goes
    # through this private method; typeshed does not declare it.
    execute_child = subprocess.Popen._execute_child  # type: ignore[attr-defined]
    listen = socket.socket.listen

    def guarded_execute_child(self: subprocess.Popen[Any], args: Any, *rest: Any) -> Any:
        _guard.act(SPAWN, _argv(args))
        return execute_child(self, args, *rest)

    def guarded_listen(self: socket.socket, *args: Any) -> None:
        _guard.act(LISTEN, f"{self.getsockname()}")
        listen(self, *args)

    patches: list[tuple[Any, str, Callable[..., Any]]] = [
        (subprocess.Popen, "_execute_child", guarded_execute_child),
        (socket.socket, "listen", guarded_listen),
    ]
    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp"):
        original = getattr(os, name, None)
        if original is not None:
            patches.append((os, name, _guarded_os(name, original)))
    return patches


def _guarded_os(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _guard.act(SPAWN, f"os.{name}")
        return original(*args, **kwargs)

    return guarded


_originals: list[tuple[Any, str, Any]] = []


def pytest_configure(config: pytest.Config) -> None:
    for owner, name, replacement in _patches():
        _originals.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)


def pytest_unconfigure(config: pytest.Config) -> None:
    while _originals:
        owner, name, original = _originals.pop()
        setattr(owner, name, original)


@contextmanager
def _watching(item: pytest.Item) -> Iterator[None]:
    _guard.item, _guard.allowed = item, allowed_for(item)
    try:
        yield
    finally:
        _guard.item, _guard.allowed = None, set()


def _reused_fixture_acts(item: pytest.Item) -> list[str]:
    """What the fixtures this test uses did when they were set up, perhaps for another test."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    found = []
    for name, fixturedefs in info.name2fixturedefs.items():
        # A function-scoped fixture is set up afresh for each test, under that test's own
        # watch: what it did for another test (the contention tier's burners) is not reused.
        if fixturedefs and fixturedefs[-1].scope != "function":
            for what in _guard.fixture_acts.get(fixturedefs[-1], ()):
                found.append((what, f"through its fixture {name!r}"))
    allowed = _guard.allowed
    return [_message(item, what, detail) for what, detail in found if what not in allowed]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with _watching(item):
        result = yield
        reused = _reused_fixture_acts(item)
        if reused:
            item.stash.setdefault(_violations_key, []).extend(reused)
            raise TierViolation("\n".join(reused))
        return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with _watching(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: Any, request: pytest.FixtureRequest
) -> Generator[Any, Any, Any]:
    _guard.fixtures.append(fixturedef)
    try:
        return (yield)
    finally:
        _guard.fixtures.pop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    violations = item.stash.get(_violations_key, [])
    if violations and report.when != "teardown":
        # Code under test may have caught the TierViolation; the test fails all the same,
        # and the guard's message comes first rather than whatever it led to.
        item.stash[_violations_key] = []
        message = "\n".join(violations)
        earlier = f"\n\n{report.longrepr}" if report.failed and report.longrepr else ""
        report.outcome = "failed"
        report.longrepr = f"tier guard: {message}{earlier}"
    return report
