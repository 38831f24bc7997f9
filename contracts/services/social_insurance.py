"""Social insurance (apiBHXH): look up a social-insurance number by criteria, household info.

Dates as yyyyMMdd, sex 1 male / 2 female / 3 other, as in the connection guide.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.scenarios import GENERIC
from contracts.services.common import CCCD, CompactDate

CONTRACT_ID = "vn.gov.bhxh.social-insurance"
CONTRACT_VERSION = "1.0"
SCENARIOS = GENERIC  # X-Sandbox-Scenario outcomes (contracts/scenarios.py)


class TraCuuMaSo(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "hoTen": "Nguyễn Văn An",
                    "ngaySinh": "19900115",
                    "gioiTinh": 1,
                    "soCccd": "024090012345",
                }
            ]
        },
    )

    hoTen: str = Field(min_length=1, max_length=100)
    ngaySinh: CompactDate
    gioiTinh: Literal[1, 2, 3]
    soCccd: CCCD | None = None


class NguoiThamGia(BaseModel):
    maSoBhxh: str
    hoTen: str
    ngaySinh: CompactDate
    gioiTinh: int
    soCccd: str


class KetQuaTraCuu(BaseModel):
    soKetQua: int
    danhSach: list[NguoiThamGia]


class HoGiaDinh(BaseModel):
    maHo: str
    diaChi: str
    thanhVien: list[NguoiThamGia]
