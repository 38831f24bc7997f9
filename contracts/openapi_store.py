"""Where the committed contract documents live, and reading one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OPENAPI_DIR = Path(__file__).with_name("openapi")


def document_path(contract_id: str, version: str) -> Path:
    return OPENAPI_DIR / f"{contract_id}-{version}.json"


def load_document(contract_id: str, version: str) -> dict[str, Any] | None:
    path = document_path(contract_id, version)
    if not path.is_file():
        return None
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document
