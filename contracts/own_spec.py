"""An agency's own OpenAPI document (3.0 or 3.1): read bounded, checked, made servable.

The document is untrusted input. It is read within bounds (size, depth, values), every
`$ref` must point inside the file, and what the sandbox serves from it is normalised once:
references to parameters, request bodies and responses resolved, path-level parameters
merged into each operation, and OpenAPI 3.0's schema dialect (`nullable`, boolean
`exclusiveMinimum`) written as the JSON Schema 2020-12 that 3.1 uses and the validators
read. Schemas keep their `#/components/schemas/…` references (validators embed the
components). A document that cannot be served raises SpecError naming the place in the file.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_SPEC_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_ONE = ("items", "additionalProperties", "not", "contains", "if", "then", "else")
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SpecError(ValueError):
    """Why a document cannot be served: `{file}: {place}: {reason}`."""


@dataclass(frozen=True)
class OwnSpec:
    path: str
    version: str  # "3.0" or "3.1": the dialect the file was written in
    title: str
    document: dict[str, Any]  # normalised: what validators and the mock read

    @property
    def operations(self) -> list[str]:
        return [
            f"{method.upper()} {template}"
            for template, item in self.document["paths"].items()
            for method in item
        ]


def schema_at(components: dict[str, Any], ref: str) -> Any:
    """What a `#/components/…` reference names inside the components ({} for nothing)."""
    target: Any = components
    for part in ref.removeprefix("#/components/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(target, list) and key.isdigit() and int(key) < len(target):
            target = target[int(key)]
        elif isinstance(target, dict) and key in target:
            target = target[key]
        else:
            return {}
    return target


def pointer(parts: tuple[str | int, ...]) -> str:
    """A place in the file, written as its keys: `paths./hoSo.post.responses.200`."""
    return ".".join(str(p) for p in parts) or "(top level)"


def read_document(path: Path, max_bytes: int = MAX_SPEC_BYTES) -> Any:
    """A JSON or YAML file's value, read within bounds; SpecError otherwise."""
    try:
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise SpecError(f"{path}: larger than {max_bytes:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text (offset {exc.start})") from None
    return parse_text(text, str(path))


def parse_text(text: str, name: str) -> Any:
    if text.lstrip().startswith(("{", "[")):
        try:
            value = json.loads(text)
        except RecursionError:
            raise SpecError(f"{name}: nested more than {MAX_DEPTH} levels deep") from None
        except json.JSONDecodeError as exc:
            raise SpecError(
                f"{name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from None
    else:
        value = _bounded_yaml(text, name)
    _check_shape(value, name)
    return value


def _bounded_yaml(text: str, name: str) -> Any:
    # The parser is iterative; the composer recurses and aliases multiply nodes, so the
    # event stream is checked first. Aliases are refused: a spec has $ref for sharing.
    depth = nodes = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            mark = event.start_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
            if isinstance(event, yaml.AliasEvent):
                raise SpecError(f"{name}: {where}: YAML aliases are not accepted (use $ref)")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise SpecError(f"{name}: {where}: nested more than {MAX_DEPTH} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    raise SpecError(f"{name}: {where}: more than {MAX_NODES:,} values")
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{name}: not valid YAML: {' '.join(str(exc).split())}") from None


def _check_shape(value: Any, name: str) -> None:
    """Depth and size of an already parsed value (JSON has no event stream)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    count = 0
    while stack:
        item, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise SpecError(f"{name}: nested more than {MAX_DEPTH} levels deep")
        if count > MAX_NODES:
            raise SpecError(f"{name}: more than {MAX_NODES:,} values")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def load_spec(path: Path | str) -> OwnSpec:
    path = Path(path)
    return build_spec(read_document(path), str(path))


def build_spec(raw: Any, name: str) -> OwnSpec:
    return _Normaliser(raw, name).run()


class _Normaliser:
    def __init__(self, raw: Any, name: str) -> None:
        self.raw = raw
        self.name = name
        self.version = ""

    def fail(self, where: tuple[str | int, ...], reason: str) -> SpecError:
        return SpecError(f"{self.name}: {pointer(where)}: {reason}")

    def run(self) -> OwnSpec:
        raw = self.raw
        if not isinstance(raw, dict):
            raise self.fail((), "an OpenAPI document is a mapping")
        if "swagger" in raw:
            raise self.fail(("swagger",), "Swagger 2.0; convert it to OpenAPI 3.0 or 3.1")
        version = raw.get("openapi")
        if not isinstance(version, str) or not re.match(r"^3\.[01]\.\d+", version):
            raise self.fail(("openapi",), f"{version!r}: OpenAPI 3.0.x or 3.1.x expected")
        self.version = version[:3]
        info = raw.get("info")
        title = info.get("title") if isinstance(info, dict) else None
        info_version = info.get("version", "") if isinstance(info, dict) else ""
        if not isinstance(title, str):
            raise self.fail(("info", "title"), "required (a string)")
        components = raw.get("components", {})
        if not isinstance(components, dict):
            raise self.fail(("components",), "a mapping expected")
        schemas = components.get("schemas", {})
        if not isinstance(schemas, dict):
            raise self.fail(("components", "schemas"), "a mapping expected")
        paths = raw.get("paths")
        if not isinstance(paths, dict) or not paths:
            raise self.fail(("paths",), "at least one path expected")
        out_paths: dict[str, Any] = {}
        for template, item in paths.items():
            out_paths[template] = self._path_item(str(template), item)
        converted = {
            str(k): self._schema(v, ("components", "schemas", str(k))) for k, v in schemas.items()
        }
        document = {
            "openapi": version,
            "info": {"title": title, "version": str(info_version)},
            "paths": out_paths,
            "components": {"schemas": converted},
        }
        return OwnSpec(self.name, self.version, title, document)

    # -- references ---------------------------------------------------------------------

    def resolve(
        self, value: Any, where: tuple[str | int, ...]
    ) -> tuple[Any, tuple[str | int, ...]]:
        """Follow `$ref`s (local ones only) to the object they name, and its place."""
        for _ in range(32):
            if not isinstance(value, dict) or "$ref" not in value:
                return value, where
            ref = value["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                raise self.fail(
                    (*where, "$ref"), f"{ref!r}: only references inside this file (#/…)"
                )
            target: Any = self.raw
            parts: tuple[str | int, ...] = ()
            for part in ref[2:].split("/"):
                key = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or key not in target:
                    raise self.fail((*where, "$ref"), f"{ref!r} points at nothing")
                target = target[key]
                parts = (*parts, key)
            value, where = target, parts
        raise self.fail(where, "$ref chain longer than 32 links (a cycle?)")

    # -- paths and operations -----------------------------------------------------------

    def _path_item(self, template: str, item: Any) -> dict[str, Any]:
        where: tuple[str | int, ...] = ("paths", template)
        if not template.startswith("/"):
            raise self.fail(where, "a path starts with /")
        for name in re.findall(r"\{([^}]*)\}", template):
            if not _PARAM_NAME.match(name):
                raise self.fail(
                    where, f"path parameter {{{name}}}: letters, digits and _ only are served"
                )
        item, where = self.resolve(item, where)
        if not isinstance(item, dict):
            raise self.fail(where, "a path item is a mapping")
        shared = self._parameters(item.get("parameters", []), (*where, "parameters"))
        out: dict[str, Any] = {}
        for method in METHODS:
            if method in item:
                out[method] = self._operation(item[method], (*where, method), shared, template)
        if not out:
            raise self.fail(where, "no operation (get, post, …)")
        return out

    def _parameters(self, params: Any, where: tuple[str | int, ...]) -> list[dict[str, Any]]:
        if not isinstance(params, list):
            raise self.fail(where, "a list of parameters expected")
        out = []
        for i, param in enumerate(params):
            param, place = self.resolve(param, (*where, i))
            if not isinstance(param, dict):
                raise self.fail(place, "a parameter is a mapping")
            name, location = param.get("name"), param.get("in")
            if not isinstance(name, str) or location not in {"query", "path", "header", "cookie"}:
                raise self.fail(place, "a parameter needs a name and in: query|path|header|cookie")
            schema = param.get("schema")
            if schema is None and "content" in param:
                media: Any = next(iter(param["content"].values()), {}) if param["content"] else {}
                schema = media.get("schema") if isinstance(media, dict) else None
            out.append(
                {
                    "name": name,
                    "in": location,
                    "required": bool(param.get("required")) or location == "path",
                    "schema": self._schema(schema or {}, (*place, "schema")),
                }
            )
        return out

    def _operation(
        self,
        op: Any,
        where: tuple[str | int, ...],
        shared: list[dict[str, Any]],
        template: str,
    ) -> dict[str, Any]:
        if not isinstance(op, dict):
            raise self.fail(where, "an operation is a mapping")
        own = self._parameters(op.get("parameters", []), (*where, "parameters"))
        names = {(p["name"], p["in"]) for p in own}
        params = [p for p in shared if (p["name"], p["in"]) not in names] + own
        declared = {p["name"] for p in params if p["in"] == "path"}
        for name in re.findall(r"\{([^}]*)\}", template):
            if name not in declared:
                raise self.fail((*where, "parameters"), f"path parameter {name!r} not declared")
        out: dict[str, Any] = {"parameters": params}
        if "operationId" in op:
            out["operationId"] = str(op["operationId"])
        if "requestBody" in op:
            body, place = self.resolve(op["requestBody"], (*where, "requestBody"))
            if not isinstance(body, dict):
                raise self.fail(place, "a request body is a mapping")
            out["requestBody"] = {
                "required": bool(body.get("required")),
                "content": self._content(body.get("content", {}), (*place, "content")),
            }
        responses = op.get("responses")
        if not isinstance(responses, dict) or not responses:
            raise self.fail((*where, "responses"), "at least one response expected")
        out["responses"] = {}
        for status, response in responses.items():
            status = str(status)
            if not re.match(r"^([2-5]\d\d|[2-5]XX|default)$", status):
                raise self.fail(
                    (*where, "responses", status), "not a status code the mock can answer (2xx–5xx)"
                )
            response, place = self.resolve(response, (*where, "responses", status))
            if not isinstance(response, dict):
                raise self.fail(place, "a response is a mapping")
            out["responses"][status] = {
                "description": str(response.get("description", "")),
                "content": self._content(response.get("content", {}), (*place, "content")),
            }
        return out

    def _content(self, content: Any, where: tuple[str | int, ...]) -> dict[str, Any]:
        if not isinstance(content, dict):
            raise self.fail(where, "a mapping of media types expected")
        out: dict[str, Any] = {}
        for media_type, media in content.items():
            place = (*where, str(media_type))
            if not isinstance(media, dict):
                raise self.fail(place, "a media type object is a mapping")
            entry: dict[str, Any] = {}
            if "schema" in media:
                entry["schema"] = self._schema(media["schema"], (*place, "schema"))
            if "example" in media:
                entry["example"] = media["example"]
            if "examples" in media:
                examples = media["examples"]
                if not isinstance(examples, dict):
                    raise self.fail((*place, "examples"), "a mapping of named examples expected")
                entry["examples"] = {}
                for key, example in examples.items():
                    example, at = self.resolve(example, (*place, "examples", str(key)))
                    if not isinstance(example, dict) or "value" not in example:
                        if isinstance(example, dict) and "externalValue" in example:
                            raise self.fail(at, "externalValue examples are not served")
                        raise self.fail(at, "an example needs a value")
                    entry["examples"][str(key)] = {"value": example["value"]}
            out[str(media_type)] = entry
        return out

    # -- schemas ------------------------------------------------------------------------

    def _schema(self, schema: Any, where: tuple[str | int, ...]) -> Any:
        if isinstance(schema, bool):
            return schema
        if not isinstance(schema, dict):
            raise self.fail(where, "a schema is a mapping")
        if "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/components/schemas/"):
                raise self.fail(
                    (*where, "$ref"),
                    f"{ref!r}: schemas may refer to #/components/schemas/… of this file only",
                )
            self.resolve({"$ref": ref}, where)  # exists?
            if self.version == "3.0":
                return {"$ref": ref}  # 3.0 ignores siblings of $ref
        out: dict[str, Any] = copy.copy(schema)
        patterns = [("pattern", out.get("pattern"))] + [
            (f"patternProperties.{k}", k) for k in out.get("patternProperties") or {}
        ]
        for key, pattern in patterns:
            if pattern is None:
                continue
            if not isinstance(pattern, str) or len(pattern) > 1000:
                raise self.fail((*where, key), "a regular expression (at most 1,000 chars)")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise self.fail((*where, key), f"not a regular expression: {exc}") from None
        for key in _SUBSCHEMA_MAPS:
            if isinstance(out.get(key), dict):
                out[key] = {
                    str(k): self._schema(v, (*where, key, str(k))) for k, v in out[key].items()
                }
        for key in _SUBSCHEMA_LISTS:
            if isinstance(out.get(key), list):
                out[key] = [self._schema(v, (*where, key, i)) for i, v in enumerate(out[key])]
        for key in _SUBSCHEMA_ONE:
            if key in out and isinstance(out[key], dict | bool):
                out[key] = self._schema(out[key], (*where, key))
        if self.version == "3.0":
            out = _from_30(out)
        return out


def _from_30(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0's schema words as JSON Schema 2020-12."""
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if schema.get(bound) is True and limit in schema:
            schema[bound] = schema.pop(limit)
        elif schema.get(bound) is False:
            del schema[bound]
    if "example" in schema and "examples" not in schema:
        schema["examples"] = [schema["example"]]
    if schema.pop("nullable", False) is True:
        return {"anyOf": [schema, {"type": "null"}]}
    return schema
