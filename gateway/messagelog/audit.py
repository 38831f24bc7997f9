"""One audit record per exchange, committed to SQLite before the exchange is answered.

No exchange is answered unlogged (X-Road's rule): `commit` returns only once the record is
in the database (WAL, synchronous=NORMAL: it survives a SIGKILL of the platform).

Group commit on the event loop. Every record handed over during one turn of the loop goes in
one transaction, committed at the end of that turn, so a burst costs one transaction, not
one per request, and nobody waits for a timer. The commit runs on the loop itself: in WAL
with synchronous=NORMAL it is a write into the WAL file with no fsync (tens of
microseconds), far cheaper than handing the batch to a thread and waking the loop again,
which cost more than the commit (and the two threads fought over the GIL). What does wait
for the disk, the checkpoint that copies the WAL back into the database and fsyncs it, is
taken off the loop: automatic checkpoints are off on the writer, and a thread with its own
connection checkpoints (PASSIVE: it never blocks the writer) every few hundred commits; the
writer then copies the few frames appended meanwhile, so the WAL is complete and starts over
instead of growing. Reads (`query`, `count`, `ping`) use that thread too. The writer never
waits for a lock (busy timeout 0): if another process holds one, the commit fails at once
and is retried with a backoff, and waiters are told after `commit_timeout_seconds` that
their record is not committed yet. A failed write keeps its batch: a record once enqueued is
never dropped. The chain's head is anchored in the same transaction as the records it
covers.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
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
# The entry's values in the chain's field order (dataclasses.astuple deep-copies: slower).
_VALUES = attrgetter(*FIELDS)
# A commit writes about three pages (table, index, head); SQLite's own automatic checkpoint
# would run at 1000 pages, so checkpoint on the side at about the same WAL size.
CHECKPOINT_EVERY_COMMITS = 300


class AuditNotCommitted(Exception):
    """The record is queued, but could not be committed in time: do not answer as if it were."""


_T = TypeVar("_T")


@dataclass(slots=True)
class _Pending:
    entry: AuditEntry
    committed: asyncio.Future[None]
    since: float


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
        self._pending: list[_Pending] = []
        self._drained = asyncio.Event()
        self._drained.set()
        self._flush_scheduled = False
        self._retry_delay = 0.0
        self._expiry: asyncio.TimerHandle | None = None
        # The writer lives on the loop; checkpoints and reads on this thread, own connection.
        self._side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit")
        self._db: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._commits_since_checkpoint = 0
        self._checkpointing = False
        self._finish_checkpoint = False
        self._last_hash = GENESIS
        self._key = b""
        self._write_failing = False
        self._closed = True
        self.written = 0

    async def _on_side(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        def run() -> _T:
            if self._reader is None:
                # isolation_level=None: reads and checkpoints hold no transaction open.
                self._reader = sqlite3.connect(
                    self.path, timeout=self._busy_timeout, isolation_level=None
                )
            return work(self._reader)

        return await asyncio.get_running_loop().run_in_executor(self._side, run)

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"audit log {self.path} is not open")
        return self._db

    async def open(self) -> None:
        self._key = load_or_create_key(key_path_of(self.path))
        db = open_sqlite_sync(self.path, schema=_SCHEMA, busy_timeout_seconds=self._busy_timeout)
        db.execute("PRAGMA wal_autocheckpoint=0")
        # Never wait for a lock on the loop: a busy database fails the commit, which retries.
        db.execute("PRAGMA busy_timeout=0")
        self._db = db
        self._last_hash = self._anchor_existing()
        self._closed = False

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
        if not self._closed:
            await self.flush()
            self._closed = True
        if self._expiry is not None:
            self._expiry.cancel()
        if self._db is not None:
            self._db.close()
            self._db = None

        def close_reader() -> None:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

        await asyncio.get_running_loop().run_in_executor(self._side, close_reader)
        self._side.shutdown(wait=True)

    @property
    def accepting(self) -> bool:
        """False while records cannot be committed: exchanges must then be refused."""
        return (
            not self._write_failing and not self._closed and len(self._pending) < self._max_pending
        )

    async def commit(self, entry: AuditEntry) -> None:
        """Return once `entry` is committed; AuditNotCommitted if that takes too long.

        On timeout the record stays queued and is written when the log recovers: what the
        exchange did is never lost, but the caller must not be told it succeeded.
        """
        loop = asyncio.get_running_loop()
        committed: asyncio.Future[None] = loop.create_future()
        self._pending.append(_Pending(entry, committed, time.monotonic()))
        self._drained.clear()
        if not self._flush_scheduled and not self._write_failing:
            self._flush_scheduled = True
            # Runs after the callbacks already due this turn: their records join this batch.
            loop.call_soon(self._flush)
        await committed

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> None:
        """Wait until everything enqueued so far is committed."""
        while self._pending:
            await self._drained.wait()

    async def ping(self) -> bool:
        if self._db is None or not self.accepting:
            return False
        try:
            await self._on_side(lambda db: db.execute("SELECT 1").fetchone())
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
        rows = await self._on_side(lambda db: db.execute(sql, args).fetchall())
        return [_to_record(tuple(row)) for row in rows]

    async def count(self) -> int:
        await self.flush()
        row = await self._on_side(lambda db: db.execute("SELECT COUNT(*) FROM audit").fetchone())
        return int(row[0]) if row else 0

    def _flush(self) -> None:
        """On the loop: commit what is pending, one transaction per `batch_size` records."""
        self._flush_scheduled = False
        if self._db is None:
            return
        while self._pending:
            batch = self._pending[: self._batch_size]
            try:
                self._commit_rows(batch)
            except Exception:  # keep the batch; a record once accepted is never dropped
                self._failed(len(batch))
                return
            del self._pending[: len(batch)]
            for waiting in batch:
                if not waiting.committed.done():
                    waiting.committed.set_result(None)
        if self._write_failing:
            log.warning("audit writes recovered")
            self._write_failing = False
            self._retry_delay = 0.0
        self._drained.set()
        self._maybe_checkpoint()

    def _commit_rows(self, batch: list[_Pending]) -> None:
        """The records, chained, and the chain's new head, in one transaction."""
        db = self._connection()
        rows = []
        prev = self._last_hash
        for waiting in batch:
            values = _VALUES(waiting.entry)
            digest = chain_hash(prev, values)
            rows.append((*values, prev, digest))
            prev = digest
        try:
            db.executemany(_INSERT, rows)
            (last_id,) = db.execute("SELECT last_insert_rowid()").fetchone()
            db.execute(UPSERT_HEAD, (last_id, prev, head_mac(self._key, last_id, prev)))
            db.commit()
        except BaseException:
            db.rollback()
            raise
        self._last_hash = prev
        self.written += len(batch)
        self._commits_since_checkpoint += 1

    def _failed(self, size: int) -> None:
        if not self._write_failing:
            log.exception("audit write of %d records failed; retrying", size)
        self._write_failing = True
        self._retry_delay = min(max(self._retry_delay * 2, 0.05), 1.0)
        loop = asyncio.get_running_loop()
        self._flush_scheduled = True
        loop.call_later(self._retry_delay, self._flush)
        if self._expiry is None:
            self._expiry = loop.call_later(self._commit_timeout, self._expire_waiters)

    def _expire_waiters(self) -> None:
        """Tell whoever waited too long that their record is not committed (it stays queued)."""
        self._expiry = None
        now = time.monotonic()
        oldest_left: float | None = None
        for waiting in self._pending:
            if waiting.committed.done():
                continue
            if now - waiting.since >= self._commit_timeout:
                waiting.committed.set_exception(
                    AuditNotCommitted(
                        f"audit record {waiting.entry.message_id} not committed within "
                        f"{self._commit_timeout:g} s"
                    )
                )
            elif oldest_left is None:
                oldest_left = waiting.since
        if oldest_left is not None:
            delay = self._commit_timeout - (now - oldest_left)
            self._expiry = asyncio.get_running_loop().call_later(delay, self._expire_waiters)

    def _maybe_checkpoint(self) -> None:
        if self._finish_checkpoint:
            self._finish_checkpoint = False
            # The side thread copied nearly all of the WAL back (and synced the database),
            # but the writer kept appending meanwhile, so it never sees the WAL complete and
            # SQLite never starts the WAL over: under steady load it grew without end (gigabytes
            # in a benchmark). Copying here, between transactions, the few frames written since
            # completes it; the next transaction then starts the WAL from the beginning.
            try:
                self._connection().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error as exc:  # the WAL keeps everything; the next round tries again
                log.warning("audit checkpoint failed: %s", exc)
            return
        if self._commits_since_checkpoint < CHECKPOINT_EVERY_COMMITS or self._checkpointing:
            return
        self._commits_since_checkpoint = 0
        self._checkpointing = True
        task = asyncio.ensure_future(self._on_side(_checkpoint))
        task.add_done_callback(self._checkpointed)

    def _checkpointed(self, task: asyncio.Future[None]) -> None:
        self._checkpointing = False
        if task.cancelled():
            return
        if task.exception() is not None:
            # Not a lost record: the WAL keeps everything; the next checkpoint tries again.
            log.warning("audit checkpoint failed: %s", task.exception())
            return
        self._finish_checkpoint = True


def _checkpoint(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()


def _to_record(row: tuple[object, ...]) -> AuditRecord:
    names = ("id", *FIELDS, "prev_hash", "hash")
    values = dict(zip(names, row, strict=True))
    values["time"] = datetime.fromtimestamp(float(values["time"]), UTC)  # type: ignore[arg-type]
    return AuditRecord.model_validate(values)
