"""Fault test: documents sent while the receiver is down and the LGSP is SIGKILLed midway.

Every node is a real process (the same `python -m sandbox.node` that `gsp-sandbox up`
starts). After recovery the receiver must hold exactly one copy of each document and every
document must be final for its sender: nothing lost, nothing duplicated.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from contracts.edxml import DocumentView
from sandbox.launcher import Launcher
from tests.document_topology import BG_STTTT
from tests.helpers import credentials
from tests.node_processes import node_processes, wait_healthy
from tests.test_documents import package

DOCUMENTS = 500
SENDERS = 16
LGSP = "lgsp-bac-giang"
RECEIVER = "e-office-stttt"


@pytest.fixture
async def launcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Launcher]:
    # Retries quickly and never gives up within the test, so "final" means "delivered".
    monkeypatch.setenv("GSP_DELIVERY_BASE_DELAY_SECONDS", "0.05")
    monkeypatch.setenv("GSP_DELIVERY_MAX_DELAY_SECONDS", "1.0")
    monkeypatch.setenv("GSP_DELIVERY_MAX_ATTEMPTS", "100000")
    async with node_processes(tmp_path) as launcher:
        yield launcher


async def test_500_documents_survive_receiver_down_and_lgsp_sigkill(
    launcher: Launcher, client: httpx.AsyncClient
) -> None:
    lgsp = launcher.addresses.url(LGSP)
    receiver = launcher.addresses.url(RECEIVER)
    await launcher.start([LGSP])  # the receiver stays down while documents are sent
    await wait_healthy(client, lgsp)

    accepted: dict[str, str] = {}  # idempotency key -> document id
    half_sent = asyncio.Event()
    restarted = asyncio.Event()
    sent_before_kill: list[int] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(DOCUMENTS):
        queue.put_nowait(i)

    async def token() -> str:
        response = await client.post(
            f"{lgsp}/token",
            data={"grant_type": "client_credentials"},
            auth=credentials(launcher.topology, "qlvb-bac-giang"),
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    async def sender() -> None:
        bearer: str | None = None
        while not queue.empty():
            i = queue.get_nowait()
            key = f"fault-{i:04d}"
            body = package([BG_STTTT], key)
            while True:  # what an agency's system does: retry with the same key
                try:
                    bearer = bearer or await token()
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
            if len(accepted) >= DOCUMENTS // 2:
                half_sent.set()

    async def killer() -> None:
        await half_sent.wait()
        sent_before_kill.append(len(accepted))
        launcher.processes[LGSP].process.send_signal(signal.SIGKILL)
        await launcher.processes[LGSP].process.wait()
        await launcher.start_node(LGSP)
        await wait_healthy(client, lgsp)
        restarted.set()

    await asyncio.gather(killer(), *(sender() for _ in range(SENDERS)))
    assert restarted.is_set()
    assert launcher.processes[LGSP].process.returncode is None  # the restarted one
    assert sent_before_kill[0] < DOCUMENTS, "the kill came after the last send"
    assert len(accepted) == DOCUMENTS
    assert len(set(accepted.values())) == DOCUMENTS

    await launcher.start_node(RECEIVER)
    await wait_healthy(client, receiver)
    async with asyncio.timeout(120):
        while True:
            held = (await client.get(f"{receiver}/nhanVanBan")).json()
            if held["total"] >= DOCUMENTS:
                break
            await asyncio.sleep(0.2)
        held = (await client.get(f"{receiver}/nhanVanBan", params={"limit": 10_000})).json()
        assert held["total"] == DOCUMENTS
        assert held["deliveries"] >= DOCUMENTS
        assert sorted(held["documents"]) == sorted(accepted.values())

        headers = {"Authorization": f"Bearer {await token()}"}
        pending = set(accepted.values())
        while pending:
            for doc_id in list(pending):
                response = await client.get(f"{lgsp}/documents/{doc_id}", headers=headers)
                view = DocumentView.model_validate(response.json())
                if view.final:
                    assert [r.state for r in view.receivers] == ["delivered"]
                    pending.discard(doc_id)
            await asyncio.sleep(0.1)
