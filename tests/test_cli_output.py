"""What the command line prints where no terminal limits its width (a file, a pipe, CI)."""

from __future__ import annotations

import pytest

from sandbox.addresses import AddressBook
from sandbox.cli import status_table
from sandbox.consoles import stdout_console
from sandbox.topology import load_topology


def test_the_up_table_keeps_every_url_whole_off_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    topology = load_topology("bac-giang-2023")
    addresses = AddressBook(topology).shifted(5000)
    stdout_console().print(status_table(topology, addresses, {}))
    printed = capsys.readouterr().out
    for node in [*topology.platforms, *topology.backends]:
        assert addresses.url(node) in printed, node
        assert node in printed  # names are not cut either
