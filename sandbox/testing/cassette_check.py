"""Drift: a cassette held against its service's contract (`gsp-sandbox check-cassette`).

Each recorded exchange is matched to its contract operation; the recorded bodies are walked
beside the documented schemas, reporting every field the real system sent that the contract
does not know, every value whose type differs, query parameters the contract does not name,
statuses it does not document, and calls that are no operation of it. Validation alone would
miss the first kind: contracts rarely forbid extra properties. These are the input for the
fidelity ledger: what the real side does that the sandbox's shape does not say.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from contracts.cassette import MASK, SECRET_VALUE, load_cassette
from contracts.openapi_store import load_document
from contracts.own_spec import OwnSpec, build_spec, load_spec, schema_at
from sandbox.topology.loading import load_topology

MAX_FINDINGS = 1_000
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


@dataclass(frozen=True)
class Drift:
    interaction: int
    call: str  # "GET /chiTietDoanhNghiep → 200"
    where: str  # "$.response.body.Data.NewField"
    kind: str  # unknown-field | type | unknown-parameter | undocumented-status | unknown-operation
    detail: str

    def line(self) -> str:
        return f"interactions[{self.interaction}] {self.call}: {self.where}: {self.detail}"


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


class _Walker:
    def __init__(self, document: dict[str, Any]) -> None:
        self.components: dict[str, Any] = document.get("components", {})
        self.found: list[tuple[str, str, str]] = []

    def deref(self, schema: Any) -> Any:
        for _ in range(32):
            if not isinstance(schema, dict) or "$ref" not in schema:
                return schema
            schema = schema_at(self.components, str(schema["$ref"]))
        return {}

    def _types(self, schema: dict[str, Any]) -> set[str] | None:
        kind = schema.get("type")
        if kind is None:
            return None
        return set(kind) if isinstance(kind, list) else {str(kind)}

    def _fits(self, schema: Any, value: Any) -> bool:
        schema = self.deref(schema)
        if not isinstance(schema, dict):
            return True
        types = self._types(schema)
        if types is None:
            return True
        actual = _type_of(value)
        return actual in types or (actual == "integer" and "number" in types)

    def walk(self, schema: Any, value: Any, where: str, depth: int = 0) -> None:
        schema = self.deref(schema)
        if not isinstance(schema, dict) or depth > 64:
            return
        if isinstance(value, str) and (value == SECRET_VALUE or set(value) == {MASK}):
            return  # blanked or masked when recorded: its type was not kept
        options = [self.deref(o) for o in schema.get("anyOf", []) + schema.get("oneOf", [])]
        if options:
            chosen = next((o for o in options if self._fits(o, value)), None)
            if chosen is None:
                wanted = " or ".join(sorted({str(o.get("type", "any")) for o in options}))
                self.found.append(
                    (where, "type", f"the contract says {wanted}, recorded {_type_of(value)}")
                )
                return
            self.walk(chosen, value, where, depth + 1)
            return
        properties: dict[str, Any] = {}
        open_object = False
        for part in [schema, *(self.deref(p) for p in schema.get("allOf", []))]:
            if isinstance(part, dict):
                properties.update(part.get("properties", {}))
                extra = part.get("additionalProperties")
                open_object = (
                    open_object or isinstance(extra, dict) or bool(part.get("patternProperties"))
                )
        types = self._types(schema)
        actual = _type_of(value)
        if (
            types is not None
            and actual not in types
            and not (actual == "integer" and "number" in types)
        ):
            self.found.append(
                (
                    where,
                    "type",
                    f"the contract says {' or '.join(sorted(types))}, recorded {actual}",
                )
            )
            return
        if isinstance(value, dict):
            for key, item in value.items():
                place = f"{where}.{key}"
                if key in properties:
                    self.walk(properties[key], item, place, depth + 1)
                elif not open_object and (properties or types == {"object"}):
                    self.found.append(
                        (place, "unknown-field", f"not in the contract (recorded {_type_of(item)})")
                    )
        elif isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                self.walk(schema["items"], item, f"{where}[{i}]", depth + 1)


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")


def _schema_of(content: dict[str, Any]) -> Any:
    for media_type, media in content.items():
        if "json" in media_type and "schema" in media:
            return media["schema"]
    return None


def check(cassette: dict[str, Any], spec: OwnSpec) -> list[Drift]:
    """Every drift of the cassette's exchanges from the contract."""
    operations = [
        (method.upper(), template, _pattern(template), op)
        for template, item in spec.document["paths"].items()
        for method, op in item.items()
    ]
    operations.sort(key=lambda o: o[1].count("{"))
    out: list[Drift] = []
    for i, item in enumerate(cassette["interactions"]):
        request, response = item["request"], item["response"]
        method, path, status = request["method"].upper(), request["path"], response["status"]
        call = f"{method} {path} → {status}"
        found = next((o for o in operations if o[0] == method and o[2].match(path)), None)
        if found is None:
            out.append(Drift(i, call, "$.request", "unknown-operation", "no such operation"))
            continue
        _, template, _, op = found
        call = f"{method} {template} → {status}"
        walker = _Walker(spec.document)
        names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
        for key, _value in request.get("query", []):
            if key not in names:
                walker.found.append(
                    (f"$.request.query.{key}", "unknown-parameter", "not a parameter of it")
                )
        body_spec = op.get("requestBody")
        if body_spec is not None and request.get("body") is not None:
            schema = _schema_of(body_spec["content"])
            if schema is not None:
                walker.walk(schema, request["body"], "$.request.body")
        responses = op["responses"]
        documented = next(
            (
                responses[k]
                for k in (str(status), f"{str(status)[0]}XX", "default")
                if k in responses
            ),
            None,
        )
        if documented is None:
            walker.found.append(
                (
                    "$.response.status",
                    "undocumented-status",
                    f"{status} is not documented ({', '.join(sorted(responses))})",
                )
            )
        elif response.get("body") is not None:
            schema = _schema_of(documented["content"])
            if schema is not None:
                walker.walk(schema, response["body"], "$.response.body")
        out += [Drift(i, call, where, kind, detail) for where, kind, detail in walker.found]
        if len(out) >= MAX_FINDINGS:
            break
    return out[:MAX_FINDINGS]


def contract_spec(
    cassette: dict[str, Any],
    *,
    spec_file: Path | None,
    contract: str | None,
    version: str | None,
    topology: str,
) -> OwnSpec:
    """The contract to hold the cassette against: a file, a committed id, or the contract of
    the cassette's service in the topology."""
    if spec_file is not None:
        return load_spec(spec_file)
    version = version or str(cassette.get("version", "1.0"))
    if contract is None:
        code = cassette.get("service")
        found = load_topology(topology)
        service = next((s for s in found.services if s.code == code and s.version == version), None)
        if service is None or service.contract is None:
            raise ValueError(
                f"service {code}/{version} has no contract in topology {found.name}: "
                "give --contract or --spec"
            )
        contract = service.contract
    document = load_document(contract, version)
    if document is None:
        raise ValueError(f"no contract {contract!r} version {version} in contracts/openapi")
    return build_spec(document, f"{contract}-{version}")


def check_cassette_command(args: argparse.Namespace, console: Console) -> int:
    cassette = load_cassette(args.cassette)
    try:
        spec = contract_spec(
            cassette,
            spec_file=args.spec,
            contract=args.contract,
            version=args.version,
            topology=args.topology,
        )
    except ValueError as exc:
        console.print(f"{args.cassette}: {exc}", highlight=False)
        return 2
    drifts = check(cassette, spec)
    for drift in drifts:
        console.print(f"{args.cassette}: {drift.line()}", highlight=False)
    count = len(cassette["interactions"])
    verdict = f"{len(drifts)} difference(s)" if drifts else "no drift"
    console.print(
        f"{args.cassette}: {count} exchange(s) against {spec.title} ({spec.path}): {verdict}",
        highlight=False,
    )
    return 1 if drifts else 0
