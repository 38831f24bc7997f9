"""The request journal: the most recent exchanges in memory, and the near misses.

The audit log is the permanent record; this is the developer's view of "what just
happened": the last calls by message id, and calls that matched no service together with
the service path they were probably meant for.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime

from contracts.audit import AuditEntry
from contracts.platform import JournalEntry

_Kept = tuple[AuditEntry, str | None, str | None]


def _view(entry: AuditEntry, closest: str | None, detail: str | None) -> JournalEntry:
    return JournalEntry(
        time=datetime.fromtimestamp(entry.time, UTC),
        message_id=entry.message_id,
        consumer=entry.consumer,
        service=entry.service,
        method=entry.method,
        path=entry.path,
        status=entry.status,
        outcome=entry.outcome,
        duration_ms=round(entry.duration_ms, 3),
        closest=closest,
        detail=detail,
    )


class Journal:
    """Keeps the raw entries: the hot path only appends; views are built when read."""

    def __init__(self, size: int = 500) -> None:
        self._entries: deque[_Kept] = deque(maxlen=size)
        self._misses: deque[_Kept] = deque(maxlen=size)

    def add(self, entry: AuditEntry, closest: str | None = None, detail: str | None = None) -> None:
        self._entries.append((entry, closest, detail))
        if entry.outcome == "unknown-service":
            self._misses.append((entry, closest, detail))

    def recent(self, limit: int, message_id: str | None = None) -> list[JournalEntry]:
        found = [
            _view(*kept)
            for kept in reversed(self._entries)
            if message_id in (None, kept[0].message_id)
        ]
        return found[:limit]

    def near_misses(self, limit: int) -> list[JournalEntry]:
        return [_view(*kept) for kept in list(reversed(self._misses))[:limit]]

    def clear(self) -> None:
        self._entries.clear()
        self._misses.clear()
