"""The audit log's hash chain: each record's hash covers its fields and the previous hash.

Editing, inserting or deleting a row anywhere breaks every hash after it, so a verifier
that recomputes the chain names the first record that was changed. Deleting the newest
records leaves a shorter chain that is still whole, so the chain's head (the last record's
id and hash) is anchored: written in the same transaction as the records, in a table of its
own, with an HMAC under a key kept in a separate file. A verifier that finds fewer records
than the head names, or a head whose MAC does not match, reports it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from apikit.sqlite import open_readonly
from contracts.audit import AUDIT_FIELDS

# The order is part of the format: hashes are computed over the fields in this order.
FIELDS = AUDIT_FIELDS
GENESIS = "0" * 128


def _canonical(value: object) -> str:
    if value is None:
        return "\x00"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def chain_hash(prev_hash: str, values: tuple[object, ...]) -> str:
    # The unit separator before each field: no field can run into the next. One string,
    # hashed once: the same bytes as feeding the fields one by one, at a fraction of the calls.
    text = prev_hash + "".join(["\x1f" + _canonical(value) for value in values])
    return hashlib.sha512(text.encode("utf-8", errors="surrogatepass")).hexdigest()


HEAD_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS audit_head (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    last_id INTEGER NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT NOT NULL
);
"""
UPSERT_HEAD = (
    "INSERT INTO audit_head (one, last_id, hash, mac) VALUES (1, ?, ?, ?) "
    "ON CONFLICT (one) DO UPDATE SET last_id = excluded.last_id, hash = excluded.hash, "
    "mac = excluded.mac"
)


def key_path_of(database: Path) -> Path:
    """Where the head's key lives: beside the database, never inside it."""
    return database.with_name(database.name.removesuffix(".sqlite3") + ".key")


def load_or_create_key(path: Path) -> bytes:
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    key = secrets.token_bytes(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(key.hex())
    return key


def head_mac(key: bytes, last_id: int, last_hash: str) -> str:
    return hmac.new(key, f"{last_id}:{last_hash}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    records: int
    first_broken_id: int | None = None
    reason: str | None = None
    # False when no key was found: the head was compared, but its MAC could not be checked.
    head_authenticated: bool = True

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


def verify_chain(path: Path, key_path: Path | None = None) -> ChainCheck:
    """Recompute every hash of an audit database in id order, then check the head (read-only)."""
    key_file = key_path or key_path_of(path)
    key = bytes.fromhex(key_file.read_text().strip()) if key_file.exists() else None
    db = open_readonly(path)
    try:
        check = _verify_records(db)
        if not check.intact:
            return check
        return _verify_head(db, check.records, key)
    finally:
        db.close()


def _verify_head(db: sqlite3.Connection, records: int, key: bytes | None) -> ChainCheck:
    last = db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    try:
        head = db.execute("SELECT last_id, hash, mac FROM audit_head").fetchone()
    except sqlite3.OperationalError:  # a log written before heads were anchored
        head = None
    if head is None:
        if last is None:
            return ChainCheck(0, head_authenticated=key is not None)
        return ChainCheck(records, last[0], "the chain's head is missing (it was removed)")
    head_id, head_hash, mac = head
    if key is not None and not hmac.compare_digest(mac, head_mac(key, head_id, head_hash)):
        return ChainCheck(records, head_id, "the chain's head does not match its MAC (forged)")
    if last is None or last[0] < head_id:
        after = last[0] if last is not None else 0
        return ChainCheck(
            records,
            after + 1,
            f"the head names record {head_id}, but the log ends at {after}: "
            "the newest records were removed",
        )
    if last[0] != head_id or last[1] != head_hash:
        return ChainCheck(
            records, head_id, "the records do not end at the anchored head (records appended)"
        )
    return ChainCheck(records, head_authenticated=key is not None)


def _verify_records(db: sqlite3.Connection) -> ChainCheck:
    rows = db.execute(f"SELECT id, {', '.join(FIELDS)}, prev_hash, hash FROM audit ORDER BY id")
    prev = GENESIS
    count = 0
    for row in rows:
        count += 1
        record_id, values, stored_prev, stored = row[0], row[1:-2], row[-2], row[-1]
        if stored_prev != prev:
            return ChainCheck(
                count,
                record_id,
                "its prev_hash is not the previous hash "
                "(a record before it was removed or inserted)",
            )
        if chain_hash(prev, values) != stored:
            return ChainCheck(
                count, record_id, "its fields do not match its hash (the record was edited)"
            )
        prev = stored
    return ChainCheck(count)
