"""The audit log's hash chain: each record's hash covers its fields and the previous hash.

Editing, inserting or deleting a row anywhere breaks every hash after it, so a verifier
that recomputes the chain names the first record that was changed.
"""

from __future__ import annotations

import hashlib
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
    digest = hashlib.sha512(prev_hash.encode())
    for value in values:
        digest.update(b"\x1f")  # unit separator: no field can run into the next
        digest.update(_canonical(value).encode("utf-8", errors="surrogatepass"))
    return digest.hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    records: int
    first_broken_id: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


def verify_chain(path: Path) -> ChainCheck:
    """Recompute every hash of an audit database, in id order (read-only)."""
    db = open_readonly(path)
    try:
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
    finally:
        db.close()
