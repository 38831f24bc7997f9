"""National land database (apiDatDai): parcels by commune, map sheet and number; by owner.

No public shape: unverified.
"""

from __future__ import annotations

from pydantic import BaseModel

CONTRACT_ID = "vn.gov.datdai.land-parcels"
CONTRACT_VERSION = "1.0"


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
