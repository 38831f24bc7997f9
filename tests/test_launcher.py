"""The README's run command: every node its own process, a table, and a clean Ctrl-C."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from contracts.topology import Topology
from sandbox.topology.addresses import AddressBook
from tests.helpers import child_pids, zygote_of

pytestmark = pytest.mark.processes


def _free_offset(topology: Topology) -> int:
    book = AddressBook(topology)
    for _ in range(50):
        # Below the ephemeral range (32768+), where any outgoing connection may hold a port.
        offset = random.randrange(10_000, 24_000, 100)
        try:
            for _, port in book.all_ports():  # the platforms' HTTPS ports too
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return offset
    raise RuntimeError("no free block of ports")


def test_up_prints_every_service_and_the_counts_then_stops_cleanly_on_ctrl_c(
    topology_2022: Topology, tmp_path: Path
) -> None:
    offset = _free_offset(topology_2022)
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.cli",
            "up",
            "--data-dir",
            str(data_dir),
            "--port-offset",
            str(offset),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "220"},
    )
    assert process.stdout is not None
    output = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if "Ctrl-C stops everything" in line:
            break
    text = "".join(output)
    assert "Ctrl-C stops everything" in text, text
    assert "LGSP bac-giang: 9 services connected through NGSP, 3 intra-province" in text
    assert "NGSP: 1 provincial platforms connected, 9 national services" in text
    book = AddressBook(topology_2022).shifted(offset)
    for node in book.nodes():
        assert node in text and book.url(node) in text, node
    assert text.count("healthy") >= len(book.nodes())
    # once healthy, `up` makes the sandbox PKI's root CA in the data dir (in the background)
    deadline = time.monotonic() + 30
    while not (data_dir / "pki" / "ca.pem").is_file():
        assert time.monotonic() < deadline, "no CA made"
        time.sleep(0.05)

    # `up` starts one zygote, which forks one process per node.
    zygote = zygote_of(process.pid)
    nodes = child_pids(zygote)
    assert len(nodes) == len(book.nodes())
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, rest
    assert "all nodes stopped" in rest
    assert not [pid for pid in {zygote, *nodes} if Path(f"/proc/{pid}").exists()]
    assert (data_dir / "pki" / "ca.pem").is_file()  # kept after the stop
    # SQLite removes a WAL file when its last connection closes cleanly.
    for platform in topology_2022.platforms:
        assert (data_dir / f"{platform}.audit.sqlite3").exists()
        assert not (data_dir / f"{platform}.audit.sqlite3-wal").exists()
