"""The province's shared data warehouse and open-data catalog. Unverified shape."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from contracts.fidelity import unverified
from contracts.scenarios import GENERIC

CONTRACT_ID = "vn.bacgiang.khodulieu.open-data"
CONTRACT_VERSION = "1.0"
FIDELITY = {
    "GET /danhMucDuLieu": unverified("A provincial system; no public shape found."),
    "GET /duLieu/{maBoDuLieu}": unverified("A provincial system; no public shape found."),
}
SCENARIOS = GENERIC  # X-Sandbox-Scenario outcomes (contracts/scenarios.py)


class BoDuLieu(BaseModel):
    maBoDuLieu: str
    tenBoDuLieu: str
    coQuanChuQuan: str
    giayPhep: str
    soBanGhi: int


class DanhMucDuLieu(BaseModel):
    Status: int
    Message: str
    Data: list[BoDuLieu]


class DuLieu(BaseModel):
    Status: int
    Message: str
    Data: list[dict[str, Any]]
    Total: int
