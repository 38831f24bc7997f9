"""The tokens a platform has issued, as WSO2's key manager keeps them: a table, not a signature.

An opaque token means nothing by itself; the platform looks it up. The table lives in the
platform's data directory, so tokens survive a restart (as signed tokens do), and holds only
SHA-256 digests: a copy of the file gives no one a usable token. Revoked signed tokens are kept
here too (by digest, until they would have expired). Lookups are served from memory; a write
is one small SQLite transaction (issuing a token is rare next to using it).
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredToken:
    consumer_id: str
    expires_at: int
    revoked: bool = False


class TokenStore:
    _PRUNE_EVERY = 1000

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS tokens (digest TEXT PRIMARY KEY, consumer TEXT NOT NULL,"
            " expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)"
        )
        self._db.execute("DELETE FROM tokens WHERE expires_at <= ?", (int(time.time()),))
        self._tokens = {
            row[0]: StoredToken(row[1], row[2], bool(row[3]))
            for row in self._db.execute("SELECT digest, consumer, expires_at, revoked FROM tokens")
        }
        self._writes = 0

    def add(self, token: str, consumer_id: str, expires_at: int, *, revoked: bool = False) -> None:
        key = digest(token)
        self._db.execute(
            "INSERT OR REPLACE INTO tokens (digest, consumer, expires_at, revoked) "
            "VALUES (?, ?, ?, ?)",
            (key, consumer_id, expires_at, int(revoked)),
        )
        self._tokens[key] = StoredToken(consumer_id, expires_at, revoked)
        self._writes += 1
        if self._writes % self._PRUNE_EVERY == 0:
            self._prune()

    def find(self, token: str) -> StoredToken | None:
        return self._tokens.get(digest(token))

    def revoke(self, token: str) -> None:
        key = digest(token)
        self._db.execute("UPDATE tokens SET revoked = 1 WHERE digest = ?", (key,))
        found = self._tokens.get(key)
        if found is not None:
            self._tokens[key] = StoredToken(found.consumer_id, found.expires_at, True)

    def _prune(self) -> None:
        now = int(time.time())
        self._db.execute("DELETE FROM tokens WHERE expires_at <= ?", (now,))
        self._tokens = {k: t for k, t in self._tokens.items() if t.expires_at > now}

    def close(self) -> None:
        self._db.close()
