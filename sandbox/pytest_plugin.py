"""pytest plugin: the sandbox topology for an agency's own test suite.

Installed with the package (entry point `pytest11`), it gives a session fixture
`gsp_sandbox`: the default topology started in-process on free loopback ports, with the
LGSP's URL and ready client credentials. The topology runs on its own event loop in a
background thread, so the fixture serves plain tests and async tests alike, whatever
event-loop plugin (or none) the agency's suite uses.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from contracts.topology import Consumer, Tier, Topology
from sandbox.harness import RunningTopology, run_topology
from sandbox.topology import DEFAULT_TOPOLOGY, load_topology
from services.common.sampledata import citizens

T = TypeVar("T")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gsp-sandbox")
    group.addoption(
        "--gsp-topology",
        default=None,
        help=f"topology for the gsp_sandbox fixture (shipped name or file; {DEFAULT_TOPOLOGY})",
    )
    parser.addini("gsp_topology", "topology for the gsp_sandbox fixture", default=None)


@dataclass
class SandboxHandle:
    """What an agency test needs: where the LGSP is and who to call it as."""

    topology: Topology
    lgsp: str  # the provincial platform's node name
    lgsp_url: str
    ngsp_url: str
    consumer: Consumer  # the province's one-stop-shop system: granted every service
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _running: RunningTopology = field(repr=False)

    @property
    def client_id(self) -> str:
        return self.consumer.client_id

    @property
    def client_secret(self) -> str:
        return self.consumer.client_secret

    @property
    def sample_citizen_id(self) -> str:
        """A 12-digit ID that the sample population database knows."""
        return citizens(self.topology.seed, 1)[0].so_dinh_danh

    def url(self, node: str) -> str:
        return self._running.url(node)

    def credentials(self, consumer_id: str) -> tuple[str, str]:
        consumer = next(c for c in self.topology.consumers if c.id == consumer_id)
        return consumer.client_id, consumer.client_secret

    def token(self, consumer_id: str | None = None) -> str:
        """A bearer token from the LGSP (for the one-stop-shop system unless named)."""
        return self.token_at(self.lgsp, consumer_id or self.consumer.id)

    def token_at(self, platform: str, consumer_id: str) -> str:
        """A bearer token from any platform of the topology, for one of its consumers."""
        creds = self.credentials(consumer_id)
        response = httpx.post(
            f"{self.url(platform)}/token",
            data={"grant_type": "client_credentials"},
            auth=creds,
            trust_env=False,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def stop(self, node: str) -> None:
        """Take a node down (a back end, a platform) to test how your system copes."""
        self._call(self._running.stop(node))

    def start(self, node: str) -> None:
        self._call(self._running.start(node))

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=60)


def _provincial(topology: Topology) -> str:
    return next(n for n, p in topology.platforms.items() if p.tier is Tier.PROVINCIAL)


def _caller(topology: Topology, platform: str) -> Consumer:
    at = [c for c in topology.consumers_at(platform) if not c.roles]
    return next((c for c in at if "*" in c.grants), at[0])


class _Background:
    """A topology kept running on an event loop of its own, in a daemon thread."""

    def __init__(self, topology: Topology, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
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
                async with run_topology(self._topology, self._data_dir) as running:
                    started.set_result(running)
                    await self._stop.wait()
            except BaseException as exc:
                if not started.done():
                    started.set_exception(exc)
                raise

        self._done = asyncio.run_coroutine_threadsafe(serve(), self.loop)
        return started.result(timeout=120)

    def close(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        if self._done is not None:
            self._done.result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="session")
def gsp_sandbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SandboxHandle]:
    """The sandbox topology, started once per test session on free loopback ports."""
    ref = (
        request.config.getoption("--gsp-topology")
        or request.config.getini("gsp_topology")
        or DEFAULT_TOPOLOGY
    )
    topology = load_topology(ref)
    background = _Background(topology, tmp_path_factory.mktemp("gsp-sandbox"))
    running = background.start()
    try:
        lgsp = _provincial(topology)
        national = next(n for n, p in topology.platforms.items() if p.tier is Tier.NATIONAL)
        yield SandboxHandle(
            topology=topology,
            lgsp=lgsp,
            lgsp_url=running.url(lgsp),
            ngsp_url=running.url(national),
            consumer=_caller(topology, lgsp),
            _loop=background.loop,
            _running=running,
        )
    finally:
        background.close()
