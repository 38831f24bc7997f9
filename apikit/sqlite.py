"""Opening a SQLite file, the same way for every store in the sandbox.

WAL so readers never wait for the writer, a busy timeout so a locked database is waited for
(and then reported) rather than failing at once, and the durability each store promises:
`NORMAL` survives a crash of the process, `FULL` a crash of the machine.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal

import aiosqlite

Synchronous = Literal["NORMAL", "FULL"]


async def open_sqlite(
    path: Path,
    *,
    schema: str,
    synchronous: Synchronous = "NORMAL",
    busy_timeout_seconds: float = 5.0,
    rows_as_mappings: bool = False,
) -> aiosqlite.Connection:
    """Create the file and its tables if needed; the open connection."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(path, timeout=busy_timeout_seconds)
    try:
        if rows_as_mappings:
            db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute(f"PRAGMA synchronous={synchronous}")
        await db.executescript(schema)
        await db.commit()
    except BaseException:
        await db.close()
        raise
    return db


def open_sqlite_sync(
    path: Path,
    *,
    schema: str,
    synchronous: Synchronous = "NORMAL",
    busy_timeout_seconds: float = 5.0,
) -> sqlite3.Connection:
    """The same, for a store that keeps its connection on a thread of its own."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=busy_timeout_seconds)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.executescript(schema)
        db.commit()
    except BaseException:
        db.close()
        raise
    return db


def open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection for offline checks: never creates or changes the file."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)
