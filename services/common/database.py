"""A back end's own SQLite file: opened once per app, WAL, closed on shutdown."""

from __future__ import annotations

from collections.abc import Iterable
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
            async with self._db.execute("SELECT 1") as cur:
                await cur.fetchone()
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
            await self.connection.execute(f'DELETE FROM "{name}"')
        await self.connection.commit()
        return names

    @property
    def connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError(f"database {self.path} is not open")
        return self._db

    async def write(self, sql: str, args: Iterable[Any] = ()) -> int:
        """Execute and commit; the row id of an insert."""
        cur = await self.connection.execute(sql, tuple(args))
        await self.connection.commit()
        return cur.lastrowid or 0

    async def one(self, sql: str, args: Iterable[Any] = ()) -> dict[str, Any] | None:
        async with self.connection.execute(sql, tuple(args)) as cur:
            row = await cur.fetchone()
        return dict(row) if row else None

    async def all(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
        async with self.connection.execute(sql, tuple(args)) as cur:
            rows = await cur.fetchall()
        return [dict(r) for r in rows]
