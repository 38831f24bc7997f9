"""Check a routed call against its service's contract (the committed OpenAPI document).

The first platform hop checks requests, so a malformed call never leaves the province; the
platform next to the back end checks responses, so a back end that breaks its contract is
named to the caller instead of handing it data of the wrong shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import fastjsonschema
import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from apikit.problems import ProblemError
from contracts.problem import FieldError

_FORMATS = Draft202012Validator.FORMAT_CHECKER
_JSON = re.compile(r"^application/([a-z.+-]*\+)?json$")


@dataclass
class _Param:
    name: str
    location: str
    required: bool
    kind: str  # the JSON type the string is converted to
    validator: Schema


@dataclass
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    params: list[_Param]
    body: Schema | None
    body_required: bool
    responses: dict[int, Schema | None] = field(default_factory=dict)
    # A `2XX` or `default` response documents every status of its range (OpenAPI 3).
    any_status: bool = False

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


class Schema:
    """A JSON schema checked fast when the value is valid, and explained when it is not.

    fastjsonschema compiles the schema to Python (tens of times faster than interpreting
    it), but stops at the first error; jsonschema then lists every error for the reply.
    """

    def __init__(self, schema: dict[str, Any], components: dict[str, Any]) -> None:
        # Embedding the components lets "#/components/schemas/..." refs resolve in place.
        self._schema = {**schema, "components": components}
        self.full = Draft202012Validator(self._schema, format_checker=_FORMATS)
        self._fast: Callable[[Any], Any] | None = None

    def is_valid(self, value: Any) -> bool:
        if self._fast is None:
            self._fast = fastjsonschema.compile(self._schema)  # lazily: start-up stays quick
        try:
            self._fast(value)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def errors(self, prefix: str, value: Any) -> list[FieldError]:
        if self.is_valid(value):
            return []
        found: list[FieldError] = []
        required_seen: set[tuple[tuple[Any, ...], tuple[Any, ...]]] = set()
        for error in sorted(self.full.iter_errors(value), key=lambda e: list(e.absolute_path)):
            where = _where(prefix, error)
            if error.validator == "required" and isinstance(error.instance, dict):
                # jsonschema yields one error per missing property, each carrying the whole
                # list; one `required` keyword is turned into one entry per missing name.
                keyword = (tuple(error.absolute_path), tuple(error.absolute_schema_path))
                if keyword not in required_seen:
                    required_seen.add(keyword)
                    found += [
                        FieldError(field=f"{where}.{name}", reason=f"{name!r} is required")
                        for name in error.validator_value
                        if name not in error.instance
                    ]
                continue
            found.append(FieldError(field=where, reason=error.message))
        return found


def _validator(schema: dict[str, Any], components: dict[str, Any]) -> Schema:
    return Schema(schema, components)


def _kind(schema: dict[str, Any]) -> str:
    for option in schema.get("anyOf", [schema]):
        if option.get("type") not in (None, "null"):
            return str(option["type"])
    return "string"


def _json_schema(content: dict[str, Any]) -> dict[str, Any] | None:
    for media_type, body in content.items():
        if _JSON.match(media_type) and "schema" in body:
            schema: dict[str, Any] = body["schema"]
            return schema
    return None


def _where(prefix: str, error: ValidationError) -> str:
    path = prefix
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _convert(raw: str, kind: str) -> Any:
    if kind == "integer":
        return int(raw)
    if kind == "number":
        return float(raw)
    if kind == "boolean":
        if raw.lower() not in {"true", "false", "1", "0"}:
            raise ValueError(raw)
        return raw.lower() in {"true", "1"}
    return raw


class ContractValidator:
    def __init__(self, contract_id: str, document: dict[str, Any]) -> None:
        self.contract_id = contract_id
        components = document.get("components", {})
        self.operations: list[Operation] = []
        for template, item in document.get("paths", {}).items():
            regex = "^" + re.sub(r"\\\{([^/]+?)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
            for method, spec in item.items():
                params = [
                    _Param(
                        name=p["name"],
                        location=p["in"],
                        required=bool(p.get("required")),
                        kind=_kind(p.get("schema", {})),
                        validator=_validator(p.get("schema", {}), components),
                    )
                    for p in spec.get("parameters", [])
                    if p["in"] in {"query", "path"}
                ]
                body_spec = spec.get("requestBody") or {}
                body_schema = _json_schema(body_spec.get("content", {}))
                responses = {
                    int(status): (
                        _validator(schema, components)
                        if (schema := _json_schema(r.get("content", {}))) is not None
                        else None
                    )
                    for status, r in spec.get("responses", {}).items()
                    if status.isdigit()
                }
                self.operations.append(
                    Operation(
                        method=method.upper(),
                        template=template,
                        pattern=re.compile(regex),
                        params=params,
                        body=_validator(body_schema, components) if body_schema else None,
                        body_required=bool(body_spec.get("required")),
                        responses=responses,
                        any_status=any(not str(s).isdigit() for s in spec.get("responses", {})),
                    )
                )

    def match(self, method: str, resource: str) -> tuple[Operation, dict[str, str]]:
        path = "/" + resource
        allowed = []
        for operation in self.operations:
            found = operation.pattern.match(path)
            if found is None:
                continue
            if operation.method == method or (method == "HEAD" and operation.method == "GET"):
                return operation, found.groupdict()
            allowed.append(operation.method)
        if allowed:
            raise ProblemError(
                405,
                "method-not-allowed",
                "Method not allowed by the contract",
                f"{method} {path} is not in contract {self.contract_id}; "
                f"allowed: {', '.join(sorted(set(allowed)))}.",
                headers={"Allow": ", ".join(sorted(set(allowed)))},
            )
        known = ", ".join(sorted({o.name for o in self.operations}))
        raise ProblemError(
            404,
            "unknown-operation",
            "No such operation",
            f"{method} {path} is not an operation of contract {self.contract_id}. "
            f"Operations: {known}.",
        )

    def check_request(
        self,
        operation: Operation,
        path_values: dict[str, str],
        query: Iterable[tuple[str, str]],
        content_type: str,
        body: bytes,
    ) -> list[FieldError]:
        errors: list[FieldError] = []
        query_values: dict[str, str] = {}
        for key, value in query:
            query_values.setdefault(key, value)
        for param in operation.params:
            source = path_values if param.location == "path" else query_values
            where = f"$.{param.location}.{param.name}"
            if param.name not in source:
                if param.required:
                    errors.append(FieldError(field=where, reason="required"))
                continue
            try:
                value = _convert(source[param.name], param.kind)
            except ValueError:
                errors.append(FieldError(field=where, reason=f"not a valid {param.kind}"))
                continue
            if not param.validator.is_valid(value):
                errors += [
                    FieldError(field=where, reason=e.message)
                    for e in param.validator.full.iter_errors(value)
                ]
        if operation.body is not None:
            errors += self._check_body(operation, content_type, body)
        return errors

    def _check_body(self, operation: Operation, content_type: str, body: bytes) -> list[FieldError]:
        assert operation.body is not None
        if not body:
            if operation.body_required:
                return [FieldError(field="$.body", reason="a JSON body is required")]
            return []
        media_type = content_type.split(";")[0].strip().lower()
        if not _JSON.match(media_type):
            raise ProblemError(
                415,
                "unsupported-media-type",
                "Body must be JSON",
                f"{operation.name} takes application/json; the request said "
                f"{media_type or 'nothing'}.",
                errors=[
                    FieldError(field="$.headers.Content-Type", reason="must be application/json")
                ],
            )
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return [FieldError(field="$.body", reason=f"not valid JSON: {exc}")]
        return operation.body.errors("$.body", value)

    def check_response(
        self, operation: Operation, status: int, content_type: str, body: bytes
    ) -> list[FieldError]:
        if status not in operation.responses:
            if 200 <= status < 300 and not operation.any_status:
                documented = ", ".join(str(s) for s in sorted(operation.responses))
                return [
                    FieldError(
                        field="$.status",
                        reason=f"{status} is not a documented status ({documented})",
                    )
                ]
            return []  # an undocumented error is the back end's own failure, passed on as is
        validator = operation.responses[status]
        if validator is None or status == 204:
            return []
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return [FieldError(field="$.body", reason=f"not valid JSON: {exc}")]
        return validator.errors("$.body", value)
