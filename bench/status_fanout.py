"""Status fan-out across NGSP: how many status relays NGSP queues per cross-province document.

Starts the slice of the `vietnam` preset a Bắc Giang → Bình Định document travels (NGSP, both
LGSPs and the receiving e-office), sends N documents from Bắc Giang's provincial office, each to
Bình Định's provincial office (push) and Department of Home Affairs (inbox,
taken and answered with one status, 03), waits until every receiver's state and status is back
at the sender and NGSP's outbox is drained, then counts the status relays NGSP queued (rows of
kind `status` in its outbox: each one crosses NGSP towards the sender). Prints the figure per
document and per receiver. Run: `.venv/bin/python -m bench.status_fanout [--documents 40]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from contracts.edxml import DocumentView
from sandbox.testing.harness import RunningTopology, run_topology
from sandbox.topology.loading import load_topology

SENDER, SENDER_CONSUMER = "000.00.01.H04", "qlvb-bac-giang"
PUSHED, INBOX = "000.00.01.H09", "000.00.05.H09"
ORIGIN, FAR = "lgsp-bac-giang", "lgsp-binh-dinh"


def _document(number: int) -> dict[str, Any]:
    return {
        "from": {"organId": SENDER, "organName": "Văn phòng UBND tỉnh Bắc Giang"},
        "to": [{"organId": PUSHED}, {"organId": INBOX}],
        "code": {"codeNumber": str(number), "codeNotation": "UBND-FANOUT"},
        "promulgationInfo": {"place": "Bắc Giang", "promulgationDate": "2026/12/01"},
        "documentType": {"type": 1, "typeName": "Công văn"},
        "subject": "Đo số lần chuyển tiếp trạng thái qua NGSP",
    }


async def _bearer(client: httpx.AsyncClient, run: RunningTopology, platform: str, who: str) -> Any:
    consumer = next(c for c in run.topology.consumers if c.id == who)
    reply = await client.post(
        f"{run.url(platform)}/token",
        data={"grant_type": "client_credentials"},
        auth=(consumer.client_id, consumer.client_secret),
    )
    reply.raise_for_status()
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def _status_relays(data_dir: Path, platform: str) -> int:
    with sqlite3.connect(data_dir / f"{platform}.documents.sqlite3") as db:
        [(count,)] = db.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'status'").fetchall()
        return int(count)


def _pending(data_dir: Path, platform: str) -> int:
    with sqlite3.connect(data_dir / f"{platform}.documents.sqlite3") as db:
        [(count,)] = db.execute(
            "SELECT COUNT(*) FROM outbox WHERE state NOT IN ('done', 'failed')"
        ).fetchall()
        return int(count)


async def measure(documents: int, data_dir: Path) -> dict[str, float]:
    topology = load_topology("vietnam")
    receiver = topology.mailbox_of(PUSHED)
    assert receiver is not None and receiver.backend is not None
    nodes = ["ngsp", ORIGIN, FAR, receiver.backend]
    reader = next(c.id for c in topology.consumers if c.platform == FAR and c.agency == INBOX)
    async with (
        run_topology(topology, data_dir, nodes=nodes, wait=False) as run,
        httpx.AsyncClient(timeout=30) as client,
    ):
        sender = await _bearer(client, run, ORIGIN, SENDER_CONSUMER)
        far = await _bearer(client, run, FAR, reader)
        ids = []
        for number in range(documents):
            sent = await client.post(
                f"{run.url(ORIGIN)}/documents", json=_document(9000 + number), headers=sender
            )
            sent.raise_for_status()
            ids.append(sent.json()["id"])
        answered: set[str] = set()
        deadline = time.monotonic() + 120
        while True:
            inbox = (await client.get(f"{run.url(FAR)}/documents/inbox", headers=far)).json()
            for item in inbox["documents"]:
                doc_id = item["id"]
                if doc_id in ids and doc_id not in answered:
                    status = {
                        "from": {"organId": INBOX},
                        "responseFor": {
                            "organId": SENDER,
                            "documentId": item["package"]["documentId"],
                        },
                        "statusCode": "03",
                    }
                    base = f"{run.url(FAR)}/documents/{doc_id}"
                    (await client.post(f"{base}/ack", headers=far)).raise_for_status()
                    answered_now = await client.post(f"{base}/status", json=status, headers=far)
                    answered_now.raise_for_status()
                    answered.add(doc_id)
            done = 0
            for doc_id in ids:
                view = DocumentView.model_validate(
                    (
                        await client.get(f"{run.url(ORIGIN)}/documents/{doc_id}", headers=sender)
                    ).json()
                )
                codes = {r.organId: r.statusCode for r in view.receivers}
                done += codes == {PUSHED: "01", INBOX: "03"}
            if done == len(ids) and _pending(data_dir, "ngsp") == 0 and not _pending(data_dir, FAR):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"only {done} of {len(ids)} documents settled in 120 s")
            await asyncio.sleep(0.2)
    relays = _status_relays(data_dir, "ngsp")
    return {
        "documents": documents,
        "receivers": 2 * documents,
        "statuses": 3 * documents,  # per document: 01 pushed, 01 taken and 03 at the inbox
        "relays": relays,
        "per_document": relays / documents,
        "per_receiver": relays / (2 * documents),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=40)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="status-fanout-") as tmp:
        found = asyncio.run(measure(args.documents, Path(tmp)))
    print(
        f"status fan-out: {found['documents']:.0f} cross-province documents, "
        f"{found['receivers']:.0f} receivers, {found['statuses']:.0f} receiver statuses; "
        f"NGSP queued {found['relays']:.0f} status relays = {found['per_document']:.2f} per "
        f"document, {found['per_receiver']:.2f} per receiver"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
