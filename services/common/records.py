"""The one table every stateful sample back end keeps its submissions in.

A submission is accepted once: a repeat with the same client key returns the first record,
so a caller that retries after a lost reply creates nothing new.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from services.common.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    client_key TEXT UNIQUE,
    owner TEXT,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    history TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS records_owner ON records (owner);
"""


@dataclass
class Record:
    id: str
    owner: str | None
    status: str
    body: dict[str, Any]
    history: list[dict[str, Any]]
    created: float
    updated: float


def _record(row: dict[str, Any]) -> Record:
    return Record(
        id=row["id"],
        owner=row["owner"],
        status=row["status"],
        body=json.loads(row["body"]),
        history=json.loads(row["history"]),
        created=row["created"],
        updated=row["updated"],
    )


# One statement, so SQLite numbers and inserts under its write lock: no two submissions can
# read the same count (in this process or another, before a restart or after), and two with
# the same client key cannot both insert. The number is the row's own rowid (SQLite gives a
# new row max(rowid) + 1), so it stays dense, 1 after a reset, and agrees with older files.
_INSERT = """
INSERT INTO records (id, client_key, owner, status, body, history, created, updated)
VALUES (
    printf('%s-%07d', :prefix, (SELECT COALESCE(MAX(rowid), 0) + 1 FROM records)),
    :client_key, :owner, :status, :body, :history, :now, :now
)
ON CONFLICT (client_key) DO NOTHING
RETURNING id
"""

# The history grows inside the statement, so concurrent updates of one record each append
# their entry instead of the last writer overwriting the others'. :expected makes it a
# compare-and-set (a step taken by two readers at once is taken once); :unless_status leaves a
# record already in that status as it is (a repeated sync appends nothing).
_SET_STATUS = """
UPDATE records
SET status = :status,
    history = json_insert(history, '$[#]', json(:entry)),
    updated = :now
WHERE id = :id
    AND (:expected IS NULL OR status = :expected)
    AND (:unless_status IS NULL OR status != :unless_status)
RETURNING *
"""


class Records:
    def __init__(self, db: Database, prefix: str) -> None:
        self._db = db
        self._prefix = prefix

    async def create(
        self, body: dict[str, Any], *, status: str, owner: str | None, client_key: str | None
    ) -> tuple[Record, bool]:
        """(record, created): created is False when client_key was seen before."""
        now = time.time()
        history = [{"status": status, "time": now}]
        inserted = await self._db.write_returning(
            _INSERT,
            {
                "prefix": self._prefix,
                "client_key": client_key,
                "owner": owner,
                "status": status,
                "body": json.dumps(body, ensure_ascii=False),
                "history": json.dumps(history),
                "now": now,
            },
        )
        if inserted is not None:
            return Record(inserted["id"], owner, status, body, history, now, now), True
        existing = await self._db.one("SELECT * FROM records WHERE client_key = ?", (client_key,))
        if existing is None:  # only a conflict on client_key skips the insert
            raise RuntimeError(f"record with client key {client_key!r} neither inserted nor found")
        return _record(existing), False

    async def get(self, record_id: str) -> Record | None:
        row = await self._db.one("SELECT * FROM records WHERE id = ?", (record_id,))
        return _record(row) if row else None

    async def by_owner(self, owner: str, limit: int, offset: int) -> list[Record]:
        rows = await self._db.all(
            "SELECT * FROM records WHERE owner = ? ORDER BY created LIMIT ? OFFSET ?",
            (owner, limit, offset),
        )
        return [_record(r) for r in rows]

    async def all(self, limit: int, offset: int) -> list[Record]:
        rows = await self._db.all(
            "SELECT * FROM records ORDER BY created LIMIT ? OFFSET ?", (limit, offset)
        )
        return [_record(r) for r in rows]

    async def set_status(
        self,
        record: Record,
        status: str,
        note: str | None = None,
        *,
        expected: str | None = None,
        unless_status: str | None = None,
    ) -> Record:
        """The record as stored afterwards; unchanged when its stored status is not
        `expected` or is `unless_status`."""
        now = time.time()
        entry = {"status": status, "time": now, "note": note}
        row = await self._db.write_returning(
            _SET_STATUS,
            {
                "status": status,
                "entry": json.dumps(entry, ensure_ascii=False),
                "now": now,
                "id": record.id,
                "expected": expected,
                "unless_status": unless_status,
            },
        )
        if row is not None:
            return _record(row)
        current = await self.get(record.id)
        return current if current is not None else record
