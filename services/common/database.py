"""A back end's own SQLite file: opened once per app, WAL, closed on shutdown.

Every request of the app shares the one connection, so one transaction: a statement is run
and read to its end in a single call to aiosqlite's thread (execute_fetchall), never left
half-read across an await, because a COMMIT fails while any statement of the connection is
still in progress ("cannot commit transaction - SQL statements in progress").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import aiosqlite

from apikit.sqlite import open_sqlite


class Database:
    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self._schema = schema
        self._db: aiosqlite.Connection | None = None

    async def open(self) -> None:
        self._db = await open_sqlite(self.path, schema=self._schema, rows_as_mappings=True)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def ping(self) -> bool:
        if self._db is None:
            return False
        try:
            await self._db.execute_fetchall("SELECT 1")
        except Exception:  # any failure means the dependency is down
            return False
        return True

    async def clear(self) -> list[str]:
        """Delete every row of every table; the names of the tables cleared."""
        rows = await self.all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        names = [r["name"] for r in rows]
        for name in names:
            await self.connection.execute_fetchall(f'DELETE FROM "{name}"')
        await self.connection.commit()
        return names

    @property
    def connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError(f"database {self.path} is not open")
        return self._db

    async def write(self, sql: str, args: Iterable[Any] = ()) -> None:
        """Execute one statement and commit."""
        await self.connection.execute_fetchall(sql, tuple(args))
        await self.connection.commit()

    async def write_returning(
        self, sql: str, args: Iterable[Any] | Mapping[str, Any] = ()
    ) -> dict[str, Any] | None:
        """Execute one statement with RETURNING and commit; its first row, if any.

        The statement is the unit of atomicity: what it reads and what it writes happen
        under one write lock, however many requests (or processes) write at once.
        """
        params = args if isinstance(args, Mapping) else tuple(args)
        rows = list(await self.connection.execute_fetchall(sql, params))
        await self.connection.commit()
        return dict(rows[0]) if rows else None

    async def one(self, sql: str, args: Iterable[Any] = ()) -> dict[str, Any] | None:
        rows = list(await self.connection.execute_fetchall(sql, tuple(args)))
        return dict(rows[0]) if rows else None

    async def all(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.connection.execute_fetchall(sql, tuple(args))]
