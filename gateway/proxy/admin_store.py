"""Changes an administrator made at run time, kept in SQLite and replayed at start-up.

The topology file is the starting point; these changes are applied over it in order, so a
restart keeps every registration and grant made through the admin API.
"""

from __future__ import annotations

import time
from pathlib import Path

import aiosqlite

from apikit.sqlite import open_sqlite
from gateway.proxy.registry import Registry
from gateway.spec import RouteSpec
from gateway.trust.access import AccessRights

_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    admin TEXT NOT NULL,
    kind TEXT NOT NULL,      -- register | unregister | grant | revoke
    subject TEXT NOT NULL,   -- a route spec (JSON), code/version, or consumer id
    code TEXT                -- the service code of a grant or revoke
);
"""


class AdminStore:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: aiosqlite.Connection | None = None

    async def open(self) -> None:
        self._db = await open_sqlite(self._path, schema=_SCHEMA, synchronous="FULL")

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def replay(self, registry: Registry, access: AccessRights) -> None:
        assert self._db is not None
        async with self._db.execute("SELECT kind, subject, code FROM changes ORDER BY id") as cur:
            async for kind, subject, code in cur:
                _apply(registry, access, kind, subject, code)

    async def save(
        self,
        registry: Registry,
        access: AccessRights,
        *,
        admin: str,
        kind: str,
        subject: str,
        code: str | None = None,
    ) -> None:
        """Commit first, then apply: what a caller was told was done survives a restart."""
        assert self._db is not None
        await self._db.execute(
            "INSERT INTO changes (time, admin, kind, subject, code) VALUES (?, ?, ?, ?, ?)",
            (time.time(), admin, kind, subject, code),
        )
        await self._db.commit()
        _apply(registry, access, kind, subject, code)


def _apply(
    registry: Registry, access: AccessRights, kind: str, subject: str, code: str | None
) -> None:
    if kind == "register":
        registry.register(RouteSpec.model_validate_json(subject))
    elif kind == "unregister":
        service, _, version = subject.partition("/")
        registry.remove(service, version)
    elif kind == "grant" and code:
        access.grant(subject, code)
    elif kind == "revoke" and code:
        access.revoke(subject, code)
