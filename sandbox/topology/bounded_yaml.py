"""YAML from a file someone else wrote, bounded before anything is built from it.

PyYAML's composer and constructor recurse once per level of nesting, so a file of a few
thousand `[` ends in RecursionError, and aliases let a few hundred bytes stand for a billion
nodes (which yaml shares, but anything that walks the result, pydantic included, does not).
The parser underneath is iterative, so its event stream is walked first, counting depth and
nodes with every alias expanded; only a document within the bounds is then loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import yaml

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 100_000


class _Mark(Protocol):
    """A position in the text: PyYAML's Mark, or libyaml's (the C parser) in an event."""

    @property
    def line(self) -> int: ...

    @property
    def column(self) -> int: ...


class YamlRejected(ValueError):
    """Why a file was not loaded, in one line (no file name: the caller adds it)."""


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The file's text; YamlRejected when it is larger than max_bytes or not UTF-8.

    OSError (missing, a folder, no permission) is the caller's to report.
    """
    with path.open("rb") as stream:
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise YamlRejected(f"larger than {max_bytes:,} bytes: not a topology file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlRejected(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): a binary file?"
        ) from None


def one_line(exc: yaml.YAMLError) -> str:
    """PyYAML's error, which spans several lines, as one."""
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = []
        if exc.context:
            parts.append(exc.context + _at(exc.context_mark))
        if exc.problem:
            parts.append(exc.problem + _at(exc.problem_mark))
        if parts:
            return "; ".join(parts)
    return " ".join(str(exc).split()).replace(' in "<unicode string>",', " at")


def _at(mark: _Mark | None) -> str:
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


def check_bounds(
    text: str,
    *,
    loader: type[yaml.SafeLoader] = yaml.SafeLoader,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> None:
    """YamlRejected when the document nests deeper than max_depth or, aliases expanded,
    holds more than max_nodes nodes; yaml.YAMLError when it is not YAML at all."""
    open_sizes: list[int] = []  # per open collection: nodes in it so far
    open_anchors: list[str | None] = []
    anchored: dict[str, int] = {}  # anchor -> nodes an alias to it stands for
    total = 0

    def add(nodes: int, mark: _Mark | None) -> None:
        nonlocal total
        if open_sizes:
            open_sizes[-1] += nodes
            counted = open_sizes[-1]
        else:
            total += nodes
            counted = total
        if counted > max_nodes:
            raise YamlRejected(
                f"more than {max_nodes:,} values once aliases are expanded{_at(mark)}"
            )

    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                anchored[event.anchor] = 1
            add(1, event.start_mark)
        elif isinstance(event, yaml.AliasEvent):
            # An alias always names its anchor; an unknown one is the parser's error.
            add(anchored.get(event.anchor or "", 1), event.start_mark)
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(open_sizes) >= max_depth:
                raise YamlRejected(
                    f"nested more than {max_depth} levels deep{_at(event.start_mark)}"
                )
            open_sizes.append(1)
            open_anchors.append(event.anchor)
        elif isinstance(event, yaml.CollectionEndEvent):
            size, anchor = open_sizes.pop(), open_anchors.pop()
            if anchor:
                anchored[anchor] = size
            add(size, event.start_mark)


def load_bounded(text: str, **bounds: Any) -> Any:
    """yaml.safe_load, after check_bounds."""
    check_bounds(text, **bounds)
    return yaml.safe_load(text)
