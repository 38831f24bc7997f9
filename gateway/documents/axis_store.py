"""What the document axis endpoint keeps beside the documents: the agencies systems register,
which status items a system has taken, and the lists the SDK asks for.

Kept in the platform's document store (same SQLite file, same write lock), so a status the
system takes and the event it answers commit together with everything else there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import aiosqlite

from gateway.documents.store import DocumentStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS axis_agencies (
    code TEXT PRIMARY KEY,
    pcode TEXT NOT NULL,
    name TEXT NOT NULL,
    mail TEXT NOT NULL,
    mobile TEXT NOT NULL,
    fax TEXT NOT NULL,
    systemid TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS axis_taken (
    systemid TEXT NOT NULL,
    item TEXT NOT NULL,
    time REAL NOT NULL,
    PRIMARY KEY (systemid, item)
);
"""
STATUS_ITEM = "st-"  # a status item's id: the prefix and the trail event id


@dataclass(frozen=True)
class Waiting:
    """A document in an agency's inbox, as the received list shows it."""

    id: str
    kind: str
    sender: str
    created: float
    updated: float


@dataclass(frozen=True)
class StatusItem:
    """A receiver's status about a document a system sent, as the received list shows it."""

    id: str
    event_id: str
    document_id: str
    receiver: str
    status_code: str | None
    detail: str
    time: float
    status: str | None  # the receiver's packet as JSON, when it sent one


@dataclass(frozen=True)
class RegisteredAgency:
    code: str
    pcode: str
    name: str
    mail: str
    mobile: str
    fax: str
    systemid: str


class AxisStore:
    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    async def open(self) -> None:
        await self.store.db.executescript(_SCHEMA)
        await self.store.db.commit()

    async def _rows(self, sql: str, args: tuple[Any, ...]) -> list[aiosqlite.Row]:
        async with self.store.db.execute(sql, args) as cur:
            return list(await cur.fetchall())

    async def waiting(self, receiver: str, kind: str | None, limit: int) -> list[Waiting]:
        rows = await self._rows(
            "SELECT d.id, d.kind, d.sender_agency, d.created, r.updated FROM documents d "
            "JOIN receipts r ON r.document_id = d.id WHERE r.receiver = ? AND r.local = 1 "
            "AND r.state = 'awaiting-pickup' AND (? IS NULL OR d.kind = ?) "
            "ORDER BY d.rowid LIMIT ?",
            (receiver, kind, kind, limit),
        )
        return [
            Waiting(r["id"], r["kind"], r["sender_agency"], r["created"], r["updated"])
            for r in rows
        ]

    async def received(self, receiver: str, edxml_id: str, senders: list[str]) -> str | None:
        """The latest document with this edXML DocumentId, sent by one of `senders` (agency
        codes, or the package's From/OrganId as written), that `receiver` holds here."""
        marks = ", ".join("?" for _ in senders)
        rows = await self._rows(
            "SELECT d.id FROM documents d JOIN receipts r ON r.document_id = d.id "
            "WHERE r.receiver = ? AND r.local = 1 AND d.edxml_id = ? "
            f"AND (d.sender_agency IN ({marks}) "
            f"OR json_extract(d.package, '$.from.organId') IN ({marks})) "
            "ORDER BY d.rowid DESC LIMIT 1",
            (receiver, edxml_id, *senders, *senders),
        )
        return str(rows[0]["id"]) if rows else None

    async def sent(self, consumer: str, limit: int) -> list[str]:
        """The latest documents a system sent from this platform, newest first."""
        rows = await self._rows(
            "SELECT id FROM documents WHERE origin_platform = ? AND sender_consumer = ? "
            "ORDER BY rowid DESC LIMIT ?",
            (self.store.platform, consumer, limit),
        )
        return [str(r["id"]) for r in rows]

    _STATUS_SELECT = (
        "SELECT t.event_id, t.document_id, t.receiver, t.status_code, t.detail, t.time, "
        "t.status FROM trail t JOIN documents d ON d.id = t.document_id "
        "WHERE d.origin_platform = ? AND d.sender_consumer = ? AND t.status_code IS NOT NULL "
        "AND t.receiver IS NOT NULL "
    )

    async def statuses(self, systemid: str, consumer: str, limit: int) -> list[StatusItem]:
        """Receivers' statuses about the system's documents that it has not taken yet."""
        rows = await self._rows(
            self._STATUS_SELECT + "AND NOT EXISTS (SELECT 1 FROM axis_taken k WHERE "
            "k.systemid = ? AND k.item = ? || t.event_id) ORDER BY t.seq LIMIT ?",
            (self.store.platform, consumer, systemid, STATUS_ITEM, limit),
        )
        return [_status(r) for r in rows]

    async def status(self, consumer: str, item: str) -> StatusItem | None:
        if not item.startswith(STATUS_ITEM):
            return None
        rows = await self._rows(
            self._STATUS_SELECT + "AND t.event_id = ?",
            (self.store.platform, consumer, item.removeprefix(STATUS_ITEM)),
        )
        return _status(rows[0]) if rows else None

    async def take(self, systemid: str, item: str) -> None:
        async with self.store.transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO axis_taken (systemid, item, time) VALUES (?, ?, ?)",
                (systemid, item, time.time()),
            )

    async def registered(self) -> list[RegisteredAgency]:
        rows = await self._rows(
            "SELECT code, pcode, name, mail, mobile, fax, systemid FROM axis_agencies "
            "ORDER BY code",
            (),
        )
        return [RegisteredAgency(*(r[k] for k in r.keys())) for r in rows]

    async def register(self, agency: RegisteredAgency) -> bool:
        """Add or update an agency the system registered; False if another system owns it."""
        async with self.store.transaction() as db:
            async with db.execute(
                "SELECT systemid FROM axis_agencies WHERE code = ?", (agency.code,)
            ) as cur:
                row = await cur.fetchone()
            if row is not None and row["systemid"] != agency.systemid:
                return False
            await db.execute(
                "INSERT OR REPLACE INTO axis_agencies (code, pcode, name, mail, mobile, fax, "
                "systemid, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    agency.code,
                    agency.pcode,
                    agency.name,
                    agency.mail,
                    agency.mobile,
                    agency.fax,
                    agency.systemid,
                    time.time(),
                ),
            )
        return True

    async def unregister(self, systemid: str, code: str) -> bool:
        async with self.store.transaction() as db:
            cur = await db.execute(
                "DELETE FROM axis_agencies WHERE code = ? AND systemid = ?", (code, systemid)
            )
            return cur.rowcount > 0


def _status(r: aiosqlite.Row) -> StatusItem:
    return StatusItem(
        id=STATUS_ITEM + r["event_id"],
        event_id=r["event_id"],
        document_id=r["document_id"],
        receiver=r["receiver"],
        status_code=r["status_code"],
        detail=r["detail"],
        time=r["time"],
        status=r["status"],
    )
