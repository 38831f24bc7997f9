"""Make an app's OpenAPI tell the truth about errors: they are application/problem+json."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from contracts.problem import PROBLEM_MEDIA_TYPE, Problem

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        found.update(schema.pop("$defs", {}))
        found[model.__name__] = schema
    return found


# On an operation (openapi_extra): its refusals are a foreign protocol's, documented by it.
FOREIGN_ERRORS = "x-foreign-errors"


def problem_openapi(app: FastAPI, extra_models: list[type[BaseModel]] | None = None) -> None:
    """Every 4xx/5xx response is documented as a Problem; FastAPI's default 422 shape goes.

    `extra_models` are bodies that routes parse themselves (say, JSON or XML) and document
    by reference; their schemas join the components.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for path_item in document.get("paths", {}).values():
            for operation in path_item.values():
                if operation.get(FOREIGN_ERRORS):
                    continue  # a foreign protocol's route documents its own refusals
                responses = operation.get("responses", {})
                for status, response in responses.items():
                    if status[0] in "45":
                        response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}
                        if status == "422":
                            response["description"] = "Request does not match the contract"
        components = document.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        for name, schema in _schemas(extra_models or []).items():
            components.setdefault(name, schema)
        components.update(_schemas([Problem]))
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
