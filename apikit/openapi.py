"""Make an app's OpenAPI tell the truth about errors: they are application/problem+json."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from contracts.problem import PROBLEM_MEDIA_TYPE, Problem

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _problem_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {"Problem": schema, **defs}


def problem_openapi(app: FastAPI) -> None:
    """Every 4xx/5xx response is documented as a Problem; FastAPI's default 422 shape goes."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for path_item in document.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.get("responses", {})
                for status, response in responses.items():
                    if status[0] in "45":
                        response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}
                        if status == "422":
                            response["description"] = "Request does not match the contract"
        components = document.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        components.update(_problem_schemas())
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
