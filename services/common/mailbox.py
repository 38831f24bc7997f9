"""An agency back end's document mailbox: where its platform pushes official documents.

This is the platform-to-back-end delivery interface, not a published service, so it stays
out of the service's contract. A delivery is stored once by document id however often the
platform repeats it (delivery is at-least-once on the wire); the repeats are counted so a
test can see both facts. The pages it answers with are declared in contracts/mailbox.py.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from apikit.problems import ProblemError
from contracts.edxml import Delivery, DocumentPackage, MessageKind, StatusCode
from contracts.mailbox import MailboxEntry, MailboxPage
from services.common.app import db_of

MAILBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS mailbox (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    related TEXT,
    receivers TEXT NOT NULL,
    package TEXT NOT NULL,
    status TEXT NOT NULL,
    deliveries INTEGER NOT NULL,
    received REAL NOT NULL
);
"""


router = APIRouter(tags=["mailbox"], include_in_schema=False)


@router.post("/nhanVanBan", status_code=201)
async def receive(request: Request, delivery: Delivery, response: Response) -> dict[str, str]:
    db = db_of(request)
    # The count comes back from the statement that changed it: read apart, two first
    # deliveries at once would both see 2 and neither be answered as the new one.
    stored = await db.connection.execute_fetchall(
        "INSERT INTO mailbox (id, kind, related, receivers, package, status, deliveries, "
        "received) VALUES (?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT (id) DO UPDATE SET "
        "deliveries = deliveries + 1 RETURNING deliveries",
        (
            delivery.id,
            delivery.kind.value,
            delivery.relatedDocument,
            ",".join(delivery.receivers),
            delivery.package.model_dump_json(by_alias=True, exclude_none=True),
            StatusCode.ARRIVED.value,
            time.time(),
        ),
    )
    if delivery.kind is MessageKind.REVOCATION and delivery.relatedDocument:
        await db.connection.execute_fetchall(
            "UPDATE mailbox SET status = ? WHERE id = ?",
            (StatusCode.RECALLED.value, delivery.relatedDocument),
        )
    await db.connection.commit()
    if stored and next(iter(stored))["deliveries"] > 1:
        response.status_code = 200  # seen before: acknowledged again, stored once
    return {"id": delivery.id}


@router.get("/nhanVanBan", response_model=MailboxPage)
async def listing(
    request: Request, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000
) -> MailboxPage:
    db = db_of(request)
    totals = await db.one("SELECT COUNT(*) AS n, COALESCE(SUM(deliveries), 0) AS d FROM mailbox")
    rows = await db.all("SELECT id FROM mailbox ORDER BY received LIMIT ?", (limit,))
    assert totals is not None
    return MailboxPage(total=totals["n"], deliveries=totals["d"], documents=[r["id"] for r in rows])


@router.get("/nhanVanBan/{document_id}", response_model=MailboxEntry)
async def one(request: Request, document_id: Annotated[str, Path(max_length=64)]) -> MailboxEntry:
    row = await db_of(request).one("SELECT * FROM mailbox WHERE id = ?", (document_id,))
    if row is None:
        raise ProblemError(
            404, "document-not-found", "Không tìm thấy văn bản", f"No document {document_id}."
        )
    return MailboxEntry(
        id=row["id"],
        kind=MessageKind(row["kind"]),
        relatedDocument=row["related"],
        receivers=row["receivers"].split(","),
        status=StatusCode(row["status"]),
        deliveries=row["deliveries"],
        package=DocumentPackage.model_validate_json(row["package"]),
    )
