"""Civil status registration, Ministry of Justice (apiHoTichTuPhap): birth registrations.

Status codes from the connection guide: 1 received, 2 needs more information, 3 eligible,
4 registered, 0 error. Error codes: 100 authentication, 101 IP not allowed, 106 wrong agency
id, 108 wrong province id, 200 incomplete record, 201 not found, 302 invalid data type,
500 incorrect data. Field names of the dossier are an unverified shape.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.scenarios import GENERIC
from contracts.services.common import CCCD, AgencyCode

CONTRACT_ID = "vn.gov.hotich.civil-status"
CONTRACT_VERSION = "1.0"
SCENARIOS = GENERIC  # X-Sandbox-Scenario outcomes (contracts/scenarios.py)

STATUS_NAMES = {
    0: "Lỗi",
    1: "Đã tiếp nhận",
    2: "Cần bổ sung thông tin",
    3: "Đủ điều kiện",
    4: "Đã đăng ký",
}


class KhaiSinh(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "maHoSo": "000.00.01.H04-241122-0001",
                    "maDonVi": "000.00.01.H04",
                    "maTinh": "24",
                    "hoTenTre": "Nguyễn Minh Khôi",
                    "gioiTinh": 1,
                    "ngaySinh": "2024-11-02",
                    "noiSinh": "Bệnh viện Đa khoa tỉnh Bắc Giang",
                    "cccdMe": "024190012345",
                    "hoTenMe": "Trần Thị Lan",
                    "cccdCha": "024088012346",
                    "hoTenCha": "Nguyễn Văn Hùng",
                }
            ]
        },
    )

    maHoSo: str = Field(min_length=1, max_length=40, description="Dossier code, agency-chosen")
    maDonVi: AgencyCode
    maTinh: str = Field(pattern=r"^\d{2}$", description="Province code, e.g. 24 Bắc Giang")
    hoTenTre: str = Field(min_length=1, max_length=100)
    gioiTinh: Literal[1, 2]
    ngaySinh: date
    noiSinh: str = Field(min_length=1, max_length=200)
    cccdMe: CCCD
    hoTenMe: str = Field(min_length=1, max_length=100)
    cccdCha: CCCD | None = None
    hoTenCha: str | None = None


class KetQuaTiepNhan(BaseModel):
    status: int = Field(description="1 received, 2 needs info, 3 eligible, 4 registered, 0 error")
    maHoSo: str
    soDinhDanhTre: str | None = Field(description="Issued once registered (status 4)")
    moTa: str


class DanhMuc(BaseModel):
    ma: str
    ten: str
