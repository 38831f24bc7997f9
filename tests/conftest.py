from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from contracts.topology import Topology
from sandbox.testing.harness import RunningTopology, run_topology
from sandbox.topology.loading import load_topology
from tests import contention

pytest_plugins = ["pytester", "tests.tiers"]

LGSP = "lgsp-bac-giang"
NGSP = "ngsp"


@pytest.fixture(scope="session")
def topology_2022() -> Topology:
    return load_topology("bac-giang-2022")


@pytest.fixture(scope="session")
async def sandbox(
    topology_2022: Topology, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningTopology]:
    """The default topology, shared by tests that do not stop anything in it."""
    async with run_topology(topology_2022, tmp_path_factory.mktemp("sandbox")) as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as c:
        yield c


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(autouse=True)
def _contention(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests marked `contention` run loaded, by design: the burners start before the test's
    own fixtures (this fixture is set up first) and stop after them."""
    if request.node.get_closest_marker(contention.MARKER) is None:
        yield
        return
    with contention.cpu_burners():
        yield
