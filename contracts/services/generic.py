"""The generic data-driven service: any dataset as a paged list and a record by id."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from contracts.fidelity import unverified
from contracts.scenarios import GENERIC

CONTRACT_ID = "vn.gsp-sandbox.generic-dataset"
CONTRACT_VERSION = "1.0"
# Every operation of every dataset: the datasets are the sandbox's own (datasets.yaml).
FIDELITY = unverified(
    "A dataset of the sandbox's own (contracts/services/datasets.yaml), served by the "
    "generic back end; not a published shape."
)
SCENARIOS = GENERIC  # X-Sandbox-Scenario outcomes (contracts/scenarios.py)


class DanhSach(BaseModel):
    Status: int = Field(examples=[1])
    Message: str = Field(examples=["Thành công"])
    Data: list[dict[str, Any]]
    Total: int
    Page: int
    Size: int


class BanGhi(BaseModel):
    Status: int
    Message: str
    Data: dict[str, Any]


class MoTaBoDuLieu(BaseModel):
    name: str
    title: str
    collection: str
    id_field: str
    fields: list[str]
    total: int
