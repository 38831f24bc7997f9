"""Waiting for a sandbox to be ready: how long is the caller's to say, and a sandbox that is
not ready in time is named by what is not yet up (it read "0 services connected through
NGSP" once on a loaded machine, which says how many but not which)."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.topology import Topology
from sandbox.testing.harness import run_topology
from sandbox.testing.pytest_plugin import READY_TIMEOUT_ENV
from tests.test_pytest_plugin import run_suite

pytestmark = pytest.mark.processes


async def test_a_sandbox_not_ready_in_time_names_what_is_not_yet_up(
    topology_2022: Topology, tmp_path: Path
) -> None:
    # The platforms alone: NGSP's national back ends never come up.
    with pytest.raises(TimeoutError) as refused:
        async with run_topology(
            topology_2022, tmp_path, nodes=["ngsp", "lgsp-bac-giang"], ready_within=0.5
        ):
            pass
    message = str(refused.value)
    assert "not ready after 0.5 s" in message
    assert "not yet up: " in message and "apiCSDLDC/1.0" in message


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ((), None, 90.0),
        ((), "240", 240.0),
        (("--gsp-ready-timeout", "7.5"), "240", 7.5),
    ],
)
def test_the_plugins_ready_wait_is_an_option_and_an_environment_variable(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    env: str | None,
    expected: float,
) -> None:
    if env is None:
        monkeypatch.delenv(READY_TIMEOUT_ENV, raising=False)
    else:
        monkeypatch.setenv(READY_TIMEOUT_ENV, env)
    pytester.makepyfile(
        test_wait="from sandbox.testing.pytest_plugin import ready_timeout\n"
        "def test_wait(request):\n"
        f"    assert ready_timeout(request.config) == {expected!r}\n"
    )
    run_suite(pytester, *args).assert_outcomes(passed=1)
