"""National business registration database (apiCSDLDKDN), as the NGSP connection guide shows it.

Four GET operations (guide, 'Dịch vụ đăng ký doanh nghiệp'): `chiTietDoanhNghiep?msdn=`,
`danhSachHoSoTrongNgay?from_ts&to_ts&offset&limit` (HH:mm), `danhSachHoSo?from_date&to_date
&offset&limit` (dd/MM/yyyy, at most 5 days apart) and `tinhTrangHoSo?in_journal_no=`. Every
reply is `{Data, DataCount, Status, Message}`: Status "1" success / "0" failure (a string in
the guide), Message "success" or what went wrong. The enterprise is `MainInformation`,
`HOAdress`, `BusinessActivity`, `Member`; OpenCPS also reads `ENTERPRISE_STATUS_NAME` and
`Representatives[].FULL_NAME`. Dates are dd/MM/yyyy.

The guide shows no HTTP status for a failure: the sandbox answers 200 with Status "0"
(the envelope carries the error), and 422 problem+json for a request that breaks the
parameters' own format — both marked in the ledger.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field, StringConstraints

from contracts.fidelity import OPENCPS_REGISTER, guide, partial, verified
from contracts.scenarios import GENERIC, Scenario

CONTRACT_ID = "vn.gov.csdldkdn.business-registration"
CONTRACT_VERSION = "1.0"
MAX_RANGE_DAYS = 5
OK_MESSAGE = "success"
_SECTION = "Dịch vụ đăng ký doanh nghiệp"
_ERRORS = (
    "The guide shows Status '0' and a Message for a failure but no HTTP status: the "
    "sandbox answers 200 with Status '0' (not found, range over 5 days) and 422 "
    "problem+json for a malformed parameter."
)
FIDELITY = {
    "GET /chiTietDoanhNghiep": partial(
        guide(_SECTION + " / chiTietDoanhNghiep"),
        OPENCPS_REGISTER,
        note="Fields from the guide; ENTERPRISE_STATUS_NAME and Representatives[].FULL_NAME "
        "from OpenCPS (other Representatives fields unknown). Code values (ENTERPRISE_TYPE_ID, "
        "ENTERPRISE_STATUS, ward ids) are synthetic. " + _ERRORS,
    ),
    "GET /danhSachHoSoTrongNgay": verified(
        guide(_SECTION + " / danhSachHoSoTrongNgay"),
        note="Items as {MainInformation: {...}} as the guide nests them. " + _ERRORS,
    ),
    "GET /danhSachHoSo": verified(
        guide(_SECTION + " / danhSachHoSo"),
        note="At most 5 days from from_date to to_date (the guide's constraint). " + _ERRORS,
    ),
    "GET /tinhTrangHoSo": verified(guide(_SECTION + " / tinhTrangHoSo"), note=_ERRORS),
}
# The states an enterprise's record can be in (the tax service maps each to its own).
TinhTrangDoanhNghiep = Literal["Đang hoạt động", "Tạm ngừng kinh doanh", "Đã giải thể"]

DayMonthYear = Annotated[
    str,
    StringConstraints(pattern=r"^(0[1-9]|[12]\d|3[01])/(0[1-9]|1[0-2])/\d{4}$"),
    Field(description="Date as dd/MM/yyyy (two-digit day and month, four-digit year)"),
]
HourMinute = Annotated[
    str,
    StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$"),
    Field(description="Time of day as HH:mm (24-hour)"),
]
StatusFlag = Literal["1", "0"]


def reply(data: Any, count: int) -> dict[str, object]:
    """A success in the guide's envelope."""
    return {"Data": data, "DataCount": count, "Status": "1", "Message": OK_MESSAGE}


def failure(message: str) -> dict[str, object]:
    """A failure in the guide's envelope: Status "0", the Message says why."""
    return {"Data": None, "DataCount": 0, "Status": "0", "Message": message}


NOT_FOUND_MESSAGE = "Không tìm thấy doanh nghiệp"


def _not_found(_: Any) -> Any:
    return failure(f"{NOT_FOUND_MESSAGE} (sandbox scenario enterprise-not-found)")


SCENARIOS = (
    Scenario(
        name="enterprise-not-found",
        description="No enterprise with the code asked for: the guide's failure envelope "
        "(HTTP 200, Status '0', Data null, a Message), whatever the code.",
        operations=("GET /chiTietDoanhNghiep",),
        transform=_not_found,
    ),
    *GENERIC,
)


class MainInformation(BaseModel):
    ENTERPRISE_ID: int = Field(description="ID của doanh nghiệp")
    ENTERPRISE_GDT_CODE: str = Field(
        description="Mã số doanh nghiệp (business and tax code merged)", examples=["2400011234"]
    )
    IMP_BUSINESS_CODE: str | None = Field(description="Old business registration number")
    ENTERPRISE_TYPE_ID: str
    ENTERPRISE_TYPE_NAME: str
    NAME: str = Field(description="Tên tiếng Việt")
    SHORT_NAME: str | None
    NAME_F: str | None = Field(description="Name in a foreign language")
    FOUNDING_DATE: DayMonthYear
    LAST_AMEND_DATE: DayMonthYear | None
    NUMBER_CHANGES: int
    ENTERPRISE_STATUS: str = Field(description="Status code (values synthetic)")
    ENTERPRISE_STATUS_NAME: str = Field(description="Status name, as OpenCPS reads it")
    LEGAL_NAMES: str = Field(description="Legal representatives' names, joined with ';'")
    CAPITAL_AMOUNT: float = Field(description="Vốn điều lệ (VND)")


class HOAdress(BaseModel):  # sic: the guide's spelling
    CityID: int
    CityName: str
    DistrictID: int
    DistrictName: str
    WardID: int
    WardName: str
    StreetNumber: str
    AddressFullText: str


class BusinessActivity(BaseModel):
    CODE: str
    NAME: str
    IS_MAIN: Literal["Y", "N"]


class Member(BaseModel):
    MEMBER_NAME: str
    AMOUNT: float
    RATIO_PERCENT: float
    COUNTRY: str


class Representative(BaseModel):
    FULL_NAME: str


class ChiTietDoanhNghiep(BaseModel):
    MainInformation: MainInformation
    HOAdress: HOAdress
    BusinessActivity: list[BusinessActivity]
    Member: list[Member]
    Representatives: list[Representative]


class HoSoTrongNgay(BaseModel):
    IN_JOURNAL_NO: int = Field(description="Mã số biên nhận của hồ sơ")
    DOCUMENT_TYPE: str
    ENTERPRISE_GDT_CODE: str
    NAME: str
    SITE_ID: int = Field(description="Registering office")
    PROCESS_STATUS: str
    PROCESSED_DATE: DayMonthYear


class HoSoTrongKhoang(BaseModel):
    IN_JOURNAL_NO: int
    DOCUMENT_TYPE: str
    ENTERPRISE_CODE: str = Field(description="Mã số nội bộ")
    ENTERPRISE_GDT_CODE: str
    NAME: str
    SITE_ID: int
    RECEIPT_DATE: DayMonthYear
    PLAN_DATE: DayMonthYear
    PROCESS_STATUS: str


class TinhTrangHoSo(BaseModel):
    IN_JOURNAL_NO: int
    DOCUMENT_TYPE: str
    ENTERPRISE_CODE: str
    ENTERPRISE_GDT_CODE: str
    NAME: str
    ENTERPRISE_TYPE_ID: str
    SITE_ID: int
    RECEIPT_DATE: DayMonthYear
    PLAN_DATE: DayMonthYear
    PROCESS_STATUS: str
    REGISTRATION_DATE: DayMonthYear | None
    SUPPLEMENT_DATE: DayMonthYear | None
    SUBMISSION_TYPE: str
    CONTACT_FULL_NAME: str
    CONTACT_ADDRESS: str
    CONTACT_ID_NO: str
    CONTACT_PHONE: str
    CONTACT_EMAIL: str


T = TypeVar("T")


class HoSoTrongNgayItem(BaseModel):
    MainInformation: HoSoTrongNgay


class HoSoTrongKhoangItem(BaseModel):
    MainInformation: HoSoTrongKhoang


class TinhTrangHoSoItem(BaseModel):
    MainInformation: TinhTrangHoSo


class _Envelope(BaseModel, Generic[T]):
    Data: T | None = Field(description="null when Status is '0'")
    DataCount: int
    Status: StatusFlag = Field(description="'1' success, '0' failure (a string, as the guide)")
    Message: str = Field(description="'success', or what went wrong")


class ChiTietDoanhNghiepReply(_Envelope[ChiTietDoanhNghiep]):
    pass


class HoSoTrongNgayReply(_Envelope[list[HoSoTrongNgayItem]]):
    pass


class HoSoTrongKhoangReply(_Envelope[list[HoSoTrongKhoangItem]]):
    pass


class TinhTrangHoSoReply(_Envelope[TinhTrangHoSoItem]):
    pass


# -- the seed format of an enterprise (contracts/seeds.py); the sample data's own form ------


class DoanhNghiep(BaseModel):
    """An enterprise as a seed file gives it: the sandbox's input form, from which the
    service answers in the guide's shape."""

    MaSoDoanhNghiep: str
    TenDoanhNghiep: str
    LoaiHinh: str
    DiaChiTruSo: str
    NguoiDaiDienPhapLuat: str = Field(description="Representative's citizen ID")
    NgayThanhLap: date
    VonDieuLe: int
    NganhNgheChinh: str
    TinhTrang: str
