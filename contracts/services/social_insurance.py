"""Social insurance (apiBHXH), as the NGSP connection guide shows it ('Dịch vụ bảo hiểm xã hội').

Three POST operations with flat JSON bodies and flat replies, every value a string:
`getMaSoBhxhTheoTieuChi` (a person's number by name, birth date and place),
`getTraCuuTtHgdByMaSoBhxh` (the person behind a number) and `getTraCuuThongTinHgd` (a
household's information). Dates are yyyyMMdd (`loaiNgaySinh` 0 full date, 1 year only,
2 year and month), sex 1 male / 2 female / 3 other, places as GSO codes (`isKs` 1: the
birth registration's, 0: the household registration's).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.fidelity import guide, partial, verified
from contracts.scenarios import GENERIC

CONTRACT_ID = "vn.gov.bhxh.social-insurance"
CONTRACT_VERSION = "1.0"
SCENARIOS = GENERIC  # X-Sandbox-Scenario outcomes (contracts/scenarios.py)
_SECTION = "Dịch vụ bảo hiểm xã hội"
_NOT_FOUND = (
    "The guide shows no not-found answer: the sandbox answers 404 problem+json "
    "(errorCode '1' with an empty maSoBhxh for getMaSoBhxhTheoTieuChi); trangThai values "
    "are the sandbox's."
)
FIDELITY = {
    "POST /getMaSoBhxhTheoTieuChi": partial(
        guide(_SECTION + " / getMaSoBhxhTheoTieuChi"),
        note="Request and reply fields from the guide; errorCode values ('0' found, '1' none) "
        "and trangThai values are the sandbox's own. A miss is HTTP 200.",
    ),
    "POST /getTraCuuTtHgdByMaSoBhxh": verified(
        guide(_SECTION + " / getTraCuuTtHgdByMaSoBhxh"), note=_NOT_FOUND
    ),
    "POST /getTraCuuThongTinHgd": verified(
        guide(_SECTION + " / getTraCuuThongTinHgd"), note=_NOT_FOUND
    ),
}

BirthKind = Literal["0", "1", "2"]
Sex = Literal["1", "2", "3"]
YesNo = Literal["0", "1"]
BIRTH = r"^\d{4}(\d{2}(\d{2})?)?$"


class TieuChi(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "hoTen": "Nguyễn Văn An",
                    "ngaySinh": "19900115",
                    "loaiNgaySinh": "0",
                    "gioiTinh": "1",
                    "maTinhKs": "24",
                    "maHuyenKs": "",
                    "maXaKs": "",
                    "isKs": "0",
                }
            ]
        },
    )

    hoTen: str = Field(min_length=1, max_length=100)
    ngaySinh: str = Field(pattern=BIRTH, description="yyyyMMdd, yyyyMM or yyyy (loaiNgaySinh)")
    loaiNgaySinh: BirthKind = Field(description="0 full date, 1 year only, 2 year and month")
    gioiTinh: Sex = Field(description="1 male, 2 female, 3 other")
    maTinhKs: str = Field(pattern=r"^\d{2}$", description="Province (GSO code)")
    maHuyenKs: str = Field(default="", pattern=r"^(\d{3})?$", description="District; '' any")
    maXaKs: str = Field(default="", pattern=r"^(\d{5})?$", description="Commune; '' any")
    isKs: YesNo = Field(description="1 birth registration's place, 0 household's")


class MaSoBhxh(BaseModel):
    maSoBhxh: str = Field(description="10-digit social-insurance number; '' when none")
    trangThai: str
    errorCode: str = Field(description="'0' found, '1' no match (sandbox values)")


class TheoMaSo(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"maSoBhxh": "2490012345"}]}
    )

    maSoBhxh: str = Field(pattern=r"^\d{10}$")


class ThongTinTheoMaSo(BaseModel):
    hoTen: str
    soSoCu: str = Field(description="Old social-insurance book number")
    ngaySinh: str
    loaiNgaySinh: BirthKind
    gioiTinh: Sex
    maTinhKs: str
    maHuyenKs: str
    maXaKs: str
    trangThai: str


class TraCuuHoGiaDinh(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "maTinh": "24",
                    "hoTen": "Nguyễn Văn An",
                    "ngaySinh": "19900115",
                    "loaiNgaySinh": "0",
                    "gioiTinh": "1",
                    "soSo": "",
                    "maThe": "",
                    "isKs": "0",
                }
            ]
        },
    )

    maTinh: str = Field(pattern=r"^\d{2}$")
    hoTen: str = Field(min_length=1, max_length=100)
    ngaySinh: str = Field(pattern=BIRTH)
    loaiNgaySinh: BirthKind
    gioiTinh: Sex
    soSo: str = Field(default="", max_length=20, description="Social-insurance book number")
    maThe: str = Field(default="", max_length=20, description="Insurance card number")
    isKs: YesNo


class ThongTinHoGiaDinh(BaseModel):
    maSo: str
    hoTen: str
    ngaySinh: str
    loaiNgaySinh: BirthKind
    gioiTinh: Sex
    maHo: str = Field(description="Household code")
    diaChi: str
    trangThai: str
