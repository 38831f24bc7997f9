"""Judicial records (apiLyLichTuPhap), as the NGSP connection guide shows them
('Dịch vụ lý lịch tư pháp', version 1.0).

Every function is a POST with a JSON body. The one-stop shop hands a request over
(`nhanHoSoDangKy`: receipt number, dates dd/MM/yyyy, the declaration `declarationWSForm`,
the residence history `residenceWSForm`, an optional mandate `mandatorWSForm`) and gets
`{STATUS, DESCRIPTION, ID}`; it asks a request's status (`LLTP-API-traTrangThaiHs`:
DEC_STATUS_ID 3 received, 4 processing, 5 issued), the statuses that changed
(`LLTP-API-traDsTrangThaiHs`: LISTCONTENT), marks what it fetched
(`LLTP-API-danhDauHsThanhCong`) and reads categories (`LLTP-API-traDanhMuc`: ID, NAME).
The guide does not give STATUS's values: the sandbox answers "1" for success, "0" for a
failure (HTTP 200, DESCRIPTION says why).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.fidelity import guide, partial
from contracts.scenarios import GENERIC

CONTRACT_ID = "vn.gov.lltp.judicial-records"
CONTRACT_VERSION = "1.0"
SCENARIOS = GENERIC  # X-Sandbox-Scenario outcomes (contracts/scenarios.py)
_SECTION = "Dịch vụ lý lịch tư pháp"
_STATUS = (
    "STATUS's values are not in the guide: '1' success, '0' failure (HTTP 200) are the "
    "sandbox's. The guide's URLs for these functions read 'LLTP-API- <name>' (a stray "
    "space): the sandbox serves them without it."
)
FIDELITY = {
    "POST /nhanHoSoDangKy": partial(
        guide(_SECTION + " / nhanHoSoDangKy"),
        note="Parameters and the declaration's fields from the guide (its appendix); "
        "residenceWSForm taken as a list of periods. ID is an opaque id of the sandbox's. "
        + _STATUS,
    ),
    "POST /LLTP-API-traTrangThaiHs": partial(
        guide(_SECTION + " / traTrangThaiHs"),
        note="DEC_STATUS_ID 3/4/5 as the guide; the request moves 3 → 4 → 5 with time "
        "(a minute a step, computed: reading changes nothing). " + _STATUS,
    ),
    "POST /LLTP-API-traDsTrangThaiHs": partial(
        guide(_SECTION + " / traDsTrangThaiHs"),
        note="LISTCONTENT's fields as the guide; lists the requests not yet marked fetched. "
        + _STATUS,
    ),
    "POST /LLTP-API-danhDauHsThanhCong": partial(
        guide(_SECTION + " / danhDauHsThanhCong"), note=_STATUS
    ),
    "POST /LLTP-API-traDanhMuc": partial(
        guide(_SECTION + " / traDanhMuc"),
        note="infoType 1-5 and {ID, NAME} as the guide; the reply wraps the list as "
        "{STATUS, DESCRIPTION, LISTCONTENT} like the other functions (the sandbox's).",
    ),
}
DMY = r"^(0[1-9]|[12]\d|3[01])/(0[1-9]|1[0-2])/\d{4}$"
# a date of birth may be a full date, month/year or a year (the guide's appendix)
PARTIAL_DATE = r"^((0[1-9]|[12]\d|3[01])/)?((0[1-9]|1[0-2])/)?\d{4}$"
STATUS_NAMES = {3: "STP đã tiếp nhận", 4: "Đang xử lý", 5: "Đã có phiếu"}


class Declaration(BaseModel):
    """declarationWSForm: the required fields of the guide's appendix, and a few others."""

    model_config = ConfigDict(extra="allow")

    fullName: str = Field(min_length=1, max_length=100)
    genderId: Literal[0, 1] = Field(description="1 male, 0 female")
    birthDateStr: str = Field(pattern=PARTIAL_DATE)
    nationalityId: int
    idTypeId: Literal[0, 1, 2, 3] = Field(description="1 old ID card, 0 passport, 3 CCCD")
    identifyNo: str = Field(min_length=1, max_length=20)
    phone: str = Field(pattern=r"^\d{9,11}$")
    declareDate: str = Field(pattern=DMY)
    declareTypeId: Literal[3844, 3845, 3846, 3847]
    requestQty: int = Field(ge=1, le=20)
    objectRequestId: Literal[71, 72, 73, 74]
    formType: Literal[1, 2] = Field(description="Phiếu số 1 or số 2")
    residence: str | None = None
    purpose: str | None = None


class Residence(BaseModel):
    model_config = ConfigDict(extra="allow")

    fromDateStr: str = Field(pattern=PARTIAL_DATE)
    toDateStr: str = Field(pattern=PARTIAL_DATE)
    residencePlace: str = Field(min_length=1, max_length=300)


class NhanHoSo(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "idMinistryJustice": "24",
                    "idReceivedDec": "000.00.01.H04-241122-0101",
                    "dateReceivedDec": "22/11/2024",
                    "datePromissoryDec": "02/12/2024",
                    "idMoneyReceipt": "BL-0001",
                    "declarationWSForm": {
                        "fullName": "Nguyễn Văn An",
                        "genderId": 1,
                        "birthDateStr": "15/01/1990",
                        "nationalityId": 1,
                        "idTypeId": 3,
                        "identifyNo": "024090012345",
                        "phone": "0912345678",
                        "declareDate": "22/11/2024",
                        "declareTypeId": 3846,
                        "requestQty": 1,
                        "objectRequestId": 72,
                        "formType": 1,
                    },
                    "residenceWSForm": [
                        {
                            "fromDateStr": "1990",
                            "toDateStr": "22/11/2024",
                            "residencePlace": "Phường Hoàng Văn Thụ, Thành phố Bắc Giang",
                        }
                    ],
                }
            ]
        },
    )

    idMinistryJustice: str = Field(min_length=1, max_length=20, description="Mã đơn vị")
    idReceivedDec: str = Field(
        min_length=1, max_length=60, description="Receipt number, unique per request"
    )
    dateReceivedDec: str = Field(pattern=DMY)
    datePromissoryDec: str = Field(pattern=DMY)
    idMoneyReceipt: str | None = Field(default=None, max_length=40)
    declarationWSForm: Declaration
    residenceWSForm: list[Residence] = Field(min_length=1, max_length=50)
    mandatorWSForm: dict[str, object] | None = None


class KetQua(BaseModel):
    STATUS: Literal["1", "0"]
    DESCRIPTION: str = ""
    ID: str | None = Field(default=None, description="nhanHoSoDangKy: the request's id")


class TraTrangThai(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"idReceivedDec": "000.00.01.H04-241122-0101", "infoType": "2"}]
        },
    )

    idReceivedDec: str = Field(min_length=1, max_length=60)
    infoType: Literal["1", "2"] = Field(description="1 not via the one-stop shop, 2 via it")
    identifyNo: str | None = Field(default=None, max_length=20)


class TrangThai(BaseModel):
    STATUS: Literal["1", "0"]
    DESCRIPTION: str = ""
    DEC_STATUS_ID: int | None = None
    DEC_STATUS_NAME: str | None = None
    APPROVE_DATE: str | None = None
    ISSUE_DATE: str | None = None


class LoaiThongTin(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"infoType": "2"}]})

    infoType: Literal["1", "2", "3", "4", "5"]


class TrangThaiHoSo(BaseModel):
    DECLARATION_ID: str
    DEC_STATUS_ID: int
    DEC_STATUS_NAME: str
    APPROVE_DATE: str | None
    APPOINTMENT_NO: str | None
    RECEIVE_NO: str | None
    ISSUE_DATE: str | None


class DanhSachTrangThai(BaseModel):
    STATUS: Literal["1", "0"]
    DESCRIPTION: str = ""
    LISTCONTENT: list[TrangThaiHoSo]


class DanhDau(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"declarationId": "LLTP-0000001", "infoType": "2"}]},
    )

    declarationId: str = Field(min_length=1, max_length=2000, description="Ids joined by ';'")
    infoType: Literal["1", "2", "3"]


class MucDanhMuc(BaseModel):
    ID: str
    NAME: str


class DanhMuc(BaseModel):
    STATUS: Literal["1", "0"]
    DESCRIPTION: str = ""
    LISTCONTENT: list[MucDanhMuc]
