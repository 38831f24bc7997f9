"""Write every contract's document under contracts/ (the committed copies).

Service contracts go to contracts/openapi; the platforms' own API (OpenAPI), the topology
file and the edXML package (JSON Schema) to contracts/schemas. `gsp-sandbox contracts export`
runs this; a test fails when the committed files differ from what the models produce, so a
model change cannot land without its documents.

It lives here, not in contracts/, because a service's document is what its reference back end
publishes and the platform API's is what a platform app publishes: building them takes the
apps, and contracts/ is the bottom layer that imports none of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from contracts.edxml import DocumentPackage
from contracts.openapi_store import OPENAPI_DIR
from contracts.registry import ContractRef, contracts
from contracts.topology import Tier, Topology
from gateway.settings import GatewaySettings
from gateway.spec import PlatformSpec
from lgsp.app import create_app
from services.catalog import load_factory
from services.common.config import BackendConfig

SCHEMAS_DIR = OPENAPI_DIR.with_name("schemas")


def contract_document(ref: ContractRef) -> dict[str, Any]:
    app = load_factory(ref.app)(
        BackendConfig(name=ref.app, app=ref.app, data_dir=Path("unused"), params=ref.params)
    )
    document = app.openapi()
    document["info"]["x-contract-id"] = ref.id
    document["info"]["version"] = ref.version
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def platform_document() -> dict[str, Any]:
    """The platforms' own API (token, topology, catalog, audit, admin, documents)."""
    spec = PlatformSpec(
        name="lgsp",
        tier=Tier.PROVINCIAL,
        title="LGSP",
        agency="000.00.12.H04",
        agency_name="LGSP",
        routes=[],
        consumers=[],
    )
    document = create_app(spec, GatewaySettings(data_dir=Path("unused"))).openapi()
    document["info"] = {"title": "GSP platform API (NGSP and LGSP)", "version": "1.0"}
    return document


def _documents() -> dict[Path, Callable[[], dict[str, Any]]]:
    found: dict[Path, Callable[[], dict[str, Any]]] = {
        ref.document_path: partial(contract_document, ref) for ref in contracts().values()
    }
    found[SCHEMAS_DIR / "platform-api.openapi.json"] = platform_document
    found[SCHEMAS_DIR / "topology.schema.json"] = Topology.model_json_schema
    found[SCHEMAS_DIR / "edxml-package.schema.json"] = partial(
        DocumentPackage.model_json_schema, by_alias=True
    )
    return found


def export() -> list[Path]:
    written = []
    for path, build in _documents().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(build()), encoding="utf-8")
        written.append(path)
    return written


def stale() -> list[str]:
    """Committed documents that differ from the models (or are missing)."""
    out = []
    for path, build in _documents().items():
        if not path.exists() or path.read_text(encoding="utf-8") != render(build()):
            out.append(path.name)
    return out


if __name__ == "__main__":
    for path in export():
        print(path)
