"""Datasets as data: their specs (datasets.yaml) and the rows generated from a seed."""

from __future__ import annotations

import random
from datetime import date, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from services.common.sampledata import DISTRICTS, Citizen, citizens

SPEC_FILE = Path(__file__).with_name("datasets.yaml")


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(
        pattern=r"^(id|person|cccd|date|year|int|money|phone|commune|district|"
        r"choice|text)$"
    )
    prefix: str = ""
    values: list[str] = Field(default_factory=list)
    min: int = 0
    max: int = 100


class DatasetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    collection: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9]*$")
    count: int = Field(ge=0, le=10_000)
    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    fixed: list[dict[str, Any]] = Field(default_factory=list)
    id_field: str | None = None

    @property
    def key(self) -> str:
        return self.id_field or next(iter(self.fields))


@cache
def specs() -> dict[str, DatasetSpec]:
    raw = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    return {name: DatasetSpec(name=name, **body) for name, body in raw.items()}


def dataset_names() -> list[str]:
    return sorted(specs())


def dataset_spec(name: str) -> DatasetSpec:
    try:
        return specs()[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(dataset_names())}") from None


def _value(rng: random.Random, spec: FieldSpec, n: int, person: Citizen) -> Any:
    match spec.kind:
        case "id":
            return f"{spec.prefix}-{n + 1:05d}"
        case "person":
            return person.ho_ten
        case "cccd":
            return person.so_dinh_danh
        case "date":
            return (date(2022, 1, 1) + timedelta(days=rng.randint(0, 1000))).isoformat()
        case "year":
            return rng.randint(2005, 2023)
        case "int":
            return rng.randint(spec.min, spec.max)
        case "money":
            return rng.randint(1, 5000) * 1_000_000
        case "phone":
            return f"09{rng.randint(0, 99_999_999):08d}"
        case "commune":
            return rng.choice([x for xs in DISTRICTS.values() for x in xs])
        case "district":
            return rng.choice(list(DISTRICTS))
        case _:  # choice, text
            return rng.choice(spec.values)


@lru_cache(maxsize=64)
def rows(name: str, seed: int) -> tuple[dict[str, Any], ...]:
    spec = dataset_spec(name)
    if spec.fixed:
        return tuple(spec.fixed)
    rng = random.Random(f"generic:{name}:{seed}")
    people = citizens(seed)
    out = []
    for n in range(spec.count):
        # One person per row, so a row's citizen ID is that of the person it names.
        person = rng.choice(people)
        out.append({field: _value(rng, f, n, person) for field, f in spec.fields.items()})
    return tuple(out)
