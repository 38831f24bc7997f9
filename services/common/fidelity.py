"""Each operation of a back end's OpenAPI document says where its shape comes from.

The ledger lives in the contracts (contracts/fidelity.py, each module's FIDELITY); this puts
it into the document the back end publishes — which is what `gsp-sandbox contracts export`
commits — as `x-sandbox-fidelity`. An operation without an entry, or an entry naming no
operation, is an error: the export and the contract tests fail until the ledger is whole.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from contracts.fidelity import document_entry
from contracts.registry import ContractRef
from services.common.scenarios import contract_operations

EXTENSION = "x-sandbox-fidelity"


def annotate_fidelity(document: dict[str, Any], ref: ContractRef) -> None:
    served = set()
    missing = []
    for method, path in contract_operations(document):
        name = f"{method} {path}"
        served.add(name)
        fidelity = ref.fidelity_of(name)
        if fidelity is None:
            missing.append(name)
            continue
        document["paths"][path][method.lower()][EXTENSION] = document_entry(fidelity)
    unknown = sorted(set(ref.fidelity) - served)
    if missing or unknown:
        raise ValueError(
            f"{ref.id}: the fidelity ledger (FIDELITY) does not match the operations: "
            f"without an entry: {', '.join(missing) or 'none'}; entries for no operation: "
            f"{', '.join(unknown) or 'none'}"
        )


def document_fidelity(app: FastAPI, ref: ContractRef) -> None:
    """The app's OpenAPI document, once built, carries the ledger (see annotate_fidelity)."""
    build = app.openapi
    annotated: list[bool] = []

    def openapi() -> dict[str, Any]:
        document = build()
        if not annotated:
            annotate_fidelity(document, ref)
            annotated.append(True)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
