"""A back end from an agency's own OpenAPI document (params.spec: its path).

Every operation of the document is answered: with the media type's example (or the first of
its named examples), else with a value built from the schema, the same for the same seed.
What it receives is checked against the document first (422 problem+json naming each wrong
field, as the platforms answer). `Prefer: code=404, example=notFound, dynamic=true` (or the
query parameters `__code`, `__example`, `__dynamic`) chooses the answer as Prism's do; an
undocumented code or an unknown example is a 404 problem naming what is documented.
"""

from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from jsonschema import Draft202012Validator

from apikit.problems import ProblemError
from contracts.own_spec import OwnSpec, SpecError, load_spec
from contracts.problem import FieldError
from services.common.app import create_backend_app
from services.common.config import BackendConfig
from services.own.generate import Generator

MAX_BODY_BYTES = 1024 * 1024
_JSON = re.compile(r"^application/([a-z.+-]*\+)?json$")
_FORMATS = Draft202012Validator.FORMAT_CHECKER


@dataclass
class _Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


class SpecMock:
    """The document's operations, matched, checked and answered."""

    def __init__(self, spec: OwnSpec, seed: int) -> None:
        self.spec = spec
        self.seed = seed
        self.components = spec.document.get("components", {})
        self.operations = [
            _Operation(
                method.upper(),
                template,
                re.compile(
                    "^" + re.sub(r"\\\{([^/]+?)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
                ),
                op,
            )
            for template, item in spec.document["paths"].items()
            for method, op in item.items()
        ]
        self._validators: dict[int, Draft202012Validator] = {}
        self._try_every_answer()

    def _try_every_answer(self) -> None:
        """Build each documented answer once, so a document whose schemas cannot be
        answered stops the back end at start, naming the place, instead of failing a call."""
        for op in self.operations:
            for status, response in op.spec["responses"].items():
                for media_type, media in response["content"].items():
                    try:
                        self._body(op, 200, media, {"dynamic": "true"})
                    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
                        raise SpecError(
                            f"{self.spec.path}: paths.{op.template}.{op.method.lower()}."
                            f"responses.{status}.content.{media_type}.schema: no value can "
                            f"be built from it ({type(exc).__name__}: {exc})"
                        ) from None

    def match(self, method: str, path: str) -> tuple[_Operation, dict[str, str]]:
        allowed = []
        # Literal segments first: /hoSo/moi before /hoSo/{id}, as OpenAPI asks.
        ordered = sorted(self.operations, key=lambda o: o.template.count("{"))
        for op in ordered:
            found = op.pattern.match(path)
            if found is None:
                continue
            if op.method == method or (method == "HEAD" and op.method == "GET"):
                return op, found.groupdict()
            allowed.append(op.method)
        if allowed:
            raise ProblemError(
                405,
                "method-not-allowed",
                "Method not allowed",
                f"{method} {path} is not in {self.spec.title}; allowed: "
                f"{', '.join(sorted(set(allowed)))}.",
                headers={"Allow": ", ".join(sorted(set(allowed)))},
            )
        raise ProblemError(
            404,
            "unknown-operation",
            "No such operation",
            f"{method} {path} is not an operation of {self.spec.title}. Operations: "
            f"{', '.join(sorted(o.name for o in self.operations))}.",
        )

    def _validator(self, schema: Any) -> Draft202012Validator:
        key = id(schema)
        if key not in self._validators:
            whole = {**schema, "components": self.components} if isinstance(schema, dict) else {}
            self._validators[key] = Draft202012Validator(whole, format_checker=_FORMATS)
        return self._validators[key]

    def _errors(self, prefix: str, schema: Any, value: Any) -> list[FieldError]:
        out = []
        for error in self._validator(schema).iter_errors(value):
            where = prefix + "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path
            )
            if error.validator == "required" and isinstance(error.instance, dict):
                # One entry per missing name, at the field's own place, as the platforms say it.
                out += [
                    FieldError(field=f"{where}.{name}", reason=f"{name!r} is required")
                    for name in error.validator_value
                    if name not in error.instance
                    and FieldError(field=f"{where}.{name}", reason=f"{name!r} is required")
                    not in out
                ]
                continue
            out.append(FieldError(field=where, reason=error.message))
        return out

    def check(
        self, op: _Operation, path_values: dict[str, str], request: Request, body: bytes
    ) -> list[FieldError]:
        errors: list[FieldError] = []
        sources = {
            "path": path_values,
            "query": dict(request.query_params),
            "header": {k.lower(): v for k, v in request.headers.items()},
            "cookie": dict(request.cookies),
        }
        for param in op.spec["parameters"]:
            location, name = param["in"], param["name"]
            given = sources[location].get(name.lower() if location == "header" else name)
            where = f"$.{location}.{name}"
            if given is None:
                if param["required"]:
                    errors.append(FieldError(field=where, reason="required"))
                continue
            schema = param["schema"]
            value: Any
            if isinstance(schema, dict) and schema.get("type") == "array":
                # form style: ?id=1&id=2 (explode, the default) or ?id=1,2
                raw = request.query_params.getlist(name) if location == "query" else [given]
                if len(raw) == 1 and "," in raw[0]:
                    raw = raw[0].split(",")
                value = [_convert(v, schema.get("items", {})) for v in raw]
            else:
                value = _convert(given, schema)
            errors += self._errors(where, schema, value)
        request_body = op.spec.get("requestBody")
        if request_body is not None:
            errors += self._check_body(request_body, request.headers.get("content-type", ""), body)
        return errors

    def _check_body(self, spec: dict[str, Any], content_type: str, body: bytes) -> list[FieldError]:
        if not body:
            required = spec["required"]
            return [FieldError(field="$.body", reason="a body is required")] if required else []
        media_type = content_type.split(";")[0].strip().lower()
        content = spec["content"]
        if (
            content
            and media_type not in content
            and not any(_JSON.match(m) and _JSON.match(media_type) for m in content)
        ):
            raise ProblemError(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                f"this operation takes {', '.join(content)}; the request said "
                f"{media_type or 'nothing'}.",
                errors=[FieldError(field="$.headers.Content-Type", reason="not accepted")],
            )
        media: dict[str, Any] = content.get(media_type) or next(iter(content.values()), {})
        schema = media.get("schema")
        if schema is None or not _JSON.match(media_type):
            return []
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return [FieldError(field="$.body", reason=f"not valid JSON: {exc}")]
        return self._errors("$.body", schema, value)

    def answer(self, op: _Operation, wanted: dict[str, str]) -> Response:
        status, response = self._response(op, wanted.get("code"))
        content: dict[str, Any] = response["content"]
        if not content or status in (204, 304):
            return Response(status_code=status)
        media_type = next((m for m in content if _JSON.match(m)), next(iter(content)))
        media = content[media_type]
        body = self._body(op, status, media, wanted)
        if isinstance(body, str) and not _JSON.match(media_type):
            return Response(body, status_code=status, media_type=media_type)
        return Response(orjson.dumps(body), status_code=status, media_type=media_type)

    def _response(self, op: _Operation, code: str | None) -> tuple[int, dict[str, Any]]:
        responses: dict[str, Any] = op.spec["responses"]
        if code is not None:
            if not code.isdigit():
                raise _no_response(op, f"code={code} is not a status code", responses)
            for key in (code, f"{code[0]}XX", "default"):
                if key in responses:
                    return int(code), responses[key]
            raise _no_response(op, f"no {code} response is documented", responses)
        successes = sorted(k for k in responses if k.isdigit() and k.startswith("2"))
        if successes:
            return int(successes[0]), responses[successes[0]]
        if "2XX" in responses:
            return 200, responses["2XX"]
        first = sorted(responses)[0]
        return (int(first) if first.isdigit() else 200), responses[first]

    def _body(
        self, op: _Operation, status: int, media: dict[str, Any], wanted: dict[str, str]
    ) -> Any:
        examples: dict[str, Any] = media.get("examples", {})
        name = wanted.get("example")
        if name is not None:
            if name not in examples:
                known = ", ".join(examples) or "none"
                raise ProblemError(
                    404,
                    "no-such-example",
                    "No such example",
                    f"{op.name} {status} has no example {name!r} (named examples: {known}).",
                )
            return examples[name]["value"]
        if wanted.get("dynamic", "").lower() != "true":
            if "example" in media:
                return media["example"]
            if examples:
                return next(iter(examples.values()))["value"]
        # Deterministic per seed and per operation: the same call, the same answer.
        rng = random.Random(self.seed * 1_000_003 + zlib.crc32(f"{op.name} {status}".encode()))
        return Generator(self.components, rng).value(media.get("schema", {}))


def _no_response(op: _Operation, why: str, responses: dict[str, Any]) -> ProblemError:
    return ProblemError(
        404,
        "no-such-response",
        "No such response",
        f"{op.name}: {why} (documented: {', '.join(sorted(responses))}).",
    )


def _prefer(header: str) -> dict[str, str]:
    """`code=404, example=notFound` (Prism's Prefer preferences) as a mapping."""
    out: dict[str, str] = {}
    for part in re.split(r"[,;]", header):
        key, sep, value = part.strip().partition("=")
        if sep and key.strip().lower() in {"code", "example", "dynamic"}:
            out[key.strip().lower()] = value.strip().strip('"')
    return out


def _convert(raw: str, schema: Any) -> Any:
    kinds: list[str] = []
    for option in schema.get("anyOf", [schema]) if isinstance(schema, dict) else []:
        kind = option.get("type") if isinstance(option, dict) else None
        kinds += kind if isinstance(kind, list) else [kind] if kind else []
    try:
        if "integer" in kinds:
            return int(raw)
        if "number" in kinds:
            return float(raw)
    except ValueError:
        return raw  # the schema names the wrong type
    if "boolean" in kinds and raw.lower() in {"true", "false"}:
        return raw.lower() == "true"
    return raw


def create_app(config: BackendConfig) -> FastAPI:
    path = str(config.params.get("spec", ""))
    if not path:
        raise SpecError(f"back end {config.name}: params.spec (the OpenAPI file) is required")
    spec = load_spec(path)  # a document that cannot be served stops the back end, saying why
    mock = SpecMock(spec, config.seed)
    router = APIRouter()

    async def handle(request: Request, resource: str) -> Response:
        op, path_values = mock.match(request.method, "/" + resource)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise ProblemError(
                413, "payload-too-large", "Payload too large", f"more than {MAX_BODY_BYTES} bytes"
            )
        errors = mock.check(op, path_values, request, body)
        if errors:
            raise ProblemError(
                422,
                "validation-error",
                "Request does not match the contract",
                f"{op.name} of {spec.title}: fix {', '.join(e.field for e in errors)}.",
                errors=errors,
            )
        wanted = _prefer(request.headers.get("prefer", ""))
        for key in ("code", "example", "dynamic"):  # Prism's query form: ?__code=404
            if f"__{key}" in request.query_params:
                wanted[key] = request.query_params[f"__{key}"]
        return mock.answer(op, wanted)

    # Every method: one the document lacks gets the 405 naming those it has.
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]
    router.add_api_route("/{resource:path}", handle, methods=methods, include_in_schema=False)
    app = create_backend_app(
        config,
        title=spec.title,
        description=f"Mock of {path} (OpenAPI {spec.version}), answered from its examples "
        "and schemas.",
        routers=[router],
    )

    def openapi() -> dict[str, Any]:
        return spec.document  # the agency's own document, as its back end publishes it

    app.openapi = openapi  # type: ignore[method-assign]
    return app
