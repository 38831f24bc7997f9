"""The platform's own contracts say what it takes and what it refuses (Schemathesis found
bodies undocumented, a date the schema allowed but the platform refused, and the routed
path's 413 missing)."""

from __future__ import annotations

import httpx
import pytest
from jsonschema import Draft202012Validator

from contracts.edxml import DocumentPackage
from sandbox.export.contracts import platform_document
from sandbox.testing.harness import RunningTopology
from tests.conftest import LGSP
from tests.helpers import bearer


@pytest.mark.parametrize(
    ("path", "media_type", "required"),
    [
        ("/token", "application/x-www-form-urlencoded", ["grant_type"]),
        ("/revoke", "application/x-www-form-urlencoded", ["token"]),
        ("/documents/relay", "application/json", None),
        ("/documents/relay-status", "application/json", None),
    ],
)
def test_bodies_the_platform_reads_itself_are_in_its_openapi(
    path: str, media_type: str, required: list[str] | None
) -> None:
    document = platform_document()
    body = document["paths"][path]["post"]["requestBody"]
    schema = body["content"][media_type]["schema"]
    if required is not None:
        assert schema["required"] == required
    else:
        name = schema["$ref"].rsplit("/", 1)[1]
        assert name in document["components"]["schemas"]


@pytest.mark.parametrize(
    ("due", "valid"),
    [("0000/00/00", False), ("2026/13/01", False), ("1899/12/31", False), ("2026/11/30", True)],
)
def test_the_package_schema_refuses_the_dates_the_platform_refuses(due: str, valid: bool) -> None:
    schema = DocumentPackage.model_json_schema(by_alias=True)
    date_schema = schema["properties"]["dueDate"]
    choices = date_schema.get("anyOf", [date_schema])
    string_schema = next(c for c in choices if c.get("type") == "string")
    assert Draft202012Validator(string_schema).is_valid(due) is valid, due


@pytest.mark.sockets
async def test_the_catalog_document_names_the_routed_paths_own_answers(
    sandbox: RunningTopology, client: httpx.AsyncClient
) -> None:
    lgsp = sandbox.url(LGSP)
    headers = await bearer(client, lgsp, sandbox.topology, "motcua-bac-giang")
    response = await client.get(f"{lgsp}/catalog/apiMotCua/1.0/openapi.json", headers=headers)
    assert response.status_code == 200, response.text
    post = response.json()["paths"]["/hoSo"]["post"]["responses"]
    assert {"413", "502", "503", "504"} <= set(post)
    get = response.json()["paths"]["/hoSo"]["get"]["responses"]
    assert "413" not in get and "504" in get
