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
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

from apikit.sqlite import open_sqlite_sync
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
_T = TypeVar("_T")


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
        # One thread owns the connection: a group commit is one hop to it, not one per
        # statement, and a locked database blocks that thread, never the event loop.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit")
        self._db: sqlite3.Connection | None = None
        self._writer: asyncio.Task[None] | None = None
        self._last_hash = GENESIS
        self._key = b""
        self._write_failing = False
        self.written = 0

    async def _on_thread(self, work: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, work)

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"audit log {self.path} is not open")
        return self._db

    async def open(self) -> None:
        self._key = load_or_create_key(key_path_of(self.path))
        self._db = await self._on_thread(
            lambda: open_sqlite_sync(
                self.path, schema=_SCHEMA, busy_timeout_seconds=self._busy_timeout
            )
        )
        self._last_hash = await self._on_thread(self._anchor_existing)
        self._writer = asyncio.create_task(self._write_forever(), name=f"audit:{self.path.name}")

    def _anchor_existing(self) -> str:
        """The last hash; a log from before heads were anchored gets its head now."""
        db = self._connection()
        row = db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return GENESIS
        if db.execute("SELECT 1 FROM audit_head").fetchone() is None:
            db.execute(UPSERT_HEAD, (row[0], row[1], head_mac(self._key, row[0], row[1])))
            db.commit()
        return str(row[1])

    async def close(self) -> None:
        if self._writer is not None:
            await self.flush()
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        if self._db is not None:
            await self._on_thread(self._db.close)
            self._db = None
        self._thread.shutdown(wait=True)

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
            await self._on_thread(lambda: self._connection().execute("SELECT 1").fetchone())
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
        rows = await self._on_thread(lambda: self._connection().execute(sql, args).fetchall())
        return [_to_record(tuple(row)) for row in rows]

    async def count(self) -> int:
        await self.flush()
        row = await self._on_thread(
            lambda: self._connection().execute("SELECT COUNT(*) FROM audit").fetchone()
        )
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

    def _commit_rows(self, rows: list[tuple[object, ...]], last_hash: str) -> None:
        """On the log's thread: the records and the chain's new head, in one transaction."""
        db = self._connection()
        try:
            db.executemany(_INSERT, rows)
            (last_id,) = db.execute("SELECT last_insert_rowid()").fetchone()
            db.execute(UPSERT_HEAD, (last_id, last_hash, head_mac(self._key, last_id, last_hash)))
            db.commit()
        except BaseException:
            db.rollback()
            raise

    async def _write(self, batch: list[AuditEntry]) -> None:
        delay = 0.05
        while True:
            rows, last = self._chained(batch)
            try:
                await self._on_thread(partial(self._commit_rows, rows, last))
            except Exception:  # keep the batch; a record once accepted is never dropped
                if not self._write_failing:
                    log.exception("audit write of %d records failed; retrying", len(batch))
                self._write_failing = True
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
