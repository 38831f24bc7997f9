"""pytest plugin: the sandbox topology for an agency's own test suite.

Installed with the package (entry point `pytest11`), it gives two session fixtures:
`gsp_topology`, the topology to run (`--gsp-topology` or the ini option `gsp_topology`, a
shipped name or a file; override the fixture to build one in Python), and `gsp_sandbox`,
that topology started in-process on free loopback ports, with the LGSP's URL and ready
client credentials. The topology runs on an event loop of its own in a background thread,
so the fixture serves plain tests and async tests alike, whatever event-loop plugin (or
none) the agency's suite uses, and a test's blocking calls cannot stall the servers.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from contracts.topology import Consumer, Tier, Topology
from sandbox.testing.harness import RunningTopology, run_topology
from sandbox.topology.loading import DEFAULT_TOPOLOGY, load_topology
from sandbox.topology.parties import default_caller, provincial_platform
from services.common.sampledata import citizens, enterprises

T = TypeVar("T")

# Generous: a loaded CI machine starts the 42 processes' worth of 2023 apps slowly. The
# wait for every node to be healthy is the option below; this bounds the whole start.
START_TIMEOUT_SECONDS = 120.0
CALL_TIMEOUT_SECONDS = 60.0
# How long the fixture waits for every service and platform to be healthy; it returns as
# soon as they are. `--gsp-ready-timeout`, the ini option, or this variable.
READY_TIMEOUT_ENV = "GSP_READY_TIMEOUT_SECONDS"
DEFAULT_READY_TIMEOUT_SECONDS = 90.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gsp-sandbox")
    group.addoption(
        "--gsp-topology",
        default=None,
        help=f"topology for the gsp_sandbox fixture: a shipped name or a file "
        f"(default {DEFAULT_TOPOLOGY}; overrides the ini option gsp_topology)",
    )
    parser.addini("gsp_topology", "topology for the gsp_sandbox fixture", default=None)
    group.addoption(
        "--gsp-ready-timeout",
        type=float,
        default=None,
        help=f"seconds to wait for every node of the sandbox to be healthy (default "
        f"{DEFAULT_READY_TIMEOUT_SECONDS:g}, or ${READY_TIMEOUT_ENV}; the ini option "
        "gsp_ready_timeout)",
    )
    parser.addini(
        "gsp_ready_timeout", "seconds to wait for the sandbox to be healthy", default=None
    )


def ready_timeout(config: pytest.Config) -> float:
    """The option, else the ini option, else the environment variable, else the default."""
    value = config.getoption("--gsp-ready-timeout", default=None)
    if value is None:
        value = config.getini("gsp_ready_timeout") or os.environ.get(READY_TIMEOUT_ENV) or None
    if value is None:
        return DEFAULT_READY_TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise pytest.UsageError(
            f"gsp ready timeout: {value!r} is not a number of seconds"
        ) from None
    if seconds <= 0:
        raise pytest.UsageError(f"gsp ready timeout: {value!r} must be more than 0 seconds")
    return seconds


@dataclass
class SandboxHandle:
    """What an agency test needs: where the platforms are and who to call them as."""

    topology: Topology
    lgsp: str  # the provincial platform's node name
    lgsp_url: str
    ngsp_url: str
    consumer: Consumer  # the province's one-stop-shop system: granted every service
    running: RunningTopology = field(repr=False)  # its coroutines run through call()
    _loop: asyncio.AbstractEventLoop = field(repr=False)

    @property
    def client_id(self) -> str:
        return self.consumer.client_id

    @property
    def client_secret(self) -> str:
        return self.consumer.client_secret

    @property
    def credentials(self) -> tuple[str, str]:
        """(client_id, client_secret) of the one-stop-shop system: httpx's `auth=` as is."""
        return self.consumer.client_id, self.consumer.client_secret

    @property
    def sample_citizen_id(self) -> str:
        """A 12-digit ID that the sample population database knows."""
        return citizens(self.topology.seed, 1)[0].so_dinh_danh

    @property
    def sample_enterprise_code(self) -> str:
        """A 10-digit enterprise code (`msdn`) that business registration and tax know."""
        return enterprises(self.topology.seed, 1)[0].msdn

    @property
    def sample_social_insurance_number(self) -> str:
        """The sample citizen's social-insurance number (`maSoBhxh`)."""
        return citizens(self.topology.seed, 1)[0].so_bhxh

    def url(self, node: str) -> str:
        return self.running.url(node)

    def credentials_of(self, consumer_id: str) -> tuple[str, str]:
        """Another consumer of the topology (`qlvb-bac-giang`, an admin, …)."""
        consumer = next((c for c in self.topology.consumers if c.id == consumer_id), None)
        if consumer is None:
            known = ", ".join(c.id for c in self.topology.consumers)
            raise KeyError(f"no consumer {consumer_id!r} in {self.topology.name} ({known})")
        return consumer.client_id, consumer.client_secret

    def token(self, consumer_id: str | None = None) -> str:
        """A bearer token from the LGSP (for the one-stop-shop system unless named)."""
        return self.token_at(self.lgsp, consumer_id or self.consumer.id)

    def token_at(self, platform: str, consumer_id: str) -> str:
        """A bearer token from any platform of the topology, for one of its consumers."""
        response = httpx.post(
            f"{self.url(platform)}/token",
            data={"grant_type": "client_credentials"},
            auth=self.credentials_of(consumer_id),
            trust_env=False,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def stop(self, node: str) -> None:
        """Take a node down (a back end, a platform) to test how your system copes."""
        self.call(self.running.stop(node))

    def start(self, node: str) -> None:
        """Bring a stopped node back, on the same port."""
        self.call(self.running.start(node))

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run one of `running`'s coroutines on the sandbox's own loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(
            timeout=CALL_TIMEOUT_SECONDS
        )


def national_platform(topology: Topology) -> str:
    return next(n for n, p in topology.platforms.items() if p.tier is Tier.NATIONAL)


class _Background:
    """A topology kept running on an event loop of its own, in a daemon thread."""

    def __init__(
        self, topology: Topology, data_dir: Path, ready_within: float | None = None
    ) -> None:
        self._ready_within = ready_within
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="gsp-sandbox", daemon=True
        )
        self._topology = topology
        self._data_dir = data_dir
        self._stop: asyncio.Event | None = None
        self._done: Future[None] | None = None

    def start(self) -> RunningTopology:
        self._thread.start()
        started: Future[RunningTopology] = Future()

        async def serve() -> None:
            self._stop = asyncio.Event()
            try:
                async with run_topology(
                    self._topology, self._data_dir, ready_within=self._ready_within
                ) as running:
                    started.set_result(running)
                    await self._stop.wait()
            except BaseException as exc:
                if not started.done():
                    started.set_exception(exc)
                raise

        self._done = asyncio.run_coroutine_threadsafe(serve(), self.loop)
        try:
            # Starting the nodes, then the wait for health: never cut short by this bound.
            bound = START_TIMEOUT_SECONDS + (self._ready_within or DEFAULT_READY_TIMEOUT_SECONDS)
            return started.result(timeout=bound)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        if self._done is not None:
            try:
                self._done.result(timeout=CALL_TIMEOUT_SECONDS)
            except Exception:
                pass  # a failed start was already raised to the caller; shut down regardless
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()


@contextmanager
def start_sandbox(
    topology: Topology | str | Path, data_dir: Path, ready_within: float | None = None
) -> Iterator[SandboxHandle]:
    """A topology of its own for as long as the block runs (the fixture shares one).

    For tests that change what every later call sees (registrations, grants, fault rules).
    `ready_within`: seconds to wait for every node to be healthy (default
    DEFAULT_READY_TIMEOUT_SECONDS); past it, the error names what was not yet up.
    """
    if not isinstance(topology, Topology):
        topology = load_topology(topology)
    background = _Background(
        topology, data_dir, DEFAULT_READY_TIMEOUT_SECONDS if ready_within is None else ready_within
    )
    running = background.start()
    try:
        lgsp = provincial_platform(topology)
        yield SandboxHandle(
            topology=topology,
            lgsp=lgsp,
            lgsp_url=running.url(lgsp),
            ngsp_url=running.url(national_platform(topology)),
            consumer=default_caller(topology, lgsp),
            running=running,
            _loop=background.loop,
        )
    finally:
        background.close()


@pytest.fixture(scope="session")
def gsp_topology(request: pytest.FixtureRequest) -> Topology:
    """The topology `gsp_sandbox` runs: `--gsp-topology`, else the ini option, else 2022."""
    config = request.config
    given: str | None = config.getoption("--gsp-topology")
    if given:  # a file named on the command line is relative to where pytest was started
        return load_topology(given)
    ini: str = config.getini("gsp_topology") or ""
    if ini and config.inipath is not None:
        # A file named in the ini file is relative to that file, as pytest's own paths are.
        beside = config.inipath.parent / ini
        if beside.is_file():
            return load_topology(beside)
    return load_topology(ini or DEFAULT_TOPOLOGY)


@pytest.fixture(scope="session")
def gsp_sandbox(
    gsp_topology: Topology, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[SandboxHandle]:
    """The sandbox topology, started once per test session on free loopback ports."""
    data_dir = tmp_path_factory.mktemp("gsp-sandbox")
    with start_sandbox(gsp_topology, data_dir, ready_timeout(request.config)) as handle:
        yield handle
