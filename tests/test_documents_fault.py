"""Fault tests: documents sent while the receiver is down and the LGSP is SIGKILLed midway;
documents delivered while the LGSP, NGSP and the receivers are SIGKILLed in turn.

Every node is a real process (the same `python -m sandbox.runtime.node` that `gsp-sandbox up`
starts). After recovery the receiver must hold exactly one copy of each document and every
document must be final for its sender: nothing lost, nothing duplicated.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from contracts.edxml import DocumentView
from sandbox.runtime.launcher import Launcher
from tests.document_topology import BG_STTTT, GOV_OFFICE
from tests.helpers import credentials
from tests.node_processes import node_processes, wait_healthy
from tests.test_documents import package

pytestmark = pytest.mark.processes

DOCUMENTS = 500
SENDERS = 16
LGSP = "lgsp-bac-giang"
NGSP = "ngsp"
RECEIVER = "e-office-stttt"
NATIONAL_RECEIVER = "document-axis"


@pytest.fixture
async def launcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Launcher]:
    # Retries quickly and never gives up within the test, so "final" means "delivered".
    monkeypatch.setenv("GSP_DELIVERY_BASE_DELAY_SECONDS", "0.05")
    monkeypatch.setenv("GSP_DELIVERY_MAX_DELAY_SECONDS", "1.0")
    monkeypatch.setenv("GSP_DELIVERY_MAX_ATTEMPTS", "100000")
    async with node_processes(tmp_path) as launcher:
        yield launcher


async def _token(client: httpx.AsyncClient, launcher: Launcher) -> str:
    response = await client.post(
        f"{launcher.addresses.url(LGSP)}/token",
        data={"grant_type": "client_credentials"},
        auth=credentials(launcher.topology, "qlvb-bac-giang"),
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


async def _send_all(
    client: httpx.AsyncClient,
    launcher: Launcher,
    to: list[str],
    prefix: str,
    on_accepted: Callable[[int], None] = lambda _: None,
) -> dict[str, str]:
    """DOCUMENTS sends from SENDERS clients, each retried with its key until accepted, as an
    agency's system does; idempotency key -> document id."""
    lgsp = launcher.addresses.url(LGSP)
    accepted: dict[str, str] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(DOCUMENTS):
        queue.put_nowait(i)

    async def sender() -> None:
        bearer: str | None = None
        while not queue.empty():
            key = f"{prefix}-{queue.get_nowait():04d}"
            body = package(to, key)
            while True:
                try:
                    bearer = bearer or await _token(client, launcher)
                    response = await client.post(
                        f"{lgsp}/documents",
                        json=body,
                        headers={"Authorization": f"Bearer {bearer}"},
                    )
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
                    continue
                if response.status_code == 401:  # a token from before the restart still holds
                    bearer = None
                    continue
                if response.status_code >= 500:
                    await asyncio.sleep(0.05)
                    continue
                assert response.status_code == 202, response.text
                doc_id = response.json()["id"]
                assert accepted.setdefault(key, doc_id) == doc_id
                break
            on_accepted(len(accepted))

    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    return accepted


async def _final_for_the_sender(
    client: httpx.AsyncClient, launcher: Launcher, documents: set[str], receivers: int
) -> None:
    """Every document final at the sender's platform, each receiver delivered: none stuck."""
    lgsp = launcher.addresses.url(LGSP)
    headers = {"Authorization": f"Bearer {await _token(client, launcher)}"}
    pending = set(documents)
    while pending:
        for doc_id in list(pending):
            response = await client.get(f"{lgsp}/documents/{doc_id}", headers=headers)
            view = DocumentView.model_validate(response.json())
            if view.final:
                assert [r.state for r in view.receivers] == ["delivered"] * receivers
                pending.discard(doc_id)
        await asyncio.sleep(0.1)


async def _held_once(client: httpx.AsyncClient, url: str, documents: set[str]) -> int:
    """Wait until the receiver holds every document; each exactly once. Its deliveries."""
    while True:
        held = (await client.get(f"{url}/nhanVanBan", params={"limit": 10_000})).json()
        if held["total"] >= len(documents):
            assert held["total"] == len(documents)  # nothing duplicated
            assert set(held["documents"]) == documents  # nothing lost
            return int(held["deliveries"])
        await asyncio.sleep(0.2)


async def test_500_documents_survive_receiver_down_and_lgsp_sigkill(
    launcher: Launcher, client: httpx.AsyncClient
) -> None:
    lgsp = launcher.addresses.url(LGSP)
    receiver = launcher.addresses.url(RECEIVER)
    await launcher.start([LGSP])  # the receiver stays down while documents are sent
    await wait_healthy(client, lgsp)
    half_sent = asyncio.Event()
    restarted = asyncio.Event()
    sent_before_kill: list[int] = []

    def progress(count: int) -> None:
        if count >= DOCUMENTS // 2:
            half_sent.set()

    async def killer() -> None:
        await half_sent.wait()
        sent_before_kill.append(DOCUMENTS // 2)
        launcher.processes[LGSP].process.send_signal(signal.SIGKILL)
        await launcher.processes[LGSP].process.wait()
        await launcher.start_node(LGSP)
        await wait_healthy(client, lgsp)
        restarted.set()

    sent, _ = await asyncio.gather(
        _send_all(client, launcher, [BG_STTTT], "fault", progress), killer()
    )
    accepted: dict[str, str] = sent
    assert restarted.is_set()
    assert launcher.processes[LGSP].process.returncode is None  # the restarted one
    assert len(accepted) == DOCUMENTS
    assert len(set(accepted.values())) == DOCUMENTS

    await launcher.start_node(RECEIVER)
    await wait_healthy(client, receiver)
    documents = set(accepted.values())
    async with asyncio.timeout(120):
        assert await _held_once(client, receiver, documents) >= DOCUMENTS
        await _final_for_the_sender(client, launcher, documents, receivers=1)


async def test_deliveries_survive_repeated_sigkills_of_lgsp_ngsp_and_receivers(
    launcher: Launcher, client: httpx.AsyncClient
) -> None:
    """500 documents to a receiver in the province and one behind NGSP, while the LGSP, NGSP
    and both receivers are SIGKILLed in turn during delivery: 0 lost, 0 duplicated, 0 stuck."""
    nodes = [LGSP, NGSP, RECEIVER, NATIONAL_RECEIVER]
    await launcher.start(nodes)
    for node in nodes:
        await wait_healthy(client, launcher.addresses.url(node))
    accepted = await _send_all(client, launcher, [BG_STTTT, GOV_OFFICE], "chaos")
    documents = set(accepted.values())
    assert len(documents) == DOCUMENTS
    receivers = {n: launcher.addresses.url(n) for n in (RECEIVER, NATIONAL_RECEIVER)}

    async def held(node: str) -> int:
        answer = await client.get(f"{receivers[node]}/nhanVanBan", params={"limit": 1})
        return int(answer.json()["total"]) if answer.status_code == 200 else 0

    kills = 0
    for victim in [LGSP, RECEIVER, NGSP, NATIONAL_RECEIVER, LGSP, NGSP]:
        # Kill while delivery is under way: once a receiver has taken something more.
        before = {n: await held(n) for n in receivers}
        if all(count >= DOCUMENTS for count in before.values()):
            break  # delivered before this kill: the kills so far are the test
        async with asyncio.timeout(60):
            while True:
                now = {n: await held(n) for n in before}
                if any(now[n] > count for n, count in before.items() if count < DOCUMENTS):
                    break
                await asyncio.sleep(0.02)
        launcher.processes[victim].process.send_signal(signal.SIGKILL)
        await launcher.processes[victim].process.wait()
        kills += 1
        await launcher.start_node(victim)
        await wait_healthy(client, launcher.addresses.url(victim))

    async with asyncio.timeout(180):
        deliveries = {n: await _held_once(client, url, documents) for n, url in receivers.items()}
        await _final_for_the_sender(client, launcher, documents, receivers=2)
    print(
        f"{kills} SIGKILLs during delivery; held once each: {DOCUMENTS} per receiver; "
        f"deliveries (repeats included): {deliveries}; stuck: 0"
    )
    assert kills >= 3
