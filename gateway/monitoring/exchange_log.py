"""One log line per audited exchange, carrying its message id: a log a person can follow.

An audit-log observer (like the live metrics), so every exchange the audit log accepts is
logged once, whichever path produced it (routed call, token, document, refusal). Fields
travel as `extra=`: the JSON formatter writes them as keys, `grep`/`jq` by message_id
finds one call's line on every platform it crossed.
"""

from __future__ import annotations

import logging

from contracts.audit import AuditEntry

log = logging.getLogger("gsp.exchange")


def _service(entry: AuditEntry) -> str | None:
    """`code/version` of a routed call; a platform's own API (documents) has no version."""
    if not entry.service:
        return None
    return f"{entry.service}/{entry.version}" if entry.version else entry.service


def log_exchange(entry: AuditEntry) -> None:
    level = logging.WARNING if entry.status >= 500 else logging.INFO
    # Checked first: with the log at warning (the harness, benchmarks) a good exchange
    # costs one comparison, not a record.
    if not log.isEnabledFor(level):
        return
    log.log(
        level,
        "%s %s -> %d %s",
        entry.method,
        entry.path,
        entry.status,
        entry.outcome,
        extra={
            "message_id": entry.message_id,
            "consumer": entry.consumer,
            # Only when another platform relayed the call: who asked in the first place.
            "origin_consumer": (
                entry.origin_consumer if entry.origin_consumer != entry.consumer else None
            ),
            "service": _service(entry),
            "status": entry.status,
            "duration_ms": round(entry.duration_ms, 2),
        },
    )
