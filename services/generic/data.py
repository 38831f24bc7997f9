"""The rows of each generic dataset, generated from a seed.

The datasets themselves are declared in contracts/services/datasets.yaml (their shapes are
part of the contract); this module only draws the values.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from contracts.services.datasets import FieldSpec, dataset_spec
from services.common.sampledata import DISTRICTS, Citizen, citizens


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
