"""The province's administrative-procedure system (one-stop shop): dossiers from citizens.

Unverified shape, after the fields provincial systems sync to the national portal.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.fidelity import unverified
from contracts.scenarios import GENERIC, Scenario, record_locked
from contracts.services.common import CCCD, AgencyCode, ProcedureCode

CONTRACT_ID = "vn.bacgiang.motcua.dossier"
CONTRACT_VERSION = "1.0"
_PROVINCIAL = (
    "The province's own one-stop-shop system; no public API of it found. Field names follow "
    "the sandbox's Vietnamese camelCase."
)
FIDELITY = {
    "POST /hoSo": unverified(_PROVINCIAL),
    "GET /hoSo/{maHoSo}": unverified(_PROVINCIAL),
    "GET /hoSo": unverified(_PROVINCIAL),
}
NEEDS_MORE_INFO = "Yêu cầu bổ sung hồ sơ"


def _needs_more_info(body: Any) -> Any:
    """The dossier (or each dossier of a list) as an officer asking for documents left it."""
    if isinstance(body, list):
        return [_needs_more_info(item) for item in body]
    history = [*body.get("lichSu", []), NEEDS_MORE_INFO]
    return {**body, "trangThai": NEEDS_MORE_INFO, "lichSu": history}


SCENARIOS = (
    Scenario(
        name="dossier-needs-more-info",
        description=f"The dossier comes back with status '{NEEDS_MORE_INFO}' (the officer "
        "asks for additional documents): a valid answer with the usual status, not an "
        "error. Only the answer says so; the stored dossier is unchanged.",
        operations=("POST /hoSo", "GET /hoSo/{maHoSo}", "GET /hoSo"),
        transform=_needs_more_info,
    ),
    record_locked(("POST /hoSo", "GET /hoSo/{maHoSo}"), "dossier", "Hồ sơ đang bị khóa"),
    *GENERIC,
)


class NopHoSo(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "maThamChieu": "dvc-bg-20241122-0001",
                    "maThuTuc": "1.011442.000.00.00.H04",
                    "maDonVi": "000.00.01.H04",
                    "soDinhDanh": "024090012345",
                    "hoTen": "Nguyễn Văn An",
                    "soDienThoai": "0912345678",
                    "noiDung": "Đề nghị cấp giấy phép xây dựng nhà ở riêng lẻ",
                }
            ]
        },
    )

    maThamChieu: str = Field(min_length=1, max_length=60, description="Submitter's idempotency key")
    maThuTuc: ProcedureCode
    maDonVi: AgencyCode
    soDinhDanh: CCCD
    hoTen: str = Field(min_length=1, max_length=100)
    soDienThoai: str = Field(pattern=r"^0\d{9}$")
    noiDung: str = Field(min_length=1, max_length=2000)


class HoSo(BaseModel):
    maHoSo: str
    maThuTuc: str
    maDonVi: str
    soDinhDanh: str
    hoTen: str
    trangThai: str
    lichSu: list[str]
