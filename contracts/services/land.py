"""National land database (apiDatDai): parcels by commune, map sheet and number; by owner.

No public shape: unverified.
"""

from __future__ import annotations

from pydantic import BaseModel

from contracts.fidelity import unverified
from contracts.scenarios import GENERIC

CONTRACT_ID = "vn.gov.datdai.land-parcels"
CONTRACT_VERSION = "1.0"
FIDELITY = {
    "GET /thuaDat": unverified("The land database is connected behind NGSP; no public shape."),
    "GET /thuaDatTheoChu": unverified(
        "The land database is connected behind NGSP; no public shape."
    ),
}
SCENARIOS = GENERIC  # X-Sandbox-Scenario outcomes (contracts/scenarios.py)


class ThuaDat(BaseModel):
    maXa: str
    tenXa: str
    soToBanDo: int
    soThua: int
    dienTich: float
    mucDichSuDung: str
    chuSuDung: str
    soDinhDanhChu: str
    soGiayChungNhan: str


class DanhSachThuaDat(BaseModel):
    soKetQua: int
    danhSach: list[ThuaDat]
