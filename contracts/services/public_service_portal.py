"""National public-service portal (apiDVCQG): provinces sync dossiers and their progress.

As OpenCPS (VietOpenCPS/opencps-v2, DVCQGIntegrationActionImpl) calls it: one POST whose body
names the function — `{"service": "DongBoHoSoMC", "isUpdating": "True"|"False", "data":
[dossier, …]}` to sync dossiers, `{"service": "CapNhatTienDoHoSoMC", "data": [progress, …]}`
to report progress, `{"service": "TraCuuHoSo", "mahoso": …}` to look one up (answer
`{"result": [...]}`) — plus the portal's own `session` and `madonvi`. A sync succeeded when
the answer's `error_code` is "00". Dossier fields are PascalCase (MaHoSo, MaTTHC,
NgayTiepNhan, TrangThaiHoSo, …); times are yyyyMMddHHmmss (Asia/Ho_Chi_Minh).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.fidelity import OPENCPS_DVCQG, partial
from contracts.scenarios import GENERIC

CONTRACT_ID = "vn.gov.dvcqg.dossier-sync"
CONTRACT_VERSION = "1.0"
SCENARIOS = GENERIC  # X-Sandbox-Scenario outcomes (contracts/scenarios.py)
FIDELITY = {
    "POST /dongBoHoSo": partial(
        OPENCPS_DVCQG,
        note="Body envelope, service names, dossier and progress fields, yyyyMMddHHmmss and "
        "error_code '00' from OpenCPS. The path (a client's configured integration_endpoint) "
        "and the failure codes and message field are the sandbox's own; TrangThaiHoSo codes "
        "are whatever the province maps (not checked).",
    ),
}
OK = "00"
Service = Literal["DongBoHoSoMC", "CapNhatTienDoHoSoMC", "TraCuuHoSo"]
TIMESTAMP = r"^\d{14}$"


class YeuCau(BaseModel):
    """The one request shape; which members matter depends on `service`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "service": "DongBoHoSoMC",
                    "isUpdating": "False",
                    "madonvi": "000.00.01.H04",
                    "data": [
                        {
                            "MaHoSo": "000.00.01.H04-241122-0001",
                            "MaTTHC": "1.011442.000.00.00.H04",
                            "TenTTHC": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
                            "ChuHoSo": "Nguyễn Văn An",
                            "LoaiDoiTuong": "1",
                            "SoDienThoai": "0912345678",
                            "TrichYeuHoSo": "Đề nghị cấp giấy phép xây dựng",
                            "NgayTiepNhan": "20241122083000",
                            "NgayHenTra": "20241206170000",
                            "TrangThaiHoSo": "2",
                            "HinhThuc": "0",
                            "DonViXuLy": "UBND huyện Lục Ngạn",
                        }
                    ],
                }
            ]
        },
    )

    service: Service
    session: str | None = Field(default=None, max_length=200, description="The portal's session")
    madonvi: str | None = Field(default=None, max_length=40, description="Sending unit")
    isUpdating: str | bool | None = Field(
        default=None, description="DongBoHoSoMC: 'True' when the dossier was synced before"
    )
    data: list[dict[str, Any]] | None = Field(
        default=None, max_length=100, description="Dossiers (HoSoMC) or progress (TienDoHoSoMC)"
    )
    mahoso: str | None = Field(default=None, max_length=60, description="TraCuuHoSo: the dossier")


class HoSoMC(BaseModel):
    """A dossier as DongBoHoSoMC carries it (OpenCPS sends every member; these are required
    here, the rest may be empty)."""

    model_config = ConfigDict(extra="allow")

    MaHoSo: str = Field(min_length=1, max_length=60)
    MaTTHC: str = Field(min_length=1, max_length=60)
    NgayTiepNhan: str = Field(pattern=TIMESTAMP)
    TrangThaiHoSo: str = Field(min_length=1, max_length=10)
    ChuHoSo: str = ""
    TenTTHC: str = ""
    NgayHenTra: str = Field(default="", pattern=r"^(\d{14})?$")


class TienDoHoSoMC(BaseModel):
    model_config = ConfigDict(extra="allow")

    MaHoSo: str = Field(min_length=1, max_length=60)
    TrangThai: str = Field(min_length=1, max_length=10)
    ThoiDiemXuLy: str = Field(pattern=TIMESTAMP)
    NguoiXuLy: str = ""
    NoiDungXuLy: str = ""


class KetQua(BaseModel):
    error_code: str = Field(description="'00' success; otherwise the sandbox's failure codes")
    message: str
    result: list[dict[str, Any]] | None = Field(
        default=None, description="TraCuuHoSo: the dossiers found (empty: none)"
    )
