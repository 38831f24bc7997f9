"""Load a topology file (a shipped name or a path) and explain what is wrong with a bad one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from contracts.topology import Mailbox, Service, Topology
from gateway.proxy.upstream_policy import static_refusal
from sandbox.topology.bounded_yaml import YamlRejected, load_bounded, one_line, read_text
from sandbox.topology.presets import PresetError, expand, is_generated

SHIPPED_DIR = Path(__file__).parent / "shipped"
DEFAULT_TOPOLOGY = "bac-giang-2022"
MAX_EXTENDS = 16
# A file can be wrong in thousands of places; the first ones say enough.
MAX_LISTED_PROBLEMS = 20


class TopologyError(ValueError):
    """A topology file that cannot be used; the message names the file and the field."""


def shipped_topologies() -> list[str]:
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.yaml"))


def resolve_topology_path(ref: str | Path) -> Path:
    path = Path(ref)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return path
    shipped = SHIPPED_DIR / f"{ref}.yaml"
    if shipped.exists():
        return shipped
    raise TopologyError(
        f"{ref}: no such topology file, and not a shipped topology "
        f"(shipped: {', '.join(shipped_topologies())})"
    )


def _where(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _read(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The file's fields; with `extends: <topology>`, laid over that topology's fields."""
    if path in seen:
        raise TopologyError(f"{path}: extends: a cycle ({' -> '.join(map(str, seen))})")
    if len(seen) >= MAX_EXTENDS:
        raise TopologyError(f"{path}: extends: more than {MAX_EXTENDS} files deep")
    try:
        raw = load_bounded(read_text(path))
    except OSError as exc:
        raise TopologyError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except YamlRejected as exc:
        raise TopologyError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise TopologyError(f"{path}: not valid YAML: {one_line(exc)}") from None
    if not isinstance(raw, dict):
        raise TopologyError(f"{path}: (top level): expected a mapping of topology fields")
    if isinstance(raw.get("seeds"), str):  # relative to the file that names it
        raw["seeds"] = str(path.parent / raw["seeds"])
    if isinstance(raw.get("backends"), dict):  # an agency's own spec or cassette, likewise
        for backend in raw["backends"].values():
            for key in ("openapi", "replay"):
                if isinstance(backend, dict) and isinstance(backend.get(key), str):
                    backend[key] = str(path.parent / backend[key])
    base = raw.pop("extends", None)
    if base is None:
        return raw
    if not isinstance(base, str):
        raise TopologyError(f"{path}: extends: the name or path of another topology")
    sibling = path.parent / base  # a file path is relative to the file that extends it
    base_path = sibling if sibling.is_file() else resolve_topology_path(base)
    return {**_read(base_path, (*seen, path)), **raw}


def load_topology(ref: str | Path = DEFAULT_TOPOLOGY) -> Topology:
    path = resolve_topology_path(ref)
    raw = _read(path)
    if is_generated(raw):
        # A short description (the national preset): expanded here, so every command and
        # test sees the same full topology.
        try:
            raw = expand(raw, lambda preset: _read(resolve_topology_path(preset)))
        except PresetError as exc:
            raise TopologyError(f"{path}: {exc}") from None
    try:
        topology = Topology.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{path}: {exc.error_count()} problem(s) in the topology"]
        for err in exc.errors()[:MAX_LISTED_PROBLEMS]:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"  {_where(err['loc'])}: {msg}")
        if exc.error_count() > MAX_LISTED_PROBLEMS:
            lines.append(f"  … and {exc.error_count() - MAX_LISTED_PROBLEMS} more")
        raise TopologyError("\n".join(lines)) from None
    _check_addresses(path, topology)
    return topology


def _check_addresses(path: Path, topology: Topology) -> None:
    """The upstream policy, on the URLs a file gives (not resolved: a file may name hosts
    that exist only where it runs, e.g. compose services; a platform checks at connect)."""
    lines = []
    sources: tuple[tuple[str, Sequence[Service | Mailbox]], ...] = (
        ("services", topology.services),
        ("mailboxes", topology.mailboxes),
    )
    for kind, entries in sources:
        for i, entry in enumerate(entries):
            if entry.address is not None:
                reason = static_refusal(str(entry.address))
                if reason is not None:
                    lines.append(f"  {kind}[{i}].address: {reason}")
    if lines:
        lines.insert(0, f"{path}: {len(lines)} problem(s) in the topology")
        raise TopologyError("\n".join(lines))
