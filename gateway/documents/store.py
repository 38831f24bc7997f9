"""A platform's document store: documents, per-receiver receipts, trails and the outbox.

Everything a platform promises about a document is a row here before it answers: a send is
acknowledged only after its document, receipts and outbox rows are committed in one
transaction, and delivery works from the outbox, so a restarted process resumes where the
last one stopped. One connection serves the platform; writes hold a lock because aiosqlite
would otherwise interleave two coroutines' statements inside one transaction.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
from pydantic import ValidationError

from apikit.sqlite import open_sqlite
from contracts.edxml import (
    DocumentPackage,
    MessageKind,
    ReceiverState,
    ReceiverView,
    SignedBy,
    StatusCode,
    StatusPacket,
    TrailEvent,
)
from contracts.edxml.legacy import is_legacy, upgrade

log = logging.getLogger(__name__)
# PRAGMA user_version of a store whose packages are in the edXML 2.0 form.
_FORMAT = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    package_hash TEXT NOT NULL,
    sender_consumer TEXT NOT NULL,
    sender_agency TEXT NOT NULL,
    origin_platform TEXT NOT NULL,
    previous_hop TEXT,
    kind TEXT NOT NULL,
    related TEXT,
    edxml_id TEXT NOT NULL,
    package TEXT NOT NULL,
    created REAL NOT NULL,
    package_xml BLOB,
    signed_by TEXT,
    claimed_traces INTEGER NOT NULL DEFAULT 0,
    UNIQUE (origin_platform, sender_consumer, idempotency_key)
);
CREATE TABLE IF NOT EXISTS receipts (
    document_id TEXT NOT NULL REFERENCES documents (id),
    receiver TEXT NOT NULL,
    state TEXT NOT NULL,
    status_code TEXT,
    local INTEGER NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (document_id, receiver)
);
CREATE INDEX IF NOT EXISTS receipts_inbox ON receipts (receiver, state);
CREATE TABLE IF NOT EXISTS trail (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    document_id TEXT NOT NULL,
    time REAL NOT NULL,
    platform TEXT NOT NULL,
    receiver TEXT,
    event TEXT NOT NULL,
    status_code TEXT,
    detail TEXT NOT NULL,
    status TEXT
);
CREATE INDEX IF NOT EXISTS trail_document ON trail (document_id);
CREATE INDEX IF NOT EXISTS documents_edxml ON documents (sender_agency, edxml_id);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    document_id TEXT NOT NULL,
    hop TEXT NOT NULL,
    receivers TEXT NOT NULL,
    payload TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    state TEXT NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_at);
"""


@dataclass(frozen=True)
class StoredDocument:
    id: str
    message_id: str
    idempotency_key: str
    package_hash: str
    sender_consumer: str
    sender_agency: str
    origin_platform: str
    previous_hop: str | None
    kind: MessageKind
    related: str | None
    edxml_id: str
    package: DocumentPackage
    created: float
    rowid: int
    # A signed package as its sender wrote it: what receivers get as XML, byte for byte.
    package_xml: bytes | None = None
    signed_by: SignedBy | None = None
    # How many leading TraceHeader entries of the package its sender wrote (its claim).
    claimed_traces: int = 0


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str  # "deliver" a document or relay a "status" back
    document_id: str
    hop: str
    receivers: list[str]
    payload: str | None
    attempts: int


@dataclass(frozen=True)
class NewEvent:
    receiver: str | None
    event: str
    status_code: StatusCode | None = None
    detail: str = ""
    event_id: str = ""
    time: float = 0.0
    status: StatusPacket | None = None


class _DocumentIds:
    """Document ids as the national document axis gives them: 24 lowercase hex characters.

    The layout of a MongoDB ObjectId (12 bytes): 4 bytes of Unix seconds, 5 random bytes
    drawn once per process, 3 bytes of a counter that starts at a random value. Every
    platform, every process (a fork draws its own bytes) and every restart (a new draw, a
    later second) makes ids no other one makes, without asking anybody; ids sort by the
    second they were made, and a process makes 16 million a second before its counter wraps.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = -1
        self._process = b""
        self._counter = 0

    def __call__(self) -> str:
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._process = secrets.token_bytes(5)
                self._counter = secrets.randbits(24)
            self._counter = (self._counter + 1) & 0xFFFFFF
            process, counter = self._process, self._counter
        seconds = int(time.time()) & 0xFFFFFFFF
        return (seconds.to_bytes(4, "big") + process + counter.to_bytes(3, "big")).hex()


new_document_id = _DocumentIds()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class DocumentStore:
    def __init__(self, path: Path, platform: str) -> None:
        self.path = path
        self.platform = platform
        self._db: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    async def open(self) -> None:
        # FULL: a 202 promises the document survives a crash of the machine, not only of us.
        self._db = await open_sqlite(
            self.path, schema=_SCHEMA, synchronous="FULL", rows_as_mappings=True
        )
        columns = [r[1] for r in await self._db.execute_fetchall("PRAGMA table_info(trail)")]
        if "status" not in columns:  # a store written before status packets were kept
            await self._db.execute("ALTER TABLE trail ADD COLUMN status TEXT")
        kept = [r[1] for r in await self._db.execute_fetchall("PRAGMA table_info(documents)")]
        if "package_xml" not in kept:  # a store written before signed packages were kept
            await self._db.execute("ALTER TABLE documents ADD COLUMN package_xml BLOB")
            await self._db.execute("ALTER TABLE documents ADD COLUMN signed_by TEXT")
        if "claimed_traces" not in kept:  # a store written before claimed traces were kept
            await self._db.execute(
                "ALTER TABLE documents ADD COLUMN claimed_traces INTEGER NOT NULL DEFAULT 0"
            )
        try:
            # The idempotency key is the sending agency's, whatever the channel.
            await self._db.execute(
                "CREATE UNIQUE INDEX IF NOT EXISTS documents_agency_key "
                "ON documents (origin_platform, sender_agency, idempotency_key)"
            )
        except sqlite3.IntegrityError:
            log.warning(
                "%s: documents written before keys were per agency repeat a key; the key "
                "stays unique per consumer in this store",
                self.path,
            )
        [(version,)] = list(await self._db.execute_fetchall("PRAGMA user_version"))
        if version < _FORMAT:
            await self._upgrade_packages()
            await self._db.execute(f"PRAGMA user_version = {_FORMAT}")
        await self._db.commit()

    async def _upgrade_packages(self) -> None:
        """Packages stored by a sandbox before edXML 2.0, rewritten once in the 2.0 form."""
        rows = await self._rows("SELECT id, related, package FROM documents")
        ids = {r["id"]: r for r in rows}
        for row in rows:
            data = json.loads(row["package"])
            if not is_legacy(data):
                continue
            related = ids.get(row["related"] or "")
            related_id = None if related is None else _edxml_id_of(related["package"])
            try:
                package = DocumentPackage.model_validate(upgrade(data, related_id))
            except (ValidationError, KeyError, ValueError) as exc:
                log.warning("document %s cannot be upgraded to edXML 2.0: %s", row["id"], exc)
                continue
            await self.db.execute(
                "UPDATE documents SET package = ?, related = ? WHERE id = ?",
                (package.model_dump_json(by_alias=True), package.related_document, row["id"]),
            )

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def ping(self) -> bool:
        if self._db is None:
            return False
        try:
            await self._rows("SELECT 1")
        except Exception:  # any failure means the store is down
            return False
        return True

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError(f"document store {self.path} is not open")
        return self._db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            try:
                yield self.db
            except BaseException:
                await self.db.rollback()
                raise
            await self.db.commit()

    async def _rows(self, sql: str, args: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self.db.execute(sql, tuple(args)) as cur:
            return list(await cur.fetchall())

    # -- documents -------------------------------------------------------------------

    async def get(self, document_id: str) -> StoredDocument | None:
        rows = await self._rows("SELECT rowid, * FROM documents WHERE id = ?", (document_id,))
        return _document(rows[0]) if rows else None

    async def by_edxml_id(self, sender_agency: str, edxml_id: str) -> StoredDocument | None:
        """A document sent from this platform by an agency, by its edXML DocumentId."""
        rows = await self._rows(
            "SELECT rowid, * FROM documents WHERE origin_platform = ? AND sender_agency = ? "
            "AND edxml_id = ? ORDER BY rowid LIMIT 1",
            (self.platform, sender_agency, edxml_id),
        )
        return _document(rows[0]) if rows else None

    async def by_idempotency_key(self, sender_agency: str, key: str) -> StoredDocument | None:
        """The agency's document under this key, whichever channel (`/documents`, `/vxp`)
        and consumer sent it: one package is one document, however it came."""
        rows = await self._rows(
            "SELECT rowid, * FROM documents WHERE origin_platform = ? AND sender_agency = ? "
            "AND idempotency_key = ? ORDER BY rowid LIMIT 1",
            (self.platform, sender_agency, key),
        )
        return _document(rows[0]) if rows else None

    async def insert_document(self, db: aiosqlite.Connection, doc: StoredDocument) -> None:
        await db.execute(
            "INSERT INTO documents (id, message_id, idempotency_key, package_hash, "
            "sender_consumer, sender_agency, origin_platform, previous_hop, kind, related, "
            "edxml_id, package, created, package_xml, signed_by, claimed_traces) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                doc.id,
                doc.message_id,
                doc.idempotency_key,
                doc.package_hash,
                doc.sender_consumer,
                doc.sender_agency,
                doc.origin_platform,
                doc.previous_hop,
                doc.kind.value,
                doc.related,
                doc.edxml_id,
                doc.package.model_dump_json(by_alias=True, exclude_none=True),
                doc.created,
                doc.package_xml,
                None if doc.signed_by is None else doc.signed_by.model_dump_json(),
                doc.claimed_traces,
            ),
        )

    # -- receipts --------------------------------------------------------------------

    async def add_receipt(
        self,
        db: aiosqlite.Connection,
        document_id: str,
        receiver: str,
        state: ReceiverState,
        *,
        local: bool,
    ) -> None:
        await db.execute(
            "INSERT OR IGNORE INTO receipts (document_id, receiver, state, status_code, local, "
            "updated) VALUES (?, ?, ?, NULL, ?, ?)",
            (document_id, receiver, state.value, int(local), time.time()),
        )

    async def set_receipt(
        self,
        db: aiosqlite.Connection,
        document_id: str,
        receiver: str,
        *,
        state: ReceiverState | None = None,
        status_code: StatusCode | None = None,
    ) -> None:
        if state is not None:
            # A final state is never undone by a late, out-of-order message.
            await db.execute(
                "UPDATE receipts SET state = ?, updated = ? WHERE document_id = ? AND "
                "receiver = ? AND state NOT IN ('delivered', 'failed')",
                (state.value, time.time(), document_id, receiver),
            )
        if status_code is not None:
            await db.execute(
                "UPDATE receipts SET status_code = ?, updated = ?, state = CASE WHEN "
                "state IN ('pending', 'awaiting-pickup') THEN 'delivered' ELSE state END "
                "WHERE document_id = ? AND receiver = ?",
                (status_code.value, time.time(), document_id, receiver),
            )

    async def receipts(self, document_id: str) -> list[ReceiverView]:
        rows = await self._rows(
            "SELECT receiver, state, status_code, updated FROM receipts WHERE document_id = ? "
            "ORDER BY receiver",
            (document_id,),
        )
        return [
            ReceiverView(
                organId=r["receiver"],
                state=ReceiverState(r["state"]),
                statusCode=StatusCode(r["status_code"]) if r["status_code"] else None,
                updated=_dt(r["updated"]),
            )
            for r in rows
        ]

    async def local_receipt(self, document_id: str, receiver: str) -> ReceiverState | None:
        rows = await self._rows(
            "SELECT state FROM receipts WHERE document_id = ? AND receiver = ? AND local = 1",
            (document_id, receiver),
        )
        return ReceiverState(rows[0]["state"]) if rows else None

    async def inbox(
        self, receiver: str, after_rowid: int, limit: int, max_bytes: int
    ) -> tuple[list[StoredDocument], bool]:
        """The next documents waiting for `receiver`: at most `limit`, and no more packages
        than fit in `max_bytes` (at least one, which a send's own bound keeps in reach).
        Sizes are read first, so a page never loads more than it returns. True if more wait."""
        waiting = (
            "FROM documents d JOIN receipts r ON r.document_id = d.id "
            "WHERE r.receiver = ? AND r.local = 1 AND r.state = 'awaiting-pickup' "
            "AND d.rowid > ? ORDER BY d.rowid LIMIT ?"
        )
        sizes = await self._rows(
            f"SELECT d.rowid, length(d.package) AS size {waiting}",
            (receiver, after_rowid, limit + 1),
        )
        taken: list[int] = []
        total = 0
        for row in sizes[:limit]:
            if taken and total + row["size"] > max_bytes:
                break
            taken.append(row["rowid"])
            total += row["size"]
        if not taken:
            return [], False
        marks = ", ".join("?" * len(taken))
        rows = await self._rows(
            f"SELECT {_INBOX_COLUMNS} FROM documents d WHERE d.rowid IN ({marks}) ORDER BY d.rowid",
            taken,
        )
        return [_document(r) for r in rows], len(taken) < len(sizes)

    # -- trail -----------------------------------------------------------------------

    async def add_event(
        self, db: aiosqlite.Connection, document_id: str, event: NewEvent
    ) -> tuple[str, TrailEvent]:
        at = event.time or time.time()
        event_id = event.event_id or uuid.uuid4().hex
        await db.execute(
            "INSERT OR IGNORE INTO trail (event_id, document_id, time, platform, receiver, "
            "event, status_code, detail, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event_id,
                document_id,
                at,
                self.platform,
                event.receiver,
                event.event,
                event.status_code.value if event.status_code else None,
                event.detail,
                _packet_json(event.status),
            ),
        )
        return event_id, TrailEvent(
            time=_dt(at),
            platform=self.platform,
            receiver=event.receiver,
            event=event.event,  # type: ignore[arg-type]
            statusCode=event.status_code,
            detail=event.detail,
            status=event.status,
        )

    async def add_relayed_event(
        self, db: aiosqlite.Connection, document_id: str, event_id: str, event: TrailEvent
    ) -> bool:
        """Record an event another platform saw; False when it was already recorded."""
        cur = await db.execute(
            "INSERT OR IGNORE INTO trail (event_id, document_id, time, platform, receiver, "
            "event, status_code, detail, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event_id,
                document_id,
                event.time.timestamp(),
                event.platform,
                event.receiver,
                event.event,
                event.statusCode.value if event.statusCode else None,
                event.detail,
                _packet_json(event.status),
            ),
        )
        return cur.rowcount > 0

    async def trail(self, document_id: str) -> list[TrailEvent]:
        rows = await self._rows(
            "SELECT * FROM trail WHERE document_id = ? ORDER BY time, seq", (document_id,)
        )
        return [
            TrailEvent(
                time=_dt(r["time"]),
                platform=r["platform"],
                receiver=r["receiver"],
                event=r["event"],
                statusCode=StatusCode(r["status_code"]) if r["status_code"] else None,
                detail=r["detail"],
                status=StatusPacket.model_validate_json(r["status"]) if r["status"] else None,
            )
            for r in rows
        ]

    # -- outbox ----------------------------------------------------------------------

    async def enqueue(
        self,
        db: aiosqlite.Connection,
        kind: str,
        document_id: str,
        hop: str,
        receivers: list[str],
        payload: str | None = None,
    ) -> None:
        await db.execute(
            "INSERT INTO outbox (kind, document_id, hop, receivers, payload, next_at, state) "
            "VALUES (?, ?, ?, ?, ?, ?, 'pending')",
            (kind, document_id, hop, json.dumps(receivers), payload, time.time()),
        )

    async def due(self, limit: int) -> list[OutboxItem]:
        rows = await self._rows(
            "SELECT * FROM outbox WHERE state = 'pending' AND next_at <= ? "
            "ORDER BY next_at, id LIMIT ?",
            (time.time(), limit),
        )
        return [
            OutboxItem(
                id=r["id"],
                kind=r["kind"],
                document_id=r["document_id"],
                hop=r["hop"],
                receivers=json.loads(r["receivers"]),
                payload=r["payload"],
                attempts=r["attempts"],
            )
            for r in rows
        ]

    async def next_due_at(self) -> float | None:
        rows = await self._rows("SELECT MIN(next_at) AS at FROM outbox WHERE state = 'pending'")
        return rows[0]["at"] if rows and rows[0]["at"] is not None else None

    async def finish(self, db: aiosqlite.Connection, item: OutboxItem, state: str) -> None:
        await db.execute("UPDATE outbox SET state = ? WHERE id = ?", (state, item.id))

    async def retry_later(self, item: OutboxItem, delay: float, error: str) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? "
                "WHERE id = ?",
                (time.time() + delay, error[:500], item.id),
            )

    async def outbox_counts(self) -> dict[str, int]:
        rows = await self._rows("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
        return {r["state"]: r["n"] for r in rows}


# An inbox page carries packages as JSON: the signed bytes stay on disk (the page's byte
# bound counts what it returns), read one document at a time through GET .../package.
_INBOX_COLUMNS = (
    "d.rowid, d.id, d.message_id, d.idempotency_key, d.package_hash, d.sender_consumer, "
    "d.sender_agency, d.origin_platform, d.previous_hop, d.kind, d.related, d.edxml_id, "
    "d.package, d.created, NULL AS package_xml, d.signed_by, d.claimed_traces"
)


def _edxml_id_of(stored: str) -> str | None:
    data = json.loads(stored)
    if not is_legacy(data):
        return str(data.get("documentId") or "") or None
    day = str(data["promulgationInfo"]["promulgationDate"]).replace("-", "/")
    code = data["code"]
    return f"{data['from']['organId']},{day},{code['codeNumber']}/{code['codeNotation']}"


def _packet_json(packet: StatusPacket | None) -> str | None:
    return None if packet is None else packet.model_dump_json(by_alias=True)


def _document(row: aiosqlite.Row) -> StoredDocument:
    return StoredDocument(
        id=row["id"],
        message_id=row["message_id"],
        idempotency_key=row["idempotency_key"],
        package_hash=row["package_hash"],
        sender_consumer=row["sender_consumer"],
        sender_agency=row["sender_agency"],
        origin_platform=row["origin_platform"],
        previous_hop=row["previous_hop"],
        kind=MessageKind(row["kind"]),
        related=row["related"],
        edxml_id=row["edxml_id"],
        package=DocumentPackage.model_validate_json(row["package"]),
        created=row["created"],
        rowid=row["rowid"],
        package_xml=row["package_xml"],
        signed_by=SignedBy.model_validate_json(row["signed_by"]) if row["signed_by"] else None,
        claimed_traces=row["claimed_traces"],
    )
