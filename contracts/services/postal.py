"""Public postal service (apiBuuChinhCongIch): ship an administrative result to a citizen.

No public shape: unverified.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from contracts.fidelity import unverified
from contracts.scenarios import GENERIC
from contracts.services.common import CCCD, AgencyCode

CONTRACT_ID = "vn.gov.bcci.result-shipping"
CONTRACT_VERSION = "1.0"
FIDELITY = {
    "POST /taoVanDon": unverified("Public postal service APIs exist; no public shape found."),
    "GET /trangThaiVanDon": unverified("Public postal service APIs exist; no public shape found."),
}
SCENARIOS = GENERIC  # X-Sandbox-Scenario outcomes (contracts/scenarios.py)


class TaoVanDon(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "maHoSo": "000.00.01.H04-241122-0001",
                    "maDonViGui": "000.00.01.H04",
                    "soDinhDanhNguoiNhan": "024090012345",
                    "hoTenNguoiNhan": "Nguyễn Văn An",
                    "diaChiNhan": "Số 12 đường Lê Lợi, Phường Hoàng Văn Thụ, Thành phố Bắc Giang",
                    "soDienThoai": "0912345678",
                }
            ]
        },
    )

    maHoSo: str = Field(min_length=1, max_length=40, description="Dossier whose result ships")
    maDonViGui: AgencyCode
    soDinhDanhNguoiNhan: CCCD
    hoTenNguoiNhan: str = Field(min_length=1, max_length=100)
    diaChiNhan: str = Field(min_length=5, max_length=300)
    soDienThoai: str = Field(pattern=r"^0\d{9}$")


class VanDon(BaseModel):
    maVanDon: str
    maHoSo: str
    trangThai: str
    hanhTrinh: list[str]
