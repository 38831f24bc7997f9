"""One audit record per exchange, written to SQLite off the request path.

Requests only enqueue; a single writer drains the queue in batches, so the log never
serializes the gateway and a burst costs one transaction, not one per request. A failed
write keeps its batch and retries: a record once enqueued is never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import astuple
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from apikit.sqlite import open_sqlite
from contracts.audit import AuditEntry, AuditRecord, audit_table_sql
from gateway.audit_chain import FIELDS, GENESIS, chain_hash

log = logging.getLogger(__name__)

_SCHEMA = f"""
{audit_table_sql("audit")}
CREATE INDEX IF NOT EXISTS audit_message_id ON audit (message_id);
"""
_COLUMNS = ", ".join(FIELDS)
_INSERT = (
    f"INSERT INTO audit ({_COLUMNS}, prev_hash, hash) VALUES ({', '.join('?' * (len(FIELDS) + 2))})"
)


class AuditLog:
    def __init__(
        self,
        path: Path,
        *,
        batch_size: int,
        flush_seconds: float,
        busy_timeout_seconds: float = 5.0,
        max_pending: int = 100_000,
    ) -> None:
        self.path = path
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._busy_timeout = busy_timeout_seconds
        self._max_pending = max_pending
        self._queue: asyncio.Queue[AuditEntry] = asyncio.Queue()
        self._db: aiosqlite.Connection | None = None
        self._writer: asyncio.Task[None] | None = None
        self._last_hash = GENESIS
        self._write_failing = False
        self.written = 0

    async def open(self) -> None:
        self._db = await open_sqlite(
            self.path, schema=_SCHEMA, busy_timeout_seconds=self._busy_timeout
        )
        async with self._db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1") as cur:
            row = await cur.fetchone()
        self._last_hash = row[0] if row else GENESIS
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

    @property
    def accepting(self) -> bool:
        """False while records cannot be committed: exchanges must then be refused."""
        return (
            not self._write_failing
            and self._writer is not None
            and not self._writer.done()
            and self._queue.qsize() < self._max_pending
        )

    def record(self, entry: AuditEntry) -> None:
        self._queue.put_nowait(entry)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def flush(self) -> None:
        """Wait until everything enqueued so far is committed."""
        await self._queue.join()

    async def ping(self) -> bool:
        if self._db is None or not self.accepting:
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
        where: list[str] = []
        args: list[str | int] = []
        if message_id is not None:
            where.append("message_id = ?")
            args.append(message_id)
        if consumer is not None:
            where.append("(consumer = ? OR origin_consumer = ?)")
            args += [consumer, consumer]
        sql = f"SELECT id, {_COLUMNS}, prev_hash, hash FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        async with self._db.execute(sql, args) as cur:
            rows = await cur.fetchall()
        return [_to_record(tuple(row)) for row in rows]

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

    def _chained(self, batch: list[AuditEntry]) -> tuple[list[tuple[object, ...]], str]:
        rows = []
        prev = self._last_hash
        for entry in batch:
            values = astuple(entry)
            digest = chain_hash(prev, values)
            rows.append((*values, prev, digest))
            prev = digest
        return rows, prev

    async def _write(self, batch: list[AuditEntry]) -> None:
        assert self._db is not None
        delay = 0.05
        while True:
            rows, last = self._chained(batch)
            try:
                await self._db.executemany(_INSERT, rows)
                await self._db.commit()
            except Exception:  # keep the batch; a record once accepted is never dropped
                if not self._write_failing:
                    log.exception("audit write of %d records failed; retrying", len(batch))
                self._write_failing = True
                with contextlib.suppress(Exception):
                    await self._db.rollback()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            self._last_hash = last
            self.written += len(batch)
            if self._write_failing:
                log.warning("audit writes recovered")
            self._write_failing = False
            return


def _to_record(row: tuple[object, ...]) -> AuditRecord:
    names = ("id", *FIELDS, "prev_hash", "hash")
    values = dict(zip(names, row, strict=True))
    values["time"] = datetime.fromtimestamp(float(values["time"]), UTC)  # type: ignore[arg-type]
    return AuditRecord.model_validate(values)
