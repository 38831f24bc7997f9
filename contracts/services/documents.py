"""Official documents between agencies (edXML header fields, QCVN 102:2016), JSON form.

Used by the national document exchange axis and the provincial e-office system. Status
codes: 01 arrived, 02 rejected, 03 accepted, 04 assigned, 05 processing, 06 done,
13 recalled, 15 update accepted, 16 update rejected.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.fidelity import QCVN_102, partial
from contracts.scenarios import GENERIC
from contracts.services.common import AgencyCode, TextDate

CONTRACT_ID = "vn.gov.edxml.document"
CONTRACT_VERSION = "1.0"
_JSON_FORM = (
    "The package fields are QCVN 102's (the platform's /documents speaks edXML itself); "
    "these JSON operations of the sample e-office and axis back ends are the sandbox's own."
)
FIDELITY = {
    "POST /guiVanBan": partial(QCVN_102, note=_JSON_FORM),
    "GET /vanBan/{id}": partial(QCVN_102, note=_JSON_FORM),
    "POST /vanBan/{id}/trangThai": partial(
        QCVN_102, note="Status codes 01-16 from QCVN 102; the operation is the sandbox's own."
    ),
    "GET /vanBanDen": partial(QCVN_102, note=_JSON_FORM),
}
SCENARIOS = GENERIC  # X-Sandbox-Scenario outcomes (contracts/scenarios.py)
StatusCode = Literal["01", "02", "03", "04", "05", "06", "13", "15", "16"]


class DonVi(BaseModel):
    maDonVi: AgencyCode
    tenDonVi: str = Field(min_length=1, max_length=200)


class NguoiKy(BaseModel):
    thamQuyen: str = Field(default="TM. ỦY BAN NHÂN DÂN", max_length=100)
    chucVu: str = Field(min_length=1, max_length=100)
    hoTen: str = Field(min_length=1, max_length=100)


class VanBan(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "maThamChieu": "000.00.01.H04,2024/11/22,1234/UBND-KGVX",
                    "noiGui": {
                        "maDonVi": "000.00.01.H04",
                        "tenDonVi": "Văn phòng UBND tỉnh Bắc Giang",
                    },
                    "noiNhan": [
                        {
                            "maDonVi": "000.00.12.H04",
                            "tenDonVi": "Sở Thông tin và Truyền thông tỉnh Bắc Giang",
                        }
                    ],
                    "soKyHieu": "1234/UBND-KGVX",
                    "loaiVanBan": "Công văn",
                    "trichYeu": "Về việc triển khai kết nối LGSP",
                    "noiBanHanh": "Bắc Giang",
                    "ngayBanHanh": "2024-11-22",
                    "nguoiKy": {"chucVu": "Chủ tịch", "hoTen": "Nguyễn Văn Gấu"},
                }
            ]
        },
    )

    maThamChieu: str = Field(min_length=1, max_length=120, description="Sender's idempotency key")
    noiGui: DonVi
    noiNhan: list[DonVi] = Field(min_length=1, max_length=50)
    soKyHieu: str = Field(min_length=1, max_length=60, description="Number and notation")
    loaiVanBan: str = Field(min_length=1, max_length=60)
    trichYeu: str = Field(min_length=1, max_length=1000, description="Subject")
    noiBanHanh: str = Field(min_length=1, max_length=100)
    ngayBanHanh: TextDate
    nguoiKy: NguoiKy
    doKhan: Literal["Thường", "Khẩn", "Thượng khẩn", "Hỏa tốc"] = "Thường"
    hanXuLy: TextDate | None = None


class VanBanDaNhan(BaseModel):
    id: str
    trangThai: StatusCode
    vanBan: VanBan


class CapNhatTrangThai(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"trangThai": "03", "ghiChu": "Đã tiếp nhận"}]},
    )

    trangThai: StatusCode
    ghiChu: str | None = Field(default=None, max_length=500)
