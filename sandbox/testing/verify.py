"""Provider verification: does a running back end keep a shared contract?

The cases come from the contract document itself. Valid ones use the examples the contract
carries (parameter and body examples), and the examples name records every sample data set
has (services/common/sampledata.py): so a valid case must succeed — a 2xx of the documented
shape, and where the reply has the guides' envelope, no failure in it (Status "0",
error_code other than "00"). A 404 is not a pass: a back end that knows none of the
examples, or is the wrong back end altogether, fails. Invalid cases break the contract's
own constraints (a required field missing, a value against its pattern, a wrong type) and
must be refused with a 4xx problem, never accepted, never a 5xx.

The valid cases of operations that write (POST, PUT, PATCH, DELETE) leave records behind;
when done, verify asks the back end to forget them (`POST /_sandbox/reset`, which the
sandbox's back ends serve) unless told to keep them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import httpx

from contracts.openapi_store import load_document
from contracts.problem import PROBLEM_MEDIA_TYPE
from gateway.proxy.validation import ContractValidator, Operation

Kind = Literal["valid", "invalid"]
_REFUSALS = {400, 422}
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
RESET_PATH = "/_sandbox/reset"


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
    template: str = ""  # "/hoSo/{maHoSo}"
    path_values: dict[str, str] = field(default_factory=dict)

    def with_learned(self, learned: dict[str, str]) -> Case:
        """A valid case with the identifiers earlier calls of this run were given (the
        dossier number a POST answered with, for the GET of that dossier): what a record
        made now has, the contract's example cannot know."""
        if self.kind != "valid" or not learned:
            return self
        values = {k: learned.get(k, v) for k, v in self.path_values.items()}
        query = {k: learned.get(k, v) for k, v in self.query.items()}
        return replace(self, path=_fill(self.template, values), query=query, path_values=values)


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
    cleanup: str = "nothing written"

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
            "template": template,
            "path_values": dict(path_values),
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
        schema = _resolve(body_spec.get("schema", {}), components)
        required = schema.get("required", [])
        if required:
            field_name = required[0]
            without = {k: v for k, v in body.items() if k != field_name}
            cases.append(case("invalid", f"body.{field_name} missing", body=without))
            wrong = {**body, field_name: [1, 2, 3]}
            cases.append(case("invalid", f"body.{field_name} of the wrong type", body=wrong))
    return cases


def envelope_failure(body: Any) -> str | None:
    """The failure a 2xx body reports in the guides' envelopes, or None: business
    registration's Status "0", civil status's status 0, the portal's error_code other than
    "00" (or 0), social insurance's errorCode other than "0"."""
    if not isinstance(body, dict):
        return None
    for key in ("Status", "status"):
        if key in body and body[key] in ("0", 0):
            message = body.get("Message") or body.get("errorMessage") or ""
            return f"{key} {body[key]!r} (a failure in the envelope): {message}"[:160]
    # The portal's "00" (a number 0 at its login): OpenCPS reads both as the number 0.
    if "error_code" in body and body["error_code"] not in ("00", "0", 0):
        return f"error_code {body['error_code']!r}: {body.get('message', '')}"[:160]
    if body.get("errorCode") not in (None, "0", 0):
        return f"errorCode {body['errorCode']!r}: {body.get('errorMessage', '')}"[:160]
    return None


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
    if not 200 <= status < 300:
        # The examples name records the sample data has: a valid call succeeds.
        return f"answered {status} to the contract's example: {reply.text[:120]}"
    if content_type.startswith("application/json"):
        failed = envelope_failure(reply.json())
        if failed:
            return f"answered the contract's example with a failure: {failed}"
    return None


async def verify(
    base_url: str,
    contract: str,
    version: str = "1.0",
    *,
    headers: dict[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    keep_records: bool = False,
) -> Report:
    """`keep_records`: leave what the valid write cases created (else: POST /_sandbox/reset)."""
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
        learned: dict[str, str] = {}
        for planned in cases_for(document):
            case = planned.with_learned(learned)
            result, reply = await _run(client, case, operations[case.operation], validator)
            results.append(result)
            if result.passed and case.kind == "valid" and reply is not None:
                learned.update(_identifiers(reply))
        wrote = any(
            r.case.method in _WRITES and r.status is not None and 200 <= r.status < 300
            for r in results
        )
        cleanup = "nothing written"
        if wrote:
            cleanup = "records kept (--keep-records)" if keep_records else await _reset(client)
    return Report(contract, version, base_url, results, cleanup)


async def _reset(client: httpx.AsyncClient) -> str:
    try:
        reply = await client.post(RESET_PATH)
    except httpx.HTTPError as exc:
        return f"records left behind: {RESET_PATH} failed ({type(exc).__name__})"
    if reply.status_code == 200:
        return f"back end reset ({RESET_PATH}): no record of this run is left"
    if reply.status_code in (401, 403, 404):
        # Through a platform (`--base-url http://lgsp/apiX/1.0`) the back end's reset is not
        # published: the platform routes only the contract's operations.
        return (
            f"records left behind: {RESET_PATH} is not reachable at {client.base_url} "
            f"(answered {reply.status_code}; a platform's routed path publishes only the "
            "contract's operations). Run verify against the back end's own URL to clean up, "
            "or --keep-records to keep them"
        )
    return f"records left behind: {RESET_PATH} answered {reply.status_code}"


def _identifiers(reply: httpx.Response) -> dict[str, str]:
    """The top-level text and number fields of a JSON object answer."""
    if not reply.headers.get("content-type", "").startswith("application/json"):
        return {}
    body = reply.json()
    if not isinstance(body, dict):
        return {}
    return {
        k: str(v)
        for k, v in body.items()
        if isinstance(v, str | int) and not isinstance(v, bool) and str(v)
    }


async def _run(
    client: httpx.AsyncClient, case: Case, operation: Operation, validator: ContractValidator
) -> tuple[Result, httpx.Response | None]:
    try:
        reply = await client.request(
            case.method,
            case.path,
            params=case.query,
            json=case.body if case.has_body else None,
        )
    except httpx.HTTPError as exc:
        return Result(case, False, None, f"no answer: {type(exc).__name__}: {exc}"), None
    reason = _check(case, operation, validator, reply)
    return Result(case, reason is None, reply.status_code, reason or "ok"), reply


def missing_examples(documents: Iterable[dict[str, Any]]) -> list[str]:
    """Operations a verification could not exercise for want of an example."""
    missing = []
    for document in documents:
        try:
            cases_for(document)
        except MissingExample as exc:
            missing.append(f"{document.get('info', {}).get('title', '?')}: {exc}")
    return missing
