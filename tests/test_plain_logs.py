"""`up` as CI runs it (FORCE_COLOR set, output into a file): the output and every node log
are plain text, and an exchange of the platform's own API names its service without `/None`.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contracts.topology import Topology
from sandbox.runtime.logformat import parse_line
from sandbox.topology.addresses import AddressBook
from tests.helpers import bearer
from tests.test_launcher import _free_offset

pytestmark = pytest.mark.processes

LGSP = "lgsp-bac-giang"
MOTCUA = "motcua-bac-giang"
ESC = "\x1b"
ESCAPED_IN_JSON = "\\u001b"


def _wait_for(path: Path, needle: str, process: subprocess.Popen[bytes], within: float) -> str:
    deadline = time.monotonic() + within
    while True:
        text = path.read_text(encoding="utf-8", errors="replace")
        if needle in text:
            return text
        if process.poll() is not None:
            pytest.fail(f"up exited with {process.returncode}:\n{text}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {needle!r} after {within} s:\n{text}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def coloured_up(
    topology_2022: Topology, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, Path]]:
    """`up` with every colour switch CI systems set, its output going to a file."""
    offset = _free_offset(topology_2022)
    folder = tmp_path_factory.mktemp("plain-logs")
    data_dir, output = folder / "data", folder / "up.out"
    env = {**os.environ, "FORCE_COLOR": "1", "TTY_COMPATIBLE": "1", "COLUMNS": "200"}
    env.pop("NO_COLOR", None)
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "sandbox.cli", "up"),
                *("--data-dir", str(data_dir), "--port-offset", str(offset)),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    try:
        _wait_for(output, "Ctrl-C stops everything", process, within=120)
        lgsp = AddressBook(topology_2022).shifted(offset).url(LGSP)
        yield lgsp, data_dir, output
    finally:
        process.terminate()
        process.wait(timeout=30)


def _exchange_lines(log: Path, needle: str) -> list[dict[str, object]]:
    lines = log.read_text(encoding="utf-8").splitlines()
    return [f for f in map(parse_line, lines) if f is not None and needle in str(f["message"])]


async def test_up_output_and_node_logs_carry_no_ansi_escapes_and_no_none(
    coloured_up: tuple[str, Path, Path], topology_2022: Topology
) -> None:
    lgsp, data_dir, output = coloured_up
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
        headers = await bearer(client, lgsp, topology_2022, MOTCUA)
        # A caller's colour code in the path, and a call to the platform's document API.
        coloured = await client.get(f"{lgsp}/apiCSDLDC/1.0/%1B[31mred", headers=headers)
        assert coloured.status_code == 404
        document = await client.get(f"{lgsp}/documents/khong-co", headers=headers)
        assert document.status_code == 404
        ids = {coloured.headers["X-Message-Id"], document.headers["X-Message-Id"]}

    log = data_dir / "logs" / f"{LGSP}.log"
    deadline = time.monotonic() + 20
    while {str(f.get("message_id")) for f in _exchange_lines(log, " -> 404")} < ids:
        assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
        await asyncio.sleep(0.05)

    documents = next(
        f
        for f in _exchange_lines(log, "/documents/khong-co")
        if f["message_id"] == document.headers["X-Message-Id"]
    )
    assert documents["service"] == "documents"
    path_line = next(f for f in _exchange_lines(log, "red -> 404"))
    assert "\\x1b[31mred" in str(path_line["message"])

    assert ESC not in output.read_text(encoding="utf-8"), "colour codes in up's output"
    logs = sorted((data_dir / "logs").glob("*.log"))
    assert len(logs) > 10
    for node_log in logs:
        text = node_log.read_text(encoding="utf-8")
        assert ESC not in text and ESCAPED_IN_JSON not in text, node_log.name
        assert "/None" not in text and "None/" not in text, node_log.name
