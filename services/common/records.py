"""The one table every stateful sample back end keeps its submissions in.

A submission is accepted once: a repeat with the same client key returns the first record,
so a caller that retries after a lost reply creates nothing new.
"""

from __future__ import annotations

import asyncio
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


class Records:
    def __init__(self, db: Database, prefix: str) -> None:
        self._db = db
        self._prefix = prefix
        # Numbering reads then writes; concurrent submissions must not share a number.
        self._lock = asyncio.Lock()

    async def create(
        self, body: dict[str, Any], *, status: str, owner: str | None, client_key: str | None
    ) -> tuple[Record, bool]:
        """(record, created): created is False when client_key was seen before."""
        async with self._lock:
            return await self._create(body, status=status, owner=owner, client_key=client_key)

    async def _create(
        self, body: dict[str, Any], *, status: str, owner: str | None, client_key: str | None
    ) -> tuple[Record, bool]:
        if client_key is not None:
            existing = await self._db.one(
                "SELECT * FROM records WHERE client_key = ?", (client_key,)
            )
            if existing is not None:
                return _record(existing), False
        count = await self._db.one("SELECT COUNT(*) AS n FROM records")
        record_id = f"{self._prefix}-{(count or {'n': 0})['n'] + 1:07d}"
        now = time.time()
        history = [{"status": status, "time": now}]
        await self._db.write(
            "INSERT INTO records (id, client_key, owner, status, body, history, created, "
            "updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record_id,
                client_key,
                owner,
                status,
                json.dumps(body, ensure_ascii=False),
                json.dumps(history),
                now,
                now,
            ),
        )
        return Record(record_id, owner, status, body, history, now, now), True

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

    async def set_status(self, record: Record, status: str, note: str | None = None) -> Record:
        now = time.time()
        record.history.append({"status": status, "time": now, "note": note})
        record.status, record.updated = status, now
        await self._db.write(
            "UPDATE records SET status = ?, history = ?, updated = ? WHERE id = ?",
            (status, json.dumps(record.history, ensure_ascii=False), now, record.id),
        )
        return record
