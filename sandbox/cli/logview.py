"""`gsp-sandbox logs`: the node logs of a sandbox started with `up`, whole or followed.

Each node writes JSON lines to DATA_DIR/logs/NODE.log (sandbox.runtime.logformat). This reads them
as they are, or rendered for people with --pretty, and picks out one exchange across every
node with --message-id. Nodes packed into a worker share its log (logs/worker-N.log, named
in logs/workers.json); each record names its node, so one node's lines are picked out of it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.runtime.logformat import WORKERS_FILE, parse_line, plain, render_pretty

POLL_SECONDS = 0.25


class NoLogs(LookupError):
    pass


def log_files(data_dir: Path, nodes: list[str]) -> dict[str, Path]:
    folder = data_dir / "logs"
    found = {p.stem: p for p in sorted(folder.glob("*.log"))} if folder.is_dir() else {}
    if not nodes:
        if not found:
            raise NoLogs(f"no logs in {folder}: start the sandbox with `gsp-sandbox up` first")
        return found
    packed = _packed_nodes(folder)
    for node in nodes:
        if node not in found and packed.get(node) in found:
            found[node] = found[packed[node]]
    missing = [n for n in nodes if n not in found]
    if missing:
        known = ", ".join(found) or "none"
        raise NoLogs(f"no log for {', '.join(missing)} in {folder} (there are: {known})")
    return {n: found[n] for n in nodes}


def _packed_nodes(folder: Path) -> dict[str, str]:
    """Each packed node's worker, as the launcher of the last `up` wrote them."""
    try:
        workers = json.loads((folder / WORKERS_FILE).read_text(encoding="utf-8"))
        return {node: worker for worker, nodes in workers.items() for node in nodes}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


@dataclass
class LogLine:
    node: str
    text: str
    fields: dict[str, object] | None

    @property
    def time(self) -> str:
        return str(self.fields.get("time", "")) if self.fields else ""

    def render(self, pretty: bool) -> str:
        if pretty and self.fields is not None:
            return render_pretty(self.fields)
        # A line that is not a JSON record is whatever a process printed: made plain too.
        if pretty:
            return f"{'':12} {self.node:<22} {plain(self.text)}"
        return self.text if self.fields is not None else plain(self.text)


def matches(line: LogLine, message_id: str | None) -> bool:
    if message_id is None:
        return True
    return line.fields is not None and line.fields.get("message_id") == message_id


@dataclass
class Tail:
    """New complete lines of one file since the last read; a partial last line waits."""

    node: str
    path: Path
    offset: int = 0
    _partial: bytes = field(default=b"")

    def read(self) -> list[LogLine]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self.offset:  # truncated or replaced: start again from the top
            self.offset, self._partial = 0, b""
        with self.path.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        self.offset += len(chunk)
        *complete, self._partial = (self._partial + chunk).split(b"\n")
        lines = []
        for raw in complete:
            text = raw.decode("utf-8", errors="replace").rstrip("\r")
            if not text.strip():
                continue
            fields = parse_line(text)
            # A worker's log read for one of its nodes: that node's records only.
            if self.path.stem != self.node and (fields is None or fields.get("node") != self.node):
                continue
            lines.append(LogLine(self.node, text, fields))
        return lines


def existing_lines(
    files: dict[str, Path], last: int, message_id: str | None
) -> tuple[list[LogLine], list[Tail]]:
    """The last `last` matching lines of all files together, in time order; tails at the end."""
    tails = [Tail(node, path) for node, path in files.items()]
    timed: list[tuple[str, int, LogLine]] = []
    for tail in tails:
        when = ""
        for line in tail.read():
            # A line without a time (a traceback) sorts with the record before it.
            when = line.time or when
            if matches(line, message_id):
                timed.append((when, len(timed), line))
    timed.sort(key=lambda item: item[:2])
    lines = [line for _, _, line in timed]
    return (lines[-last:] if last else lines), tails


def follow(
    tails: list[Tail],
    message_id: str | None,
    keep_going: Callable[[], bool] = lambda: True,
) -> Iterator[LogLine]:
    while keep_going():
        for tail in tails:
            for line in tail.read():
                if matches(line, message_id):
                    yield line
        time.sleep(POLL_SECONDS)
