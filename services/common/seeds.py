"""Reading seed folders and files (contracts/seeds.py), with errors that name the record.

A bad seed stops the sandbox at start-up with one line per problem:
`seeds/citizens.yaml: citizens[1] (024190012468): ngaySinh: Input should be a valid date…`
— the file, the record's index and id, the field, what is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.seeds import (
    SEED_ID_FIELD,
    SEED_KINDS,
    SeedCitizen,
    SeedDossier,
    SeedEnterprise,
    SeedFile,
    SeedKind,
)

SUFFIXES = (".yaml", ".yml", ".json")


class SeedError(ValueError):
    """Seed data that cannot be used; one line per problem, each naming file and record."""


class SeedSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GSP_", extra="ignore")

    seed_dir: Path | None = None  # GSP_SEED_DIR: a seed folder (or file) for every back end

    @field_validator("seed_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        # Compose passes an unset variable on as "" (GSP_SEED_DIR: ${GSP_SEED_DIR:-}): no seeds,
        # not the working directory.
        return None if value == "" else value


def seed_paths(topology_seeds: Path | None) -> list[Path]:
    """What a back end loads: the topology's `seeds:`, then GSP_SEED_DIR."""
    return [p for p in (topology_seeds, SeedSettings().seed_dir) if p is not None]


@dataclass(frozen=True)
class SeedSet:
    citizens: tuple[SeedCitizen, ...] = ()
    enterprises: tuple[SeedEnterprise, ...] = ()
    dossiers: tuple[SeedDossier, ...] = ()

    def summary(self) -> str:
        counts = (len(self.citizens), len(self.enterprises), len(self.dossiers))
        named = zip(counts, SEED_KINDS, strict=True)
        return ", ".join(f"{n} {kind if n != 1 else kind[:-1]}" for n, kind in named)


class _Loader(yaml.SafeLoader):
    """YAML without its 1.1 surprises: dates stay text (so a wrong date is named by the
    field check, not a parser crash) and 0-led digits stay text (not octal numbers)."""


_DROPPED = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)


def _files(path: Path, problems: list[str]) -> list[tuple[Path, SeedKind | None]]:
    """The seed files of a path: a folder's `<kind>.yaml` files, or the file itself."""
    if path.is_file():
        return [(path, None)]
    if not path.is_dir():
        problems.append(f"{path}: no such seed file or folder")
        return []
    found: list[tuple[Path, SeedKind | None]] = []
    for file in sorted(path.iterdir()):
        if file.suffix not in SUFFIXES:
            continue  # a README beside the seeds
        kind = next((k for k in SEED_KINDS if k == file.stem), None)
        if kind is None:
            problems.append(
                f"{file}: not a seed file: name it {', '.join(SEED_KINDS)} ({', '.join(SUFFIXES)})"
            )
            continue
        found.append((file, kind))
    return found


def _parse(file: Path) -> Any:
    text = file.read_text(encoding="utf-8")
    if file.suffix == ".json":
        return json.loads(text)
    return yaml.load(text, Loader=_Loader)


def _where(loc: Sequence[int | str], raw: dict[str, Any]) -> str:
    """`citizens[1] (024190012468): ngaySinh` from a pydantic error location."""
    if not loc:
        return "(top level)"
    kind, rest = str(loc[0]), list(loc[1:])
    out = kind
    if rest and isinstance(rest[0], int):
        index = int(rest.pop(0))
        out += f"[{index}]"
        records = raw.get(kind)
        record = records[index] if isinstance(records, list) else None
        field = SEED_ID_FIELD.get(kind)
        if isinstance(record, dict) and field and record.get(field) is not None:
            out += f" ({record[field]})"
    fields = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest).lstrip(".")
    return f"{out}: {fields}" if fields else out


def _read(file: Path, kind: SeedKind | None, problems: list[str]) -> SeedFile | None:
    try:
        parsed = _parse(file)
    except OSError as exc:
        problems.append(f"{file}: cannot read: {exc.strerror}")
        return None
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        kind_of_file = "JSON" if file.suffix == ".json" else "YAML"
        problems.append(f"{file}: not valid {kind_of_file}: {' '.join(str(exc).split())}")
        return None
    raw = {kind: parsed} if kind is not None else parsed
    if not isinstance(raw, dict):
        problems.append(f"{file}: (top level): expected a mapping of {', '.join(SEED_KINDS)}")
        return None
    try:
        return SeedFile.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{file}: {_where(err['loc'], raw)}: {message}")
        return None


def _unique(
    read: Iterable[tuple[Path, SeedFile]], problems: list[str]
) -> dict[SeedKind, list[Any]]:
    """Every record once: a second record with the same id is an error naming both."""
    merged: dict[SeedKind, list[Any]] = {k: [] for k in SEED_KINDS}
    first: dict[tuple[SeedKind, str], str] = {}
    for file, content in read:
        for kind in SEED_KINDS:
            for index, record in enumerate(getattr(content, kind)):
                field = SEED_ID_FIELD[kind]
                key = getattr(record, field)
                where = f"{file}: {kind}[{index}] ({key})"
                if (kind, key) in first:
                    problems.append(f"{where}: {field}: also seeded at {first[(kind, key)]}")
                    continue
                first[(kind, key)] = f"{file} {kind}[{index}]"
                merged[kind].append(record)
    return merged


def load_seeds(paths: Sequence[Path]) -> SeedSet:
    """Every record of these seed folders and files, checked; SeedError lists what is wrong."""
    problems: list[str] = []
    read: list[tuple[Path, SeedFile]] = []
    for path in paths:
        for file, kind in _files(path, problems):
            content = _read(file, kind, problems)
            if content is not None:
                read.append((file, content))
    merged = _unique(read, problems)
    if problems:
        raise SeedError("\n".join([f"{len(problems)} problem(s) in the seed data", *problems]))
    return SeedSet(
        citizens=tuple(merged["citizens"]),
        enterprises=tuple(merged["enterprises"]),
        dossiers=tuple(merged["dossiers"]),
    )
