"""A value for a JSON schema, the same every time for the same seed.

Examples the schema carries come first (as Prism's static mode does); without them a value
is built from the type and its constraints: enum, const, formats, patterns (generated from
the regular expression itself), bounds, lengths, required and optional properties.
"""

from __future__ import annotations

import math
import random
import re
import string
from re import _parser as sre  # type: ignore[attr-defined]
from typing import Any

from contracts.own_spec import schema_at

MAX_DEPTH = 12
# A document is untrusted: a value of at most this many parts, strings and lists this long.
MAX_PARTS = 10_000
MAX_LENGTH = 10_000
MAX_ITEMS = 100
_FORMATS: dict[str, str] = {
    "date": "2024-01-15",
    "date-time": "2024-01-15T08:30:00+07:00",
    "time": "08:30:00",
    "email": "nguoidung@example.gov.vn",
    "uri": "https://example.gov.vn/",
    "url": "https://example.gov.vn/",
    "uuid": "3f2c1a9e-5b7d-4e8f-9a6c-0d1e2f3a4b5c",
    "ipv4": "192.0.2.10",
    "hostname": "example.gov.vn",
}


class Generator:
    def __init__(self, components: dict[str, Any], rng: random.Random) -> None:
        self.components = components
        self.rng = rng
        self.parts = 0

    def value(self, schema: Any, depth: int = 0) -> Any:
        self.parts += 1
        if not isinstance(schema, dict) or depth > MAX_DEPTH or self.parts > MAX_PARTS:
            return None
        if "$ref" in schema:
            return self.value(schema_at(self.components, str(schema["$ref"])), depth + 1)
        if "const" in schema:
            return schema["const"]
        examples = schema.get("examples")
        if isinstance(examples, list) and examples:
            return examples[0]
        if "example" in schema:
            return schema["example"]
        if "default" in schema:
            return schema["default"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.rng.choice(schema["enum"])
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                got = self.value(part, depth + 1)
                if isinstance(got, dict):
                    merged.update(got)
                elif got is not None and not merged:
                    return got
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            if rest.get("properties"):
                merged.update(self.value(rest, depth + 1) or {})
            return merged
        for key in ("oneOf", "anyOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                # The first option that is not null: a nullable value is shown filled in.
                chosen = next((o for o in options if o.get("type") != "null"), options[0])
                return self.value(chosen, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        return getattr(self, f"_{kind}", self._string)(schema, depth)

    def _null(self, schema: dict[str, Any], depth: int) -> None:
        return None

    def _boolean(self, schema: dict[str, Any], depth: int) -> bool:
        return self.rng.random() < 0.5

    def _integer(self, schema: dict[str, Any], depth: int) -> int:
        low, high = _bounds(schema, 1, 1000)
        low, high = (
            int(low) + ("exclusiveMinimum" in schema),
            int(high) - ("exclusiveMaximum" in schema),
        )
        value = self.rng.randint(low, max(low, high))
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0:
            value = max(low, value - value % step)
        return value

    def _number(self, schema: dict[str, Any], depth: int) -> float:
        low, high = _bounds(schema, 0, 1000)
        return round(self.rng.uniform(float(low), float(high)), 2)

    def _string(self, schema: dict[str, Any], depth: int) -> str:
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            made = self._from_pattern(pattern)
            if made is not None:
                return made
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS:
            return _FORMATS[fmt]
        low = min(_int(schema.get("minLength"), 6), MAX_LENGTH)
        high = min(_int(schema.get("maxLength"), max(low, 12)), MAX_LENGTH)
        size = self.rng.randint(low, max(low, min(high, low + 12)))
        return "".join(self.rng.choice(string.ascii_lowercase) for _ in range(size))

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        low = min(_int(schema.get("minItems"), 1), MAX_ITEMS)
        high = min(_int(schema.get("maxItems"), max(low, 2)), MAX_ITEMS)
        size = self.rng.randint(low, max(low, min(high, low + 2)))
        return [self.value(schema.get("items", {}), depth + 1) for _ in range(size)]

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties", {})
        return {
            str(name): self.value(sub, depth + 1)
            for name, sub in (properties.items() if isinstance(properties, dict) else ())
        }

    def _from_pattern(self, pattern: str) -> str | None:
        try:
            parsed = sre.parse(pattern)
            made = self._emit(parsed)
        except (re.error, _Unsupported, RecursionError, ValueError, TypeError):
            return None
        return made if re.search(pattern, made) else None

    def _emit(self, items: Any) -> str:
        out = []
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(arg))
            elif name == "NOT_LITERAL":
                out.append("a" if arg != ord("a") else "b")
            elif name == "ANY":
                out.append("x")
            elif name == "IN":
                out.append(self._in(arg))
            elif name in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
                low, high, body = arg
                if low > MAX_LENGTH:
                    raise _Unsupported("repeat")
                count = self.rng.randint(low, max(low, min(high, low + 3)))
                out.extend(self._emit(body) for _ in range(count))
            elif name == "SUBPATTERN":
                out.append(self._emit(arg[-1]))
            elif name == "BRANCH":
                out.append(self._emit(self.rng.choice(arg[1])))
            elif name in {"AT", "ASSERT", "ASSERT_NOT"}:
                continue
            elif name == "CATEGORY":
                out.append(self._category(str(arg)))
            else:
                raise _Unsupported(name)
        return "".join(out)

    def _in(self, items: Any) -> str:
        choices: list[str] = []
        for op, arg in items:
            name = str(op)
            if name == "NEGATE":
                return "~"  # rarely right; the result is checked against the pattern
            if name == "LITERAL":
                choices.append(chr(arg))
            elif name == "RANGE":
                choices.extend(chr(c) for c in range(arg[0], min(arg[1], arg[0] + 25) + 1))
            elif name == "CATEGORY":
                choices.append(self._category(str(arg)))
        if not choices:
            raise _Unsupported("IN")
        return self.rng.choice(choices)

    def _category(self, name: str) -> str:
        if "DIGIT" in name and "NOT" not in name:
            return self.rng.choice(string.digits)
        if "SPACE" in name and "NOT" not in name:
            return " "
        return self.rng.choice(string.ascii_lowercase)


class _Unsupported(Exception):
    pass


def _int(value: Any, default: int) -> int:
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default
    )


def _bounds(schema: dict[str, Any], low: float, high: float) -> tuple[float, float]:
    lo = schema.get("minimum", schema.get("exclusiveMinimum", low))
    hi = schema.get("maximum", schema.get("exclusiveMaximum", max(high, lo)))
    if not all(isinstance(x, int | float) and math.isfinite(x) for x in (lo, hi)):
        return low, high
    return lo, max(lo, hi)
