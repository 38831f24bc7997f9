"""Provider verification: does a running back end keep a shared contract?

The cases come from the contract document itself. Valid ones use the examples the contract
carries (parameter and body examples); invalid ones break the contract's own constraints
(a required field missing, a value against its pattern, a wrong type). Each operation must
answer valid cases with a documented status and a body of the documented shape, and refuse
invalid ones with a 4xx problem, never accept them and never fail with a 5xx.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from contracts.openapi_store import load_document
from contracts.problem import PROBLEM_MEDIA_TYPE
from gateway.proxy.validation import ContractValidator, Operation

Kind = Literal["valid", "invalid"]
_REFUSALS = {400, 422}


class MissingExample(Exception):
    """The contract gives no example for something an operation needs."""


@dataclass
class Case:
    operation: str  # "GET /congDan"
    kind: Kind
    name: str
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    has_body: bool = False


@dataclass
class Result:
    case: Case
    passed: bool
    status: int | None
    reason: str


@dataclass
class Report:
    contract: str
    version: str
    base_url: str
    results: list[Result]

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if not r.passed]

    @property
    def passed(self) -> bool:
        return bool(self.results) and not self.failures


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:  # Optional[X]: the non-null branch, keeping the outer examples
        outer = {k: v for k, v in schema.items() if k != "anyOf"}
        branches = [s for s in schema["anyOf"] if s.get("type") != "null"]
        if branches:
            inner = _resolve(branches[0], components)
            return {**inner, **outer}
    return schema


def _example(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """The contract's own example for a schema; MissingExample when it has none."""
    schema = _resolve(schema, components)
    if schema.get("examples"):
        return schema["examples"][0]
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    raise MissingExample(str(schema.get("title") or schema.get("type") or "value"))


def _violation(schema: dict[str, Any], components: dict[str, Any]) -> tuple[str, Any] | None:
    """A value that breaks this schema, and how; None when any string would do."""
    schema = _resolve(schema, components)
    kind = schema.get("type")
    if "pattern" in schema or schema.get("enum"):
        return "against its pattern", "x!"
    if kind in ("integer", "number"):
        return "not a number", "abc"
    if "maxLength" in schema:
        return "too long", "x" * (int(schema["maxLength"]) + 1)
    if schema.get("format") == "date":
        return "not a date", "2024-13-45"
    return None


def _fill(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def cases_for(document: dict[str, Any]) -> list[Case]:
    components = document.get("components", {})
    found: list[Case] = []
    for template, item in document.get("paths", {}).items():
        for method, op in item.items():
            found += _operation_cases(method.upper(), template, op, components)
    return found


def _operation_cases(
    method: str, template: str, op: dict[str, Any], components: dict[str, Any]
) -> list[Case]:
    name = f"{method} {template}"
    params = [p for p in op.get("parameters", []) if p["in"] in ("path", "query")]
    path_values: dict[str, str] = {}
    query: dict[str, str] = {}
    for p in params:
        try:
            value = _example(p.get("schema", {}), components)
        except MissingExample:
            if not p.get("required"):
                continue
            if p["in"] == "path" and "404" in op.get("responses", {}):
                value = "khong-ton-tai-0000"  # the contract documents a not-found answer
            else:
                raise MissingExample(f"{name}: parameter {p['name']} has no example") from None
        (path_values if p["in"] == "path" else query)[p["name"]] = str(value)

    body_spec = (op.get("requestBody") or {}).get("content", {}).get("application/json")
    body: Any = None
    if body_spec is not None:
        try:
            body = _example(body_spec.get("schema", {}), components)
        except MissingExample:
            raise MissingExample(f"{name}: request body has no example") from None

    def case(kind: Kind, label: str, **change: Any) -> Case:
        base = {
            "path": _fill(template, path_values),
            "query": dict(query),
            "body": copy.deepcopy(body),
            "has_body": body_spec is not None,
        }
        return Case(name, kind, label, method, **{**base, **change})

    cases = [case("valid", "contract example")]
    for p in params:
        bad = _violation(p.get("schema", {}), components)
        if bad is not None:
            reason, value = bad
            if p["in"] == "query":
                cases.append(
                    case("invalid", f"{p['name']} {reason}", query={**query, p["name"]: value})
                )
            else:
                path = _fill(template, {**path_values, p["name"]: value})
                cases.append(case("invalid", f"{p['name']} {reason}", path=path))
        if p["in"] == "query" and p.get("required"):
            missing = {k: v for k, v in query.items() if k != p["name"]}
            cases.append(case("invalid", f"{p['name']} missing", query=missing))
    if isinstance(body, dict):
        schema = _resolve(body_spec.get("schema", {}), components)  # type: ignore[union-attr]
        required = schema.get("required", [])
        if required:
            field_name = required[0]
            without = {k: v for k, v in body.items() if k != field_name}
            cases.append(case("invalid", f"body.{field_name} missing", body=without))
            wrong = {**body, field_name: [1, 2, 3]}
            cases.append(case("invalid", f"body.{field_name} of the wrong type", body=wrong))
    return cases


def _check(
    case: Case, operation: Operation, validator: ContractValidator, reply: httpx.Response
) -> str | None:
    """None when the reply keeps the contract, else why not."""
    status = reply.status_code
    content_type = reply.headers.get("content-type", "")
    if status >= 500:
        return f"server error {status}: {reply.text[:120]}"
    if case.kind == "invalid":
        if 200 <= status < 300:
            return f"accepted an invalid request with {status}"
        if status not in _REFUSALS:
            return f"refused with {status}; expected 400 or 422"
        if not content_type.startswith(PROBLEM_MEDIA_TYPE):
            return f"refusal is {content_type or 'untyped'}, not {PROBLEM_MEDIA_TYPE}"
        return None
    if status not in operation.responses or status in _REFUSALS:
        documented = ", ".join(str(s) for s in sorted(operation.responses))
        return f"answered {status}; documented: {documented}: {reply.text[:120]}"
    errors = validator.check_response(operation, status, content_type, reply.content)
    if errors:
        return "; ".join(f"{e.field}: {e.reason}" for e in errors[:5])
    if status >= 400 and not content_type.startswith(PROBLEM_MEDIA_TYPE):
        return f"error answer is {content_type or 'untyped'}, not {PROBLEM_MEDIA_TYPE}"
    return None


async def verify(
    base_url: str,
    contract: str,
    version: str = "1.0",
    *,
    headers: dict[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Report:
    document = load_document(contract, version)
    if document is None:
        raise LookupError(f"no contract {contract} version {version} in contracts/openapi")
    validator = ContractValidator(contract, document)
    operations = {o.name: o for o in validator.operations}
    results: list[Result] = []
    async with httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        headers=headers or {},
        timeout=10.0,
        transport=transport,
        trust_env=False,
        follow_redirects=False,
    ) as client:
        for case in cases_for(document):
            results.append(await _run(client, case, operations[case.operation], validator))
    return Report(contract, version, base_url, results)


async def _run(
    client: httpx.AsyncClient, case: Case, operation: Operation, validator: ContractValidator
) -> Result:
    try:
        reply = await client.request(
            case.method,
            case.path,
            params=case.query,
            json=case.body if case.has_body else None,
        )
    except httpx.HTTPError as exc:
        return Result(case, False, None, f"no answer: {type(exc).__name__}: {exc}")
    reason = _check(case, operation, validator, reply)
    return Result(case, reason is None, reply.status_code, reason or "ok")


def missing_examples(documents: Iterable[dict[str, Any]]) -> list[str]:
    """Operations a verification could not exercise for want of an example."""
    missing = []
    for document in documents:
        try:
            cases_for(document)
        except MissingExample as exc:
            missing.append(f"{document.get('info', {}).get('title', '?')}: {exc}")
    return missing
