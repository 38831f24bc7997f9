"""One audit record per exchange, written to SQLite off the request path.

Requests only enqueue; a single writer drains the queue in batches, so the log never
serializes the gateway and a burst costs one transaction, not one per request. A failed
write keeps its batch and retries: a record once enqueued is never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from contracts.platform import AuditRecord

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    platform TEXT NOT NULL,
    message_id TEXT NOT NULL,
    consumer TEXT,
    origin_consumer TEXT,
    service TEXT,
    version TEXT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    request_bytes INTEGER NOT NULL,
    response_bytes INTEGER NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_message_id ON audit (message_id);
"""

_COLUMNS = (
    "time, platform, message_id, consumer, origin_consumer, service, version, method, path, "
    "status, duration_ms, request_bytes, response_bytes, outcome"
)


@dataclass(slots=True)
class AuditEntry:
    time: float
    platform: str
    message_id: str
    consumer: str | None
    origin_consumer: str | None
    service: str | None
    version: str | None
    method: str
    path: str
    status: int
    duration_ms: float
    request_bytes: int
    response_bytes: int
    outcome: str


class AuditLog:
    def __init__(self, path: Path, *, batch_size: int, flush_seconds: float) -> None:
        self.path = path
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._queue: asyncio.Queue[AuditEntry] = asyncio.Queue()
        self._db: aiosqlite.Connection | None = None
        self._writer: asyncio.Task[None] | None = None
        self.written = 0

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path)
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA synchronous=NORMAL")
        await self._db.executescript(_SCHEMA)
        await self._db.commit()
        self._writer = asyncio.create_task(self._write_forever(), name=f"audit:{self.path.name}")

    async def close(self) -> None:
        if self._writer is not None:
            await self.flush()
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        if self._db is not None:
            await self._db.close()
            self._db = None

    def record(self, entry: AuditEntry) -> None:
        self._queue.put_nowait(entry)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def flush(self) -> None:
        """Wait until everything enqueued so far is committed."""
        await self._queue.join()

    async def ping(self) -> bool:
        if self._db is None or self._writer is None or self._writer.done():
            return False
        try:
            async with self._db.execute("SELECT 1") as cur:
                await cur.fetchone()
        except Exception:  # the probe reports any database failure as unhealthy
            log.exception("audit database probe failed")
            return False
        return True

    async def query(
        self,
        *,
        message_id: str | None = None,
        consumer: str | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        await self.flush()
        assert self._db is not None
        where, args = [], []
        if message_id is not None:
            where.append("message_id = ?")
            args.append(message_id)
        if consumer is not None:
            where.append("(consumer = ? OR origin_consumer = ?)")
            args += [consumer, consumer]
        sql = f"SELECT id, {_COLUMNS} FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        async with self._db.execute(sql, args) as cur:
            rows = await cur.fetchall()
        return [_to_record(row) for row in rows]

    async def count(self) -> int:
        await self.flush()
        assert self._db is not None
        async with self._db.execute("SELECT COUNT(*) FROM audit") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _write_forever(self) -> None:
        assert self._db is not None
        while True:
            batch = [await self._queue.get()]
            # Let a burst gather, so it lands in one transaction.
            if self._queue.empty() and self._flush_seconds > 0:
                await asyncio.sleep(self._flush_seconds)
            while len(batch) < self._batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write(batch)
            for _ in batch:
                self._queue.task_done()

    async def _write(self, batch: list[AuditEntry]) -> None:
        assert self._db is not None
        placeholders = ", ".join("?" * 14)
        delay = 0.05
        while True:
            try:
                await self._db.executemany(
                    f"INSERT INTO audit ({_COLUMNS}) VALUES ({placeholders})",
                    [astuple(e) for e in batch],
                )
                await self._db.commit()
                self.written += len(batch)
                return
            except Exception:  # keep the batch; a record once accepted is never dropped
                log.exception("audit write of %d records failed; retrying", len(batch))
                with contextlib.suppress(Exception):
                    await self._db.rollback()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)


def _to_record(row: tuple) -> AuditRecord:  # type: ignore[type-arg]
    (
        id_,
        t,
        platform,
        message_id,
        consumer,
        origin,
        service,
        version,
        method,
        path,
        status,
        duration,
        req_bytes,
        resp_bytes,
        outcome,
    ) = row
    return AuditRecord(
        id=id_,
        time=datetime.fromtimestamp(t, UTC),
        platform=platform,
        message_id=message_id,
        consumer=consumer,
        origin_consumer=origin,
        service=service,
        version=version,
        method=method,
        path=path,
        status=status,
        duration_ms=duration,
        request_bytes=req_bytes,
        response_bytes=resp_bytes,
        outcome=outcome,
    )
