"""One audit record per exchange, committed to SQLite before the exchange is answered.

No exchange is answered unlogged (X-Road's rule): `commit` returns only once the record is
in the database (WAL, synchronous=NORMAL: it survives a SIGKILL of the platform). Group
commit keeps that cheap: a single writer takes every record that arrived while the previous
transaction ran and commits them together, so a burst costs one transaction, not one per
request, and nobody waits for a timer. A failed write keeps its batch and retries: a record
once enqueued is never dropped. The chain's head is anchored in the same transaction.
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
from gateway.messagelog.audit_chain import (
    FIELDS,
    GENESIS,
    HEAD_TABLE_SQL,
    UPSERT_HEAD,
    chain_hash,
    head_mac,
    key_path_of,
    load_or_create_key,
)

log = logging.getLogger(__name__)

_SCHEMA = f"""
{audit_table_sql("audit")}
CREATE INDEX IF NOT EXISTS audit_message_id ON audit (message_id);
{HEAD_TABLE_SQL}
"""
_COLUMNS = ", ".join(FIELDS)
_INSERT = (
    f"INSERT INTO audit ({_COLUMNS}, prev_hash, hash) VALUES ({', '.join('?' * (len(FIELDS) + 2))})"
)


class AuditNotCommitted(Exception):
    """The record is queued, but could not be committed in time: do not answer as if it were."""


_Pending = tuple[AuditEntry, asyncio.Future[None]]


class AuditLog:
    def __init__(
        self,
        path: Path,
        *,
        batch_size: int,
        busy_timeout_seconds: float = 5.0,
        commit_timeout_seconds: float = 5.0,
        max_pending: int = 100_000,
    ) -> None:
        self.path = path
        self._batch_size = batch_size
        self._busy_timeout = busy_timeout_seconds
        self._commit_timeout = commit_timeout_seconds
        self._max_pending = max_pending
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._db: aiosqlite.Connection | None = None
        self._writer: asyncio.Task[None] | None = None
        self._last_hash = GENESIS
        self._key = b""
        self._write_failing = False
        self.written = 0

    async def open(self) -> None:
        self._key = load_or_create_key(key_path_of(self.path))
        self._db = await open_sqlite(
            self.path, schema=_SCHEMA, busy_timeout_seconds=self._busy_timeout
        )
        async with self._db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1") as cur:
            row = await cur.fetchone()
        self._last_hash = row[1] if row else GENESIS
        if row is not None:
            # A log from before heads were anchored gets its head now; later ones keep theirs.
            async with self._db.execute("SELECT 1 FROM audit_head") as cur:
                if await cur.fetchone() is None:
                    await self._db.execute(
                        UPSERT_HEAD, (row[0], row[1], head_mac(self._key, row[0], row[1]))
                    )
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

    @property
    def accepting(self) -> bool:
        """False while records cannot be committed: exchanges must then be refused."""
        return (
            not self._write_failing
            and self._writer is not None
            and not self._writer.done()
            and self._queue.qsize() < self._max_pending
        )

    async def commit(self, entry: AuditEntry) -> None:
        """Return once `entry` is committed; AuditNotCommitted if that takes too long.

        On timeout the record stays queued and is written when the log recovers: what the
        exchange did is never lost, but the caller must not be told it succeeded.
        """
        committed = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((entry, committed))
        try:
            await asyncio.wait_for(asyncio.shield(committed), self._commit_timeout)
        except TimeoutError:
            raise AuditNotCommitted(
                f"audit record {entry.message_id} not committed within {self._commit_timeout:g} s"
            ) from None

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
        while True:
            # Group commit: whatever arrived while the last transaction ran goes in this one.
            batch = [await self._queue.get()]
            while len(batch) < self._batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write([entry for entry, _ in batch])
            for _, committed in batch:
                if not committed.done():
                    committed.set_result(None)
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
                async with self._db.execute("SELECT last_insert_rowid()") as cur:
                    found = await cur.fetchone()
                last_id = int(found[0]) if found else 0
                await self._db.execute(
                    UPSERT_HEAD, (last_id, last, head_mac(self._key, last_id, last))
                )
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
