"""Every service contract by id: which reference back end implements it.

A contract's document is the OpenAPI that its reference back end publishes, built from the
pydantic models in contracts/services. The documents are committed under contracts/openapi
(`gsp-sandbox contracts export` rewrites them); platforms validate against those files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from contracts.openapi_store import document_path
from contracts.scenarios import Scenario
from contracts.services import (
    business_registration,
    civil_status,
    data_warehouse,
    documents,
    generic,
    land,
    one_stop_shop,
    population,
    postal,
    public_service_portal,
    social_insurance,
    tax,
)


@dataclass(frozen=True)
class ContractRef:
    id: str
    version: str
    app: str  # the reference back end (services.catalog key)
    params: dict[str, str] = field(default_factory=dict)
    scenarios: tuple[Scenario, ...] = ()  # the module's SCENARIOS (contracts/scenarios.py)

    @property
    def document_path(self) -> Path:
        return document_path(self.id, self.version)


def _ref(module: ModuleType, app: str) -> ContractRef:
    return ContractRef(module.CONTRACT_ID, module.CONTRACT_VERSION, app, scenarios=module.SCENARIOS)


def _dataset_refs() -> list[ContractRef]:
    from services.generic.data import dataset_names

    return [
        ContractRef(
            f"{generic.CONTRACT_ID}.{name}",
            generic.CONTRACT_VERSION,
            "generic",
            {"dataset": name},
            generic.SCENARIOS,
        )
        for name in dataset_names()
    ]


def contracts() -> dict[str, ContractRef]:
    refs = [
        _ref(population, "population"),
        _ref(business_registration, "business-registration"),
        _ref(civil_status, "civil-status"),
        _ref(social_insurance, "social-insurance"),
        _ref(tax, "tax"),
        _ref(land, "land"),
        _ref(public_service_portal, "public-service-portal"),
        _ref(documents, "document-axis"),
        _ref(postal, "postal"),
        _ref(one_stop_shop, "one-stop-shop"),
        _ref(data_warehouse, "data-warehouse"),
        *_dataset_refs(),
    ]
    return {r.id: r for r in refs}
