"""An agency back end's document mailbox: where its platform pushes official documents.

This is the platform-to-back-end delivery interface, not a published service, so it stays
out of the service's contract. A delivery is stored once by document id however often the
platform repeats it (delivery is at-least-once on the wire); the repeats are counted so a
test can see both facts. The pages it answers with are declared in contracts/mailbox.py.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response

from apikit.problems import ProblemError
from contracts.edxml import Delivery, DocumentPackage, MessageKind, StatusCode
from contracts.edxml.legacy import is_legacy, upgrade
from contracts.edxml.xml import package_to_xml
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
CREATE TABLE IF NOT EXISTS mailbox_xml (
    id TEXT PRIMARY KEY,
    xml BLOB NOT NULL
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
    if delivery.packageXml is not None:
        # The package as the platform serves it as XML: a signed one as its sender wrote it,
        # so its signature still verifies here.
        try:
            signed = base64.b64decode(delivery.packageXml, validate=True)
        except (binascii.Error, ValueError):
            raise ProblemError(
                422, "invalid-package-xml", "packageXml is not base64", "Send base64."
            ) from None
        await db.connection.execute_fetchall(
            "INSERT OR IGNORE INTO mailbox_xml (id, xml) VALUES (?, ?)", (delivery.id, signed)
        )
    if delivery.kind is MessageKind.REVOCATION and delivery.relatedDocument:
        # The revocation names the document by its edXML DocumentId, as the standard does,
        # and only its sender recalls it.
        await db.connection.execute_fetchall(
            "UPDATE mailbox SET status = ? WHERE json_extract(package, '$.documentId') = ? "
            "AND json_extract(package, '$.from.organId') = ? AND kind != ?",
            (
                StatusCode.RECALLED.value,
                delivery.relatedDocument,
                delivery.package.from_.organId,
                MessageKind.REVOCATION.value,
            ),
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
async def one(
    request: Request,
    document_id: Annotated[str, Path(max_length=64)],
    accept: Annotated[str | None, Header()] = None,
) -> MailboxEntry | Response:
    row = await db_of(request).one("SELECT * FROM mailbox WHERE id = ?", (document_id,))
    if row is None:
        raise ProblemError(
            404, "document-not-found", "Không tìm thấy văn bản", f"No document {document_id}."
        )
    package = _package(row["package"])
    if accept and accept.split(",")[0].strip().startswith(("application/xml", "text/xml")):
        signed = await db_of(request).one(
            "SELECT xml FROM mailbox_xml WHERE id = ?", (document_id,)
        )
        xml = signed["xml"] if signed is not None else package_to_xml(package)
        return Response(xml, media_type="application/xml")
    return MailboxEntry(
        id=row["id"],
        kind=MessageKind(row["kind"]),
        relatedDocument=row["related"],
        receivers=row["receivers"].split(","),
        status=StatusCode(row["status"]),
        deliveries=row["deliveries"],
        package=package,
    )


def _package(stored: str) -> DocumentPackage:
    data = json.loads(stored)
    # A mailbox filled by an earlier sandbox holds packages in the 1.0 JSON shape.
    return DocumentPackage.model_validate(upgrade(data) if is_legacy(data) else data)
