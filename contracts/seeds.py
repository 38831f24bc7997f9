"""Seed files: an agency's own test citizens, enterprises and dossiers, as data.

A seed folder holds `citizens.yaml`, `enterprises.yaml` and `dossiers.yaml` (or `.yml`,
`.json`), each a list of records; a single seed file holds the same lists under the keys
`citizens`, `enterprises` and `dossiers`. Each record is in the seed form the serving back
end answers from (a citizen with one name and a flat address, an enterprise as business
registration's DoanhNghiep, the one-stop shop's HoSo), with the identifier rules of
contracts/services/common.py and a few stricter checks, so a seeded record is one the
services can really serve; the services answer in their own shapes.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from contracts.services.business_registration import DoanhNghiep, TinhTrangDoanhNghiep
from contracts.services.common import CCCD, AgencyCode, ProcedureCode
from contracts.services.one_stop_shop import HoSo
from contracts.services.population import DiaChi


def _digits_as_text(value: Any) -> Any:
    # YAML reads an unquoted 2400011234 as a number; an identifier is its digits.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Digits = BeforeValidator(_digits_as_text)
SUBMITTED_DOSSIER_ID = r"^000\.00\.01\.H04-\d{7}$"  # the ids the one-stop shop gives submissions


def cccd_mismatch(number: str, male: bool, born: date) -> str | None:
    """What is wrong with a 12-digit ID for this person, or None.

    Digit 4 is century and sex (1900s: 0 man, 1 woman; 2000s: 2, 3; then 4, 5 ... up to
    2399), digits 5-6 the year of birth.
    """
    century = (born.year - 1900) // 100
    if not 0 <= century <= 4:
        return f"the ID scheme covers births from 1900 to 2399, not {born.year}"
    expected = 2 * century + (0 if male else 1)
    if number[3] != str(expected):
        who = "man" if male else "woman"
        return (
            f"digit 4 is {number[3]}, but for a {who} born in {born.year} it is {expected} "
            "(century and sex)"
        )
    if number[4:6] != f"{born.year % 100:02d}":
        return f"digits 5-6 are {number[4:6]}, but the year of birth is {born.year}"
    return None


class SeedCitizen(BaseModel):
    """A citizen of the population database; other services derive what they hold. The
    seed file's own form (flat, one name), from which every service answers in its shape."""

    model_config = ConfigDict(extra="forbid")

    soDinhDanh: Annotated[CCCD, Digits]
    hoTen: str = Field(min_length=1, max_length=100)
    gioiTinh: Literal[1, 2] = Field(description="1 nam, 2 nữ")
    ngaySinh: date
    danToc: str
    queQuan: str
    noiThuongTru: DiaChi
    # A seed may leave it out: `household` derives it, so every citizen has one.
    maHoGiaDinh: str | None = Field(
        default=None,
        pattern=r"^HGD\d{9}$",
        description="Household code; none: a household of their own (HGD9 + the ID's last 8)",
    )
    soBHXH: Annotated[str, Digits] | None = Field(
        default=None,
        pattern=r"^\d{10}$",
        description="Social-insurance number; none: the ID's first 2 and last 8 digits",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.ngaySinh > date.today():
            raise ValueError("ngaySinh: a date of birth in the future")
        wrong = cccd_mismatch(self.soDinhDanh, self.gioiTinh == 1, self.ngaySinh)
        if wrong:
            raise ValueError(f"soDinhDanh: {wrong}")
        return self

    @property
    def household(self) -> str:
        return self.maHoGiaDinh or f"HGD9{self.soDinhDanh[-8:]}"

    @property
    def social_insurance_number(self) -> str:
        return self.soBHXH or f"{self.soDinhDanh[:2]}{self.soDinhDanh[-8:]}"


class SeedEnterprise(DoanhNghiep):
    """An enterprise of the business registration database (and a taxpayer)."""

    model_config = ConfigDict(extra="forbid")

    MaSoDoanhNghiep: Annotated[str, Digits] = Field(
        pattern=r"^\d{10}$", description="10-digit enterprise code (also its tax code)"
    )
    TenDoanhNghiep: str = Field(min_length=1, max_length=200)
    LoaiHinh: str = Field(min_length=1, max_length=100)
    DiaChiTruSo: str = Field(min_length=1, max_length=300)
    NguoiDaiDienPhapLuat: Annotated[CCCD, Digits]
    VonDieuLe: int = Field(ge=0)
    NganhNgheChinh: str = Field(min_length=1, max_length=200)
    TinhTrang: TinhTrangDoanhNghiep = "Đang hoạt động"

    @model_validator(mode="after")
    def _founded(self) -> Self:
        if self.NgayThanhLap > date.today():
            raise ValueError("NgayThanhLap: a founding date in the future")
        return self


class SeedDossier(HoSo):
    """A dossier already in the one-stop shop when the sandbox starts."""

    model_config = ConfigDict(extra="forbid")

    maHoSo: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$",
        description="Dossier id (a path segment); not of the form the one-stop shop gives "
        "submissions (000.00.01.H04-NNNNNNN)",
    )
    maThuTuc: ProcedureCode
    maDonVi: AgencyCode
    soDinhDanh: Annotated[CCCD, Digits]
    hoTen: str = Field(min_length=1, max_length=100)
    trangThai: str = Field(default="Mới tiếp nhận", min_length=1, max_length=100)
    lichSu: list[str] = Field(
        default_factory=list, description="Statuses so far; none: [trangThai]"
    )

    @model_validator(mode="after")
    def _history(self) -> Self:
        if re.match(SUBMITTED_DOSSIER_ID, self.maHoSo):
            raise ValueError("maHoSo: this form is reserved for dossiers submitted to the sandbox")
        if not self.lichSu:
            self.lichSu = [self.trangThai]
        return self


class SeedFile(BaseModel):
    """Every kind of record in one file (a folder has one file per kind)."""

    model_config = ConfigDict(extra="forbid")

    citizens: list[SeedCitizen] = Field(default_factory=list)
    enterprises: list[SeedEnterprise] = Field(default_factory=list)
    dossiers: list[SeedDossier] = Field(default_factory=list)


SeedKind = Literal["citizens", "enterprises", "dossiers"]
SEED_KINDS: tuple[SeedKind, ...] = ("citizens", "enterprises", "dossiers")
# The field that identifies a record of each kind, for error messages and duplicates.
SEED_ID_FIELD: dict[str, str] = {
    "citizens": "soDinhDanh",
    "enterprises": "MaSoDoanhNghiep",
    "dossiers": "maHoSo",
}
