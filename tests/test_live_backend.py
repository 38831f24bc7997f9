"""A live back end is never answered "unreachable", and a create that may have been done says so.

On a loaded machine the 40-concurrent-creates test got 502 `backend-unreachable` from a back
end that was up: the connect's timer fired before the busy event loop resumed a handshake the
kernel had completed. The contention tier (tests/contention.py) runs that test loaded; these
pin each piece without load: the handshake judged by the kernel, the kinds of failure told
apart (not reached / may have been processed), and a node that does not drop a request that
arrived as its idle timer fired.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.proxy.http1 import ConnectFailed, Http1Pool
from sandbox.runtime.hosting import SERVER_KEEPALIVE_SECONDS
from sandbox.runtime.http_protocol import unread_bytes_waiting
from sandbox.testing.harness import fast_settings
from tests.conftest import LGSP
from tests.echo_topology import EchoSandbox, run_echo_sandbox
from tests.helpers import assert_problem, audit_records, bearer
from tests.hostile_backend import hostile_backend

pytestmark = pytest.mark.sockets

ADMIN = "lgsp-bac-giang-admin"
MOTCUA = "motcua-bac-giang"


@pytest.fixture(scope="module")
async def echo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EchoSandbox]:
    data_dir = tmp_path_factory.mktemp("live-backend")
    async with run_echo_sandbox(data_dir, fast_settings(data_dir)) as sandbox:
        yield sandbox


async def _register(
    echo: EchoSandbox, client: httpx.AsyncClient, code: str, address: str
) -> dict[str, str]:
    lgsp = echo.running.url(LGSP)
    registered = await client.put(
        f"{lgsp}/admin/services/{code}/1.0",
        json={"title": "Dịch vụ", "owner": "000.00.12.H04", "address": address},
        headers=await bearer(client, lgsp, echo.topology, ADMIN),
    )
    assert registered.status_code == 200, registered.text
    return await bearer(client, lgsp, echo.topology, MOTCUA)


async def test_a_handshake_the_kernel_completed_is_used_when_the_loop_looks_late(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    loop = asyncio.get_running_loop()
    real = loop.sock_connect

    async def resumed_late(sock: socket.socket, address: Any) -> None:
        await real(sock, address)
        await asyncio.Event().wait()  # the busy loop resumes this only after the timer fired

    monkeypatch.setattr(loop, "sock_connect", resumed_late)
    pool = Http1Pool(
        connect_timeout=0.05, keepalive_seconds=4.0, max_response_bytes=1024, allowed=[]
    )
    try:
        connection = await pool._connect(pool._origin("http", "127.0.0.1", port))
        assert connection.transport is not None and not connection.closed
        connection.abort()
    finally:
        monkeypatch.undo()
        await pool.aclose()
        listener.close()


async def test_a_port_nobody_listens_on_is_still_unreachable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    pool = Http1Pool(
        connect_timeout=2.0, keepalive_seconds=4.0, max_response_bytes=1024, allowed=[]
    )
    try:
        with pytest.raises(ConnectFailed):
            await pool._connect(pool._origin("http", "127.0.0.1", port))
    finally:
        await pool.aclose()


async def test_a_post_whose_connection_broke_after_sending_may_have_been_processed(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = echo.running.url(LGSP)
    async with hostile_backend(fault="close-second") as backend:
        headers = await _register(echo, client, "apiDut", backend.url)
        assert (await client.get(f"{lgsp}/apiDut/1.0/a", headers=headers)).status_code == 200
        # The pooled connection is closed by the back end once it has read the POST.
        response = await client.post(f"{lgsp}/apiDut/1.0/create", json={}, headers=headers)
        problem = assert_problem(response, 502, "may-have-been-processed")
        assert "may have been processed" in problem["detail"]
        assert backend.requests == ["GET /a", "POST /create"]  # sent once, never repeated
    [record] = await audit_records(
        client, lgsp, echo.topology, LGSP, message_id=response.headers["X-Message-Id"]
    )
    assert (record.status, record.outcome) == (502, "may-have-been-processed")


async def test_a_back_end_that_is_down_is_unreachable_and_nothing_was_sent(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    headers = await _register(echo, client, "apiTat", f"http://127.0.0.1:{port}")
    lgsp = echo.running.url(LGSP)
    response = await client.post(f"{lgsp}/apiTat/1.0/create", json={}, headers=headers)
    problem = assert_problem(response, 502, "backend-unreachable")
    assert "nothing was sent" in problem["detail"]


async def test_a_node_sees_a_request_waiting_unread_in_its_socket() -> None:
    """What the node's idle timer asks before closing a kept-alive connection (the timer of a
    busy loop fires late, when the client's next request may already be in the socket)."""
    accepted: asyncio.Future[asyncio.Transport] = asyncio.get_running_loop().create_future()

    class Unread(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            transport.pause_reading()  # the loop has not read it yet
            accepted.set_result(transport)

    server = await asyncio.get_running_loop().create_server(Unread, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        transport = await accepted
        assert not unread_bytes_waiting(transport)
        writer.write(b"GET / HTTP/1.1\r\n")
        await writer.drain()
        assert unread_bytes_waiting(transport)  # loopback queues it as the write returns
        transport.close()
    finally:
        writer.close()
        server.close()
        await server.wait_closed()


def test_a_node_keeps_idle_connections_longer_than_common_clients_do() -> None:
    # httpx (the test clients, many agency tools) reuses a connection idle up to 5 s: a node
    # closing at the same moment loses the request sent on it.
    assert SERVER_KEEPALIVE_SECONDS > httpx.Limits().keepalive_expiry  # type: ignore[operator]
