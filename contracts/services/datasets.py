"""The datasets the generic data-driven service serves, declared as data (datasets.yaml).

Each declaration is part of a contract: its name makes the contract id
(`vn.gsp-sandbox.generic-dataset.<name>`), its collection the path, its fields the row
shape. How rows are generated from a seed is the back end's business
(services/generic/data.py); these datasets are the sandbox's own, not a published format
(`unverified` as shapes of any real agency's system).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

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
    raw: dict[str, dict[str, Any]] = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    return {name: DatasetSpec(name=name, **body) for name, body in raw.items()}


def dataset_names() -> list[str]:
    return sorted(specs())


def dataset_spec(name: str) -> DatasetSpec:
    try:
        return specs()[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(dataset_names())}") from None
