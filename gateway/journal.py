"""The request journal: the most recent exchanges in memory, and the near misses.

The audit log is the permanent record; this is the developer's view of "what just
happened": the last calls by message id, and calls that matched no service together with
the service path they were probably meant for.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime

from contracts.platform import JournalEntry
from gateway.audit import AuditEntry


class Journal:
    def __init__(self, size: int = 500) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._misses: deque[JournalEntry] = deque(maxlen=size)

    def add(self, entry: AuditEntry, closest: str | None = None) -> None:
        item = JournalEntry(
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
        )
        self._entries.append(item)
        if entry.outcome == "unknown-service":
            self._misses.append(item)

    def recent(self, limit: int, message_id: str | None = None) -> list[JournalEntry]:
        found = [e for e in reversed(self._entries) if message_id in (None, e.message_id)]
        return found[:limit]

    def near_misses(self, limit: int) -> list[JournalEntry]:
        return list(reversed(self._misses))[:limit]

    def clear(self) -> None:
        self._entries.clear()
        self._misses.clear()
