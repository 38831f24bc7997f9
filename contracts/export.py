"""Write every contract's OpenAPI document under contracts/openapi (the committed copies).

`gsp-sandbox contracts export` runs this; a test fails when the committed files differ from
what the models produce, so a model change cannot land without its documents.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.openapi_store import OPENAPI_DIR
from contracts.registry import ContractRef, contracts
from services.catalog import load_factory
from services.common.config import BackendConfig


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


def export(directory: Path = OPENAPI_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for ref in contracts().values():
        path = directory / ref.document_path.name
        path.write_text(render(contract_document(ref)), encoding="utf-8")
        written.append(path)
    return written


def stale() -> list[str]:
    """Contracts whose committed document differs from the models (or is missing)."""
    out = []
    for ref in contracts().values():
        expected = render(contract_document(ref))
        path = ref.document_path
        if not path.exists() or path.read_text(encoding="utf-8") != expected:
            out.append(ref.id)
    return out


if __name__ == "__main__":
    for path in export():
        print(path)
