"""Node logs: one JSON object per line for machines, the same records rendered for people.

A node process writes JSON lines (GSP_LOG_FORMAT=json, the default) so that `jq`, a log
shipper or `gsp-sandbox logs --message-id` can pick out one exchange across every hop;
GSP_LOG_FORMAT=pretty, or `gsp-sandbox logs --pretty` over the JSON files, shows the same
records as aligned text. Fields other than the fixed ones come from `extra=` on the call
(the exchange log puts message_id, consumer, service, status, duration_ms there).

Logs are plain text: control characters (an ANSI colour code, a newline forging a second
line) are written as visible escapes (`\x1b`), whether they came from a caller's path or
from a library; uvicorn's `color_message`, a coloured copy of the message, is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson

LogFormat = Literal["json", "pretty"]

# In DATA_DIR/logs beside the node logs: which node each packed worker's log holds (the
# launcher writes it, `gsp-sandbox logs` reads it).
WORKERS_FILE = "workers.json"

# The node whose server the running code serves, in a process that serves several (a
# worker): every task of a node's server inherits it, so each record names its own node.
current_node: ContextVar[str | None] = ContextVar("current_node", default=None)

# Everything a LogRecord carries by itself; any other attribute came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_FIXED = ("time", "level", "node", "logger", "message")
# Shown first, in this order, after the message; other extras follow by name.
_LEADING_EXTRAS = ("message_id", "consumer", "service", "status", "duration_ms")
# Extras libraries attach for their own coloured console output.
_DROPPED_EXTRAS = frozenset({"color_message"})
# C0 and C1 controls and DEL; a traceback keeps its line breaks (and tabs), nothing else does.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROLS_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def plain(value: Any, *, multiline: bool = False) -> Any:
    """A string with its control characters made visible; anything else as it is."""
    if not isinstance(value, str) or value.isprintable():  # the common case, checked in C
        return value
    return (_CONTROLS_BUT_LINES if multiline else _CONTROLS).sub(_escape, value)


def _iso(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


def record_fields(record: logging.LogRecord, node: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "time": _iso(record.created),
        "level": record.levelname.lower(),
        "node": current_node.get() or node,
        "logger": record.name,
        # uvicorn ends some messages with a newline; a message is one line.
        "message": plain(record.getMessage().rstrip("\n")),
    }
    for key, value in record.__dict__.items():
        if (
            key not in _RECORD_ATTRIBUTES
            and key not in _DROPPED_EXTRAS
            and not key.startswith("_")
            and value is not None
        ):
            fields[key] = plain(value)
    if record.exc_info:
        exception = logging.Formatter().formatException(record.exc_info)
        fields["exception"] = plain(exception, multiline=True)
    return fields


class JsonFormatter(logging.Formatter):
    def __init__(self, node: str) -> None:
        super().__init__()
        self._node = node

    def format(self, record: logging.LogRecord) -> str:
        # orjson: a line per exchange is on the request path; it writes UTF-8 as is.
        return orjson.dumps(record_fields(record, self._node), default=str).decode()


def render_pretty(fields: dict[str, Any]) -> str:
    """One line a person reads: time, node, level, message, then key=value extras.

    Made plain again here: the fields may come from a file written before logs were, or
    by something else, and this is what reaches a terminal.
    """
    stamp = plain(str(fields.get("time", "")))
    clock = stamp[11:23] if len(stamp) >= 23 else stamp
    extras = {
        plain(str(k)): v
        for k, v in fields.items()
        if k not in _FIXED and k != "exception" and k not in _DROPPED_EXTRAS
    }
    ordered = [k for k in _LEADING_EXTRAS if k in extras] + sorted(
        k for k in extras if k not in _LEADING_EXTRAS
    )
    tail = " ".join(f"{k}={plain(str(extras[k]))}" for k in ordered if extras[k] is not None)
    node, level = plain(str(fields.get("node", "-"))), plain(str(fields.get("level", "")))
    line = f"{clock} {node:<22} {level.upper():<7} {plain(str(fields.get('message', '')))}"
    if tail:
        line += f"  {tail}"
    if fields.get("exception"):
        line += "\n" + plain(str(fields["exception"]), multiline=True)
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


class TurnBufferedHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Lines logged during one turn of the event loop are written together at its end.

    Under load a platform logs a line per exchange; writing each with its own flush was a
    system call per request on the hot path. Lines logged outside a running loop (start-up,
    another thread) are written at once, with whatever was waiting before them, so the
    order is kept. A SIGKILL loses at most the current turn's lines: the audit log, not this,
    is the durable record.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._lines: list[str] = []
        self._scheduled = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record) + self.terminator)
        except Exception:  # logging never raises into the caller
            self.handleError(record)
            return
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        with self.lock or contextlib.nullcontext():
            self._scheduled = False
            if self._lines:
                lines, self._lines = self._lines, []
                self.stream.write("".join(lines))
            super().flush()


def configure_logging(node: str, level: str, fmt: LogFormat) -> None:
    """The process's one log handler, on stderr (a node's stderr is its log file)."""
    handler = TurnBufferedHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(node) if fmt == "json" else PrettyFormatter(node))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Records name their node, never their thread or process (the formatters above read
    # neither): not looked up for every record, a line per exchange on the hot path.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # One line per HTTP call the platform makes (health checks every second) would bury
    # the exchanges; the exchange log already says what each call did.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
