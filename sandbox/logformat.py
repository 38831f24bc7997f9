"""Node logs: one JSON object per line for machines, the same records rendered for people.

A node process writes JSON lines (GSP_LOG_FORMAT=json, the default) so that `jq`, a log
shipper or `gsp-sandbox logs --message-id` can pick out one exchange across every hop;
GSP_LOG_FORMAT=pretty, or `gsp-sandbox logs --pretty` over the JSON files, shows the same
records as aligned text. Fields other than the fixed ones come from `extra=` on the call
(the exchange log puts message_id, consumer, service, status, duration_ms there).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

LogFormat = Literal["json", "pretty"]

# Everything a LogRecord carries by itself; any other attribute came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_FIXED = ("time", "level", "node", "logger", "message")
# Shown first, in this order, after the message; other extras follow by name.
_LEADING_EXTRAS = ("message_id", "consumer", "service", "status", "duration_ms")


def _iso(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


def record_fields(record: logging.LogRecord, node: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "time": _iso(record.created),
        "level": record.levelname.lower(),
        "node": node,
        "logger": record.name,
        "message": record.getMessage(),
    }
    for key, value in record.__dict__.items():
        if key not in _RECORD_ATTRIBUTES and not key.startswith("_") and value is not None:
            fields[key] = value
    if record.exc_info:
        fields["exception"] = logging.Formatter().formatException(record.exc_info)
    return fields


class JsonFormatter(logging.Formatter):
    def __init__(self, node: str) -> None:
        super().__init__()
        self._node = node

    def format(self, record: logging.LogRecord) -> str:
        # orjson: a line per exchange is on the request path; it writes UTF-8 as is.
        return orjson.dumps(record_fields(record, self._node), default=str).decode()


def render_pretty(fields: dict[str, Any]) -> str:
    """One line a person reads: time, node, level, message, then key=value extras."""
    stamp = str(fields.get("time", ""))
    clock = stamp[11:23] if len(stamp) >= 23 else stamp
    extras = {k: v for k, v in fields.items() if k not in _FIXED and k != "exception"}
    ordered = [k for k in _LEADING_EXTRAS if k in extras] + sorted(
        k for k in extras if k not in _LEADING_EXTRAS
    )
    tail = " ".join(f"{k}={extras[k]}" for k in ordered if extras[k] is not None)
    line = (
        f"{clock} {fields.get('node', '-'):<22} {str(fields.get('level', '')).upper():<7} "
        f"{fields.get('message', '')}"
    )
    if tail:
        line += f"  {tail}"
    if fields.get("exception"):
        line += "\n" + str(fields["exception"])
    return line


class PrettyFormatter(logging.Formatter):
    def __init__(self, node: str) -> None:
        super().__init__()
        self._node = node

    def format(self, record: logging.LogRecord) -> str:
        return render_pretty(record_fields(record, self._node))


def parse_line(line: str) -> dict[str, Any] | None:
    """A JSON log record, or None for anything else a process printed (a traceback, say)."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        fields = json.loads(text)
    except ValueError:
        return None
    return fields if isinstance(fields, dict) and "message" in fields else None


def configure_logging(node: str, level: str, fmt: LogFormat) -> None:
    """The process's one log handler, on stderr (a node's stderr is its log file)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(node) if fmt == "json" else PrettyFormatter(node))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # One line per HTTP call the platform makes (health checks every second) would bury
    # the exchanges; the exchange log already says what each call did.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
