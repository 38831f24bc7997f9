"""A back end's scenarios: reading the X-Sandbox-Scenario header, and documenting them.

The scenarios themselves are declared in the service contracts (contracts/scenarios.py);
services/common/scenario_middleware.py acts the chosen one out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from apikit.headers import SANDBOX_SCENARIO
from apikit.problems import ProblemError
from contracts.problem import PROBLEM_MEDIA_TYPE, FieldError
from contracts.scenarios import DELAY, RETRY_AFTER, Scenario

_WHERE = f"$.headers.{SANDBOX_SCENARIO}"


def _refusal(slug: str, title: str, detail: str, reason: str, **extra: Any) -> ProblemError:
    return ProblemError(
        400, slug, title, detail, errors=[FieldError(field=_WHERE, reason=reason)], **extra
    )


@dataclass(frozen=True)
class Chosen:
    """The scenario a call asked for, with its parameters resolved to numbers."""

    scenario: Scenario
    values: dict[str, float]

    @property
    def delay(self) -> float:
        return self.values.get(DELAY, 0.0)

    def problem(self) -> ProblemError | None:
        canned = self.scenario.problem
        if canned is None:
            return None
        headers = {SANDBOX_SCENARIO: self.scenario.name}
        if canned.retry_after:
            headers["Retry-After"] = str(int(self.values[RETRY_AFTER]))
        return ProblemError(
            canned.status,
            canned.slug,
            canned.title,
            canned.detail,
            headers=headers,
            scenario=self.scenario.name,
            **canned.extra,
        )


class ScenarioBook:
    """The scenarios one back end acts out, and how a header value picks one."""

    def __init__(self, backend: str, scenarios: Sequence[Scenario]) -> None:
        self.backend = backend
        self.scenarios = {s.name: s for s in scenarios}

    def choose(self, raw: str, operation: str) -> Chosen:
        """`raw` is the header value (`name;param=value...`); a 400 problem when it names
        no scenario of this back end, one that does not apply here, or a bad parameter."""
        name, *pairs = (part.strip() for part in raw.split(";"))
        name = name.lower()
        scenario = self.scenarios.get(name)
        if scenario is None:
            valid = list(self.scenarios)
            raise _refusal(
                "unknown-scenario",
                "Unknown sandbox scenario",
                f"{SANDBOX_SCENARIO} names {name!r}, which is not a scenario of "
                f"{self.backend}. Valid: {', '.join(valid)}.",
                f"not one of {', '.join(valid)}",
                valid_scenarios=valid,
            )
        if not scenario.applies_to(operation):
            here = [s.name for s in self.scenarios.values() if s.applies_to(operation)]
            raise _refusal(
                "scenario-not-applicable",
                "Sandbox scenario does not apply to this operation",
                f"Scenario {name!r} of {self.backend} applies to "
                f"{', '.join(scenario.operations or ())}, not {operation}. "
                f"Valid here: {', '.join(here)}.",
                f"{name} does not apply to {operation}",
                valid_scenarios=here,
                operations=list(scenario.operations or ()),
            )
        return Chosen(scenario, self._values(scenario, pairs))

    def _values(self, scenario: Scenario, pairs: Sequence[str]) -> dict[str, float]:
        values = {p.name: p.default for p in scenario.parameters}
        known = ", ".join(p.name for p in scenario.parameters) or "none"
        for pair in pairs:
            key, sep, text = (s.strip() for s in pair.partition("="))
            spec = scenario.parameter(key.lower())
            if not sep or spec is None:
                raise _refusal(
                    "invalid-scenario-parameter",
                    "Invalid sandbox scenario parameter",
                    f"{pair!r} is not a parameter of scenario {scenario.name!r} "
                    f"(parameters: {known}; write {scenario.name};name=value).",
                    f"unknown parameter {key!r}",
                    valid_parameters=[p.name for p in scenario.parameters],
                )
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            whole = not spec.integer or value.is_integer()
            if not (math.isfinite(value) and spec.minimum <= value <= spec.maximum and whole):
                kind = "a whole number" if spec.integer else "a number"
                raise _refusal(
                    "invalid-scenario-parameter",
                    "Invalid sandbox scenario parameter",
                    f"{scenario.name} parameter {spec.name} must be {kind} from "
                    f"{spec.minimum:g} to {spec.maximum:g}; got {text!r}.",
                    f"{spec.name}: {kind} from {spec.minimum:g} to {spec.maximum:g}",
                )
            values[spec.name] = value
        return values


# -- OpenAPI ---------------------------------------------------------------------------

_METHODS = ("get", "post", "put", "patch", "delete")
_PROBLEM = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def contract_operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(`GET`, `/hoSo/{maHoSo}`) per operation of an OpenAPI document: the names scenarios
    use. Health checks and mailboxes are not in the document, so no scenario reaches them."""
    return [
        (method.upper(), path)
        for path, item in document.get("paths", {}).items()
        for method in item
        if method in _METHODS
    ]


def _described(entry: dict[str, Any], status: int, what: str) -> dict[str, Any]:
    base = entry.get("description") or HTTPStatus(status).phrase
    return {**entry, "description": f"{base}; {what}", "content": _PROBLEM}


def _document(operation: dict[str, Any], scenarios: list[Scenario]) -> None:
    responses = operation.setdefault("responses", {})
    for scenario in scenarios:
        if scenario.problem is None:
            continue
        status = scenario.problem.status
        entry = _described(
            responses.get(str(status), {}),
            status,
            f"sandbox scenario {scenario.name} ({SANDBOX_SCENARIO})",
        )
        if scenario.problem.retry_after:
            entry["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before calling again",
                    "schema": {"type": "integer"},
                }
            }
        responses[str(status)] = entry
    responses["400"] = _described(
        responses.get("400", {}),
        400,
        f"sandbox: {SANDBOX_SCENARIO} names no scenario of this operation, or a bad parameter",
    )
    operation["x-sandbox-scenarios"] = [
        {
            "name": s.name,
            "description": s.description,
            "status": s.status,
            "parameters": [p.model_dump() for p in s.parameters],
        }
        for s in scenarios
    ]


def annotate(document: dict[str, Any], scenarios: Sequence[Scenario]) -> None:
    """Each operation names the scenarios that apply to it and documents their statuses,
    so callers see them and the platform's response check accepts them. A scenario naming
    an operation the document lacks is an error (export and the contract tests fail)."""
    served = set()
    for method, path in contract_operations(document):
        name = f"{method} {path}"
        served.add(name)
        applicable = [s for s in scenarios if s.applies_to(name)]
        if applicable:
            _document(document["paths"][path][method.lower()], applicable)
    for scenario in scenarios:
        missing = sorted(set(scenario.operations or ()) - served)
        if missing:
            raise ValueError(
                f"scenario {scenario.name} names operations that {document['info']['title']} "
                f"does not serve: {', '.join(missing)} (it serves {', '.join(sorted(served))})"
            )


def document_scenarios(app: FastAPI, scenarios: Sequence[Scenario]) -> None:
    """The app's OpenAPI document, once built, carries its scenarios (see `annotate`)."""
    build = app.openapi
    annotated: list[bool] = []

    def openapi() -> dict[str, Any]:
        document = build()  # cached by the app after the first call
        if not annotated:
            annotate(document, scenarios)
            annotated.append(True)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
