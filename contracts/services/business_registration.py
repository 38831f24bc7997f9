"""National business registration database (apiCSDLDKDN), shapes from the connection guide.

Replies carry `Status` (1 ok / 0 error) and `Message`; detail fields are an unverified shape.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from contracts.scenarios import GENERIC, not_found
from contracts.services.common import EnterpriseCode

CONTRACT_ID = "vn.gov.csdldkdn.business-registration"
CONTRACT_VERSION = "1.0"
MAX_RANGE_DAYS = 5
# The states an enterprise's record can be in (the tax service maps each to its own).
TinhTrangDoanhNghiep = Literal["Đang hoạt động", "Tạm ngừng kinh doanh", "Đã giải thể"]
SCENARIOS = (
    not_found(
        ("GET /chiTietDoanhNghiep",),
        "enterprise-not-found",
        "enterprise",
        "Không tìm thấy doanh nghiệp",
        Status=0,  # the guide's reply envelope says error in every reply, problems included
    ),
    *GENERIC,
)


class DoanhNghiep(BaseModel):
    MaSoDoanhNghiep: EnterpriseCode
    TenDoanhNghiep: str
    LoaiHinh: str
    DiaChiTruSo: str
    NguoiDaiDienPhapLuat: str = Field(description="Representative's citizen ID")
    NgayThanhLap: date
    VonDieuLe: int
    NganhNgheChinh: str
    TinhTrang: str


class HoSoDangKy(BaseModel):
    MaHoSo: str
    MaSoDoanhNghiep: EnterpriseCode
    LoaiHoSo: str
    NgayNop: date
    TrangThai: str


class ChiTietDoanhNghiepReply(BaseModel):
    Status: int
    Message: str
    Data: DoanhNghiep


class DanhSachHoSoReply(BaseModel):
    Status: int
    Message: str
    Data: list[HoSoDangKy]


class TrangThaiHoSoReply(BaseModel):
    Status: int
    Message: str
    Data: HoSoDangKy
