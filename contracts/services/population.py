"""National population database (CSDLQG về dân cư), as a one-stop-shop system calls it.

No connection guide for it is public. What a public one-stop-shop client reads from a
citizen's record is: `SoCongDan`, `CongDan.HoVaTen{Ho, ChuDem, Ten}` and
`CongDan.NoiOHienTai.ChiTiet` — so the lookup answers in that shape (PascalCase, the name in
its three parts). The operations (`congDan`, `xacThucCongDan`), their parameters and the
record's other fields are the sandbox's own.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from contracts.fidelity import CITIZEN_CLIENT, partial, unverified
from contracts.scenarios import GENERIC, not_found, record_locked
from contracts.services.common import CCCD, TextDate

CONTRACT_ID = "vn.gov.csdldc.population"
CONTRACT_VERSION = "1.0"
FIDELITY = {
    "GET /congDan": partial(
        CITIZEN_CLIENT,
        note="SoCongDan, CongDan.HoVaTen{Ho, ChuDem, Ten} and CongDan.NoiOHienTai.ChiTiet as "
        "a client reads them; the operation, its parameter and the other fields are the "
        "sandbox's own (no published guide).",
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
    """An address as seed files give it (contracts/seeds.py)."""

    chiTiet: str
    xaPhuong: str
    quanHuyen: str
    tinhThanh: str


class HoVaTen(BaseModel):
    Ho: str = Field(description="Family name")
    ChuDem: str = Field(description="Middle name(s); may be empty")
    Ten: str = Field(description="Given name")


class NoiO(BaseModel):
    ChiTiet: str = Field(description="The full address as one line")
    MaTinh: str = Field(description="Province (GSO code)")
    MaHuyen: str = Field(description="District (GSO code)")
    MaXa: str = Field(description="Commune (5 digits; synthetic)")


class ThongTinCongDan(BaseModel):
    HoVaTen: HoVaTen
    NgayThangNamSinh: str = Field(description="dd/MM/yyyy", examples=["15/01/1990"])
    GioiTinh: str = Field(description="1 nam, 2 nữ")
    DanToc: str
    QueQuan: str
    NoiThuongTru: NoiO
    NoiOHienTai: NoiO
    SoHoKhau: str = Field(description="Household code")


class CongDan(BaseModel):
    """A citizen's record, as GET /congDan answers it."""

    SoCongDan: str = Field(description="12-digit citizen ID", examples=["024090012345"])
    CongDan: ThongTinCongDan


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
    ngaySinh: TextDate


class XacThucKetQua(BaseModel):
    soDinhDanh: str
    tonTai: bool = Field(description="The ID exists in the database")
    khop: bool = Field(description="The ID exists and name and date of birth match")
    truongKhongKhop: list[str] = Field(description="Fields that do not match")
