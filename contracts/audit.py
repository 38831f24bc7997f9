"""The audit record: what a platform keeps of every exchange, declared once.

`AuditEntry` is the one declaration of the record's fields and their order. Everything else
derives from it: the field list the hash chain covers (`AUDIT_FIELDS`, whose order is part of
the chain's format), the SQL table (`audit_table_sql`), and the API view of a stored record
(`AuditRecord`: the same fields with the time as a date and the row's id and hashes).
Bodies are never kept, only their size and SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from types import NoneType, UnionType
from typing import TYPE_CHECKING, Any, get_args, get_type_hints

from pydantic import BaseModel, Field, create_model


def _doc(text: str) -> Any:
    return field(metadata={"description": text})


@dataclass(slots=True)
class AuditEntry:
    """One exchange, as the platform answered it."""

    time: float = _doc("when the exchange was answered (seconds since the epoch, UTC)")
    platform: str = _doc("the platform that answered")
    message_id: str = _doc("X-Message-Id: the same on every hop of one call")
    consumer: str | None = _doc("the authenticated caller of this hop")
    origin_consumer: str | None = _doc("the first hop's caller, relayed by platforms")
    service: str | None = _doc("service code (documents, admin, ... for the platform's own API)")
    version: str | None = _doc("service version")
    method: str = _doc("HTTP method")
    path: str = _doc("request path, without the query")
    status: int = _doc("HTTP status answered")
    duration_ms: float = _doc("time from receipt to answer")
    request_bytes: int = _doc("size of the request body")
    response_bytes: int = _doc("size of the response body")
    outcome: str = _doc("ok, or the problem type slug when the exchange failed")
    request_hash: str = _doc("SHA-256 of the request body (bodies are not kept)")
    response_hash: str = _doc("SHA-256 of the response body")


AUDIT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AuditEntry))
_HINTS = get_type_hints(AuditEntry)
_SQL_TYPES: dict[type, str] = {str: "TEXT", int: "INTEGER", float: "REAL"}


def _column(name: str) -> str:
    hint = _HINTS[name]
    nullable = isinstance(hint, UnionType) and NoneType in get_args(hint)
    base = next(a for a in get_args(hint) if a is not NoneType) if nullable else hint
    return f"{name} {_SQL_TYPES[base]}{'' if nullable else ' NOT NULL'}"


def audit_table_sql(table: str = "audit") -> str:
    """The table: a row id, the entry's fields in order, then the chain's two hashes."""
    columns = ",\n    ".join(_column(n) for n in AUDIT_FIELDS)
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (\n"
        "    id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
        f"    {columns},\n"
        "    prev_hash TEXT NOT NULL,\n"
        "    hash TEXT NOT NULL\n"
        ");"
    )


def _record_model() -> type[BaseModel]:
    definitions: dict[str, Any] = {"id": (int, ...)}
    for f in fields(AuditEntry):
        kind = datetime if f.name == "time" else _HINTS[f.name]
        definitions[f.name] = (kind, Field(description=f.metadata["description"]))
    definitions["prev_hash"] = (
        str,
        Field(description="hash of the previous record: the log is a hash chain"),
    )
    definitions["hash"] = (
        str,
        Field(description="SHA-512 over this record's fields and prev_hash"),
    )
    return create_model("AuditRecord", __doc__="One stored audit record.", **definitions)


if TYPE_CHECKING:

    class AuditRecord(BaseModel):
        """A stored record: AuditEntry's fields (time as a date), id, prev_hash, hash."""

        def __getattr__(self, name: str) -> Any: ...

else:
    AuditRecord = _record_model()


class AuditPage(BaseModel):
    records: list[AuditRecord]
