"""Ports a node may lose: the ephemeral range warned about, a lost bind named (issue 20)."""

from __future__ import annotations

import socket

import pytest

from sandbox.cli.up_report import ephemeral_ports
from sandbox.runtime.hosting import PortTaken, bind_socket
from sandbox.topology.addresses import AddressBook, ephemeral_range
from sandbox.topology.loading import DEFAULT_TOPOLOGY, load_topology


def test_nodes_in_the_ephemeral_range_are_found() -> None:
    book = AddressBook(load_topology(DEFAULT_TOPOLOGY))
    low, high = ephemeral_range()
    assert low <= high
    assert ephemeral_ports(book) == []  # the shipped ports sit below it
    lowest = min(book.port(n) for n in book.nodes())
    inside = book.shifted(low - lowest)
    assert {n for n, _ in ephemeral_ports(inside)} == set(book.nodes())
    # Plain ports just below the range put the platforms' HTTPS ports (port + 443) in it.
    highest = max(book.port(n) for n in book.nodes())
    below = book.shifted(low - 1 - highest)
    platforms = set(book.topology.platforms)
    assert platforms and {n for n, _ in ephemeral_ports(below)} == platforms


@pytest.mark.sockets
def test_a_port_taken_after_the_check_is_named_in_the_error() -> None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        with pytest.raises(PortTaken) as taken:
            bind_socket("127.0.0.1", port)
        assert f"127.0.0.1:{port}" in str(taken.value)
        low, high = ephemeral_range()
        if low <= port <= high:  # the kernel's own pick is in the range: the error says so
            assert "ephemeral range" in str(taken.value)
    finally:
        holder.close()
