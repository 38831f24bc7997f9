"""National population database (CSDLQG về dân cư), as a one-stop-shop system calls it.

The official field list is not public (unverified shape): names follow the Vietnamese
camelCase of the published connection guides.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from contracts.fidelity import unverified
from contracts.scenarios import GENERIC, not_found, record_locked
from contracts.services.common import CCCD

CONTRACT_ID = "vn.gov.csdldc.population"
CONTRACT_VERSION = "1.0"
FIDELITY = {
    "GET /congDan": unverified(
        "No published connection guide for the population database found; operation and "
        "fields are the sandbox's own."
    ),
    "POST /xacThucCongDan": unverified(
        "No published connection guide for the population database found."
    ),
}
SCENARIOS = (
    not_found(
        ("GET /congDan",),
        "citizen-not-found",
        "citizen",
        "Không tìm thấy công dân",
    ),
    record_locked(
        ("GET /congDan", "POST /xacThucCongDan"),
        "citizen's record",
        "Bản ghi công dân đang bị khóa",
    ),
    *GENERIC,
)


class DiaChi(BaseModel):
    chiTiet: str
    xaPhuong: str
    quanHuyen: str
    tinhThanh: str


class CongDan(BaseModel):
    soDinhDanh: CCCD
    hoTen: str
    gioiTinh: int = Field(description="1 nam, 2 nữ")
    ngaySinh: date
    danToc: str
    queQuan: str
    noiThuongTru: DiaChi
    maHoGiaDinh: str


class XacThucYeuCau(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"soDinhDanh": "024090012345", "hoTen": "Nguyễn Văn An", "ngaySinh": "1990-01-15"}
            ]
        },
    )

    soDinhDanh: CCCD
    hoTen: str = Field(min_length=1, max_length=100)
    ngaySinh: date


class XacThucKetQua(BaseModel):
    soDinhDanh: str
    tonTai: bool = Field(description="The ID exists in the database")
    khop: bool = Field(description="The ID exists and name and date of birth match")
    truongKhongKhop: list[str] = Field(description="Fields that do not match")
