"""The command line finds the sandbox that is running before it assumes the default one:
against a running `vietnam`, `call` fetched its token at bac-giang-2022's URL (401)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest

from sandbox.cli import main
from sandbox.cli.pki import unknown_agency_hint
from sandbox.cli.which import topology_ref
from sandbox.runtime import control
from sandbox.runtime.supervisor import RestartPolicy, Supervisor
from sandbox.testing.harness import run_topology
from sandbox.topology.loading import DEFAULT_TOPOLOGY, load_topology

pytestmark = pytest.mark.sockets

FREE_PORT_OFFSET = 40000  # nothing of any sandbox listens 40000 ports up


def _args(tmp_path: Path, **given: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "topology": None,
        "data_dir": tmp_path / "data",
        "url": None,
        "port_offset": FREE_PORT_OFFSET,
    }
    return argparse.Namespace(**(values | given))


async def test_a_running_platforms_healthz_names_the_topology(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topology = load_topology("binh-dinh-2023")
    async with run_topology(topology, tmp_path, nodes=["lgsp-binh-dinh"], wait=False) as running:
        url = running.url("lgsp-binh-dinh")
        assert await asyncio.to_thread(topology_ref, _args(tmp_path, url=url)) == "binh-dinh-2023"
        # and a command given only the URL reads that topology, not the default one
        tree = await asyncio.to_thread(
            main, ["topology", "--url", url, "--data-dir", str(tmp_path)]
        )
        assert tree == 0
    assert "binh-dinh-2023" in capsys.readouterr().out


async def test_the_running_up_of_the_data_dir_names_the_topology(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()

    async def answer(message: dict[str, object]) -> dict[str, object]:
        return {"ok": True, "instance": "x", "topology": "bac-kan-2022", "nodes": []}

    server = await control.serve(data_dir, answer)
    try:
        assert await asyncio.to_thread(topology_ref, _args(tmp_path)) == "bac-kan-2022"
    finally:
        server.close()
        await server.wait_closed()
        control.remove(data_dir)


def test_given_topology_wins_and_nothing_running_falls_back_to_the_default(
    tmp_path: Path,
) -> None:
    assert topology_ref(_args(tmp_path, topology="vietnam")) == "vietnam"
    assert topology_ref(_args(tmp_path)) == DEFAULT_TOPOLOGY


def test_samples_takes_the_options_of_the_other_commands(tmp_path: Path) -> None:
    args = ["samples", "-n", "1", "--port-offset", str(FREE_PORT_OFFSET)]
    assert main([*args, "--data-dir", str(tmp_path)]) == 0


def test_pki_issue_with_an_unknown_agency_names_close_ones() -> None:
    hint = unknown_agency_hint("000.00.01.H05", load_topology("bac-giang-2022"))
    assert "did you mean 000.00.01.H04 Văn phòng UBND tỉnh Bắc Giang" in hint
    assert "`agencies:`" in hint and "bac-giang-2022.yaml" in hint
    assert "gsp-sandbox topology" not in hint


def test_stop_and_start_hints_name_the_data_dir() -> None:
    launcher = argparse.Namespace(data_dir=Path("data-2"))
    supervisor = Supervisor(launcher, RestartPolicy(), print)  # type: ignore[arg-type]
    assert supervisor.command("start", "population") == (
        "gsp-sandbox start population --data-dir data-2"
    )
