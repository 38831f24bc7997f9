"""Every service contract by id: which reference back end implements it, and its scenarios.

A contract's document is the OpenAPI that its reference back end publishes, built from the
pydantic models in contracts/services. The documents are committed under contracts/openapi
(`gsp-sandbox contracts export` rewrites them); platforms validate against those files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType

from contracts.fidelity import Fidelity
from contracts.openapi_store import document_path
from contracts.scenarios import GENERIC, Scenario
from contracts.services import (
    business_registration,
    civil_status,
    data_warehouse,
    documents,
    generic,
    judicial_records,
    land,
    one_stop_shop,
    population,
    postal,
    public_service_portal,
    shared_categories,
    social_insurance,
    tax,
)
from contracts.services.datasets import dataset_names


@dataclass(frozen=True)
class ContractRef:
    id: str
    version: str
    app: str  # the reference back end (services.catalog key)
    params: dict[str, str] = field(default_factory=dict)
    scenarios: tuple[Scenario, ...] = ()  # the module's SCENARIOS (contracts/scenarios.py)
    # The module's FIDELITY: per operation ("GET /congDan"), where its shape comes from.
    fidelity: Mapping[str, Fidelity] = field(default_factory=dict)
    # For every operation not in `fidelity` (a dataset's operations are named by its data).
    default_fidelity: Fidelity | None = None

    def fidelity_of(self, operation: str) -> Fidelity | None:
        return self.fidelity.get(operation, self.default_fidelity)

    @property
    def document_path(self) -> Path:
        return document_path(self.id, self.version)


def _ref(module: ModuleType, app: str) -> ContractRef:
    scenarios: tuple[Scenario, ...] = module.SCENARIOS
    fidelity: dict[str, Fidelity] = module.FIDELITY
    return ContractRef(
        module.CONTRACT_ID, module.CONTRACT_VERSION, app, scenarios=scenarios, fidelity=fidelity
    )


def _dataset_refs() -> list[ContractRef]:
    return [
        ContractRef(
            f"{generic.CONTRACT_ID}.{name}",
            generic.CONTRACT_VERSION,
            "generic",
            {"dataset": name},
            generic.SCENARIOS,
            default_fidelity=generic.FIDELITY,
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
        _ref(shared_categories, "shared-categories"),
        _ref(judicial_records, "judicial-records"),
        _ref(one_stop_shop, "one-stop-shop"),
        _ref(data_warehouse, "data-warehouse"),
        *_dataset_refs(),
    ]
    return {r.id: r for r in refs}


# -- lookups: what the platforms' catalog and the back ends ask ---------------------------


@cache
def _tables() -> tuple[dict[str, ContractRef], list[tuple[str, dict[str, str], str]]]:
    refs = contracts().values()
    return {r.id: r for r in refs}, [(r.app, r.params, r.id) for r in refs]


def contract_ref(contract_id: str) -> ContractRef | None:
    return _tables()[0].get(contract_id)


def scenarios_for_contract(contract_id: str) -> tuple[Scenario, ...]:
    """A contract's scenarios; none for a contract the registry does not know."""
    ref = contract_ref(contract_id)
    return ref.scenarios if ref is not None else ()


def contract_of_app(app: str, params: Mapping[str, object]) -> str | None:
    """The contract whose reference back end this app (with these params) is."""
    for ref_app, ref_params, contract_id in _tables()[1]:
        if ref_app == app and all(params.get(k) == v for k, v in ref_params.items()):
            return contract_id
    return None


def scenarios_for_app(app: str, params: Mapping[str, object]) -> tuple[Scenario, ...]:
    """What a back end acts out: its contract's scenarios. An app that is no contract's
    reference back end (the e-office speaks the document axis's contract) gets the
    shared ones."""
    contract_id = contract_of_app(app, params)
    return scenarios_for_contract(contract_id) if contract_id else GENERIC


def ref_of_app(app: str, params: Mapping[str, object]) -> ContractRef | None:
    """The contract this app (with these params) is the reference back end of."""
    contract_id = contract_of_app(app, params)
    return contract_ref(contract_id) if contract_id else None
