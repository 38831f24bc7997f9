"""National public-service portal (apiDVCQG): provinces sync dossiers and their progress.

Unverified shape, after the portal's published sync fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.scenarios import GENERIC
from contracts.services.common import CCCD, AgencyCode, ProcedureCode

CONTRACT_ID = "vn.gov.dvcqg.dossier-sync"
CONTRACT_VERSION = "1.0"
SCENARIOS = GENERIC  # X-Sandbox-Scenario outcomes (contracts/scenarios.py)
Progress = Literal["TIEP_NHAN", "DANG_XU_LY", "BO_SUNG", "DA_XU_LY", "TRA_KET_QUA", "TU_CHOI"]


class DongBoHoSo(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "maHoSo": "000.00.01.H04-241122-0001",
                    "maThuTuc": "1.011442.000.00.00.H04",
                    "maDonVi": "000.00.01.H04",
                    "soDinhDanhNguoiNop": "024090012345",
                    "hoTenNguoiNop": "Nguyễn Văn An",
                    "trangThai": "TIEP_NHAN",
                    "thoiGian": "2024-11-22T08:30:00+07:00",
                }
            ]
        },
    )

    maHoSo: str = Field(min_length=1, max_length=40)
    maThuTuc: ProcedureCode
    maDonVi: AgencyCode
    soDinhDanhNguoiNop: CCCD
    hoTenNguoiNop: str = Field(min_length=1, max_length=100)
    trangThai: Progress
    thoiGian: datetime


class TienDo(BaseModel):
    trangThai: str
    thoiGian: float


class HoSoDongBo(BaseModel):
    maHoSo: str
    maThuTuc: str
    maDonVi: str
    trangThai: str
    tienDo: list[TienDo]
