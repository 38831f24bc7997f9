"""Civil status registration, Ministry of Justice (apiHoTichTuPhap), after the NGSP guide.

Every operation is a POST with a JSON body (guide, 'Dịch vụ hộ tịch'): `dangKyHoTich`
{maDonVi, module, maHoSo, ngayTiepNhan, data: an XML string}, `danhMuc` {loaiDanhMuc},
`traTrangThaiHoSo` {maDonVi, maHoSo} (1 received, 2 needs more information, 3 eligible,
4 registered, 0 error) and `ketQuaDangKyHS` {maDonVi, maHoSo}. A failure is status 0 with an
error code: 100 authentication, 101 IP not allowed, 106 wrong agency id, 108 wrong province
id, 200 record not complete, 201 record not found, 302 invalid category type, 500 incorrect
data. The guide names the reply's columns (status, value, error code and description) but
not its member names, nor the XML inside `data` (its section 3.2.1 is not in the public
copy): those are the sandbox's own, and so is answering a failure with HTTP 200.

A provincial client (Gia Lai's public one-stop-shop tool, found by content in the code index)
sends `dangKyHoTich` two more ways, both taken: {maDonVi as a string of digits, ngayTiepNhan
`yyyy-MM-dd`, module, maHoSo, data: `<hotich><hoso>…</hoso></hotich>`} (the dossier's form
fields as XML), and {maHoSoMCDT, maHoSoLT, module, ngayTiepNhan `dd/MM/yyyy ` (a trailing
space), maDonVi, data: a JSON string with nycHoTen{Ho, ChuDem, Ten}, nycLoaiGiayToTuyThan,
nycSoGiayToTuyThan, nycQuanHe, cbsHoTen, cbsNgaySinh{namSinh, thangSinh, ngaySinh},
cbsGioiTinh, cbsQuocTich, cbsDanToc, cbsNoiCuTru{dcChiTiet, quocGia, maTinh, maXa},
noiDangKy and, for copies, loaiBanSao, soDangKyTruocDay, quyenSoDangKyTruocDay}.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.fidelity import guide, partial
from contracts.scenarios import GENERIC

CONTRACT_ID = "vn.gov.hotich.civil-status"
CONTRACT_VERSION = "1.0"
SCENARIOS = GENERIC  # X-Sandbox-Scenario outcomes (contracts/scenarios.py)
_SECTION = "Dịch vụ hộ tịch"
_REPLY = (
    "Reply member names (status, value, errorCode, errorMessage) are the sandbox's: the "
    "guide gives the columns, not the names. A failure is HTTP 200 with status 0."
)
GIA_LAI_CLIENT = (
    "Gia Lai's public one-stop-shop tool (a Vue page posting to https://congdichvu.gialai.gov.vn"
    ":443/hotich/1.0/dangKyHoTich and /apiLienThongKSKT/1.0/nhanHoSoDKHT; repository not "
    "identified, found by content in the code index)"
)
FIDELITY = {
    "POST /dangKyHoTich": partial(
        guide(_SECTION + " / dangKyHoTich"),
        GIA_LAI_CLIENT,
        note="Request fields and error codes 100/101/106/500 from the guide. The guide's "
        "maDonVi is a number (Long); the Gia Lai client sends a string of digits: both are "
        "taken. Three forms of `data`: the sandbox's own <hoSo> (guide section 3.2.1 is not in "
        "the public copy; the child's and mother's fields), Gia Lai's <hotich><hoso>…</hoso>"
        "</hotich> (its fields are the dossier's form fields: not checked, kept) and Gia Lai's "
        "JSON string (the fields it names are type-checked). ngayTiepNhan as dd/MM/yyyy, "
        "yyyy-MM-dd, or dd/MM/yyyy with a trailing space (Gia Lai's). maHoSoMCDT/maHoSoLT from "
        "Gia Lai in place of maHoSo. " + _REPLY,
    ),
    "POST /nhanHoSoDKHT": partial(
        GIA_LAI_CLIENT,
        note="Gia Lai's client posts dossiers of the joint birth/death registration modules "
        "(LTKS, LTKT, LTKH) to apiLienThongKSKT/1.0/nhanHoSoDKHT, with the same body as its "
        "dangKyHoTich. The sandbox serves it beside dangKyHoTich in the civil-status back end "
        "(a platform's context_aliases {apiLienThongKSKT: apiHoTichTuPhap} gives the client's "
        "path); the reply is dangKyHoTich's, the sandbox's own (the client shows none). " + _REPLY,
    ),
    "POST /danhMuc": partial(
        guide(_SECTION + " / danhMuc"),
        note="loaiDanhMuc 1-5 and error 302 from the guide; the rows' shape ({ma, ten}) is "
        "the sandbox's (the guide: 'depends on the category'). " + _REPLY,
    ),
    "POST /traTrangThaiHoSo": partial(
        guide(_SECTION + " / traTrangThaiHoSo"),
        note="Statuses 1-4/0 and errors 106/201 from the guide. " + _REPLY,
    ),
    "POST /ketQuaDangKyHS": partial(
        guide(_SECTION + " / ketQuaDangKyHS"),
        note="Errors 200/201 from the guide; the result's fields (soDinhDanh issued, …) "
        "are the sandbox's own. " + _REPLY,
    ),
}

STATUS_NAMES = {
    0: "Đã có lỗi xảy ra trong quá trình gửi thông tin",
    1: "Đã tiếp nhận hồ sơ, chờ xử lý",
    2: "Hồ sơ cần bổ sung thông tin",
    3: "Hồ sơ đủ điều kiện giải quyết",
    4: "Đã hoàn thành đăng ký",
}
ERRORS = {
    100: "AUTHEN_ERROR - Mã xác thực không chính xác",
    101: "IP_DISALLOWED - Địa chỉ IP không được phép truy cập",
    106: "AGENCY_ID_INCORRECT - Mã đơn vị không chính xác",
    108: "PROVINCE_ID_INCORRECT - Mã tỉnh không chính xác",
    200: "RECORD_UNCOMPLETE - Hồ sơ chưa hoàn thành đăng ký",
    201: "RECORD_NOT_FOUND - Hồ sơ không tồn tại, đề nghị xem lại số phiếu tiếp nhận",
    302: "DATA_TYPE_INVALID - Loại dữ liệu danh mục không hợp lệ",
    500: "DATA_INCORRECT",
}
CATEGORY_NAMES = {
    "1": "Danh mục quốc tịch",
    "2": "Danh mục quốc gia",
    "3": "Danh mục dân tộc",
    "4": "Danh mục địa danh hành chính (cấp tỉnh)",
    "5": "Danh mục giấy tờ tùy thân",
}
EXAMPLE_XML = (
    "<hoSo><hoTenTre>Nguyễn Minh Khôi</hoTenTre><gioiTinh>1</gioiTinh>"
    "<ngaySinh>02/11/2024</ngaySinh><noiSinh>Bệnh viện Đa khoa tỉnh Bắc Giang</noiSinh>"
    "<cccdMe>024190012345</cccdMe><hoTenMe>Trần Thị Lan</hoTenMe>"
    "<cccdCha>024090012345</cccdCha><hoTenCha>Nguyễn Văn An</hoTenCha></hoSo>"
)
DATE_TEXT = r"^(0[1-9]|[12]\d|3[01])/(0[1-9]|1[0-2])/\d{4}$"
# The guide's dd/MM/yyyy, Gia Lai's yyyy-MM-dd, and its dd/MM/yyyy with a trailing space.
RECEIVED_DATE = (
    r"^((0[1-9]|[12]\d|3[01])/(0[1-9]|1[0-2])/\d{4} ?|\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))$"
)
UnitDigits = Annotated[str, StringConstraints(pattern=r"^\d{1,10}$")]


class DangKyHoTich(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "maDonVi": 7204,
                    "module": "KS",
                    "maHoSo": "000.00.01.H04-241122-0001",
                    "ngayTiepNhan": "22/11/2024",
                    "data": EXAMPLE_XML,
                }
            ]
        },
    )

    maDonVi: Annotated[int, Field(ge=1, le=9_999_999_999)] | UnitDigits = Field(
        description="Receiving unit: the administrative unit's code from the Ministry's "
        "category (a number, Long in the guide; a string of digits from Gia Lai's client)",
    )
    module: str = Field(min_length=1, max_length=20, description="Mã nghiệp vụ, e.g. KS")
    maHoSo: str | None = Field(
        default=None,
        min_length=1,
        max_length=60,
        description="The one-stop shop's receipt number (or maHoSoMCDT)",
    )
    maHoSoMCDT: str | None = Field(
        default=None, min_length=1, max_length=60, description="Gia Lai: the receipt number"
    )
    maHoSoLT: str | None = Field(
        default=None, max_length=60, description="Gia Lai: the joint dossier's code"
    )
    ngayTiepNhan: str = Field(
        pattern=RECEIVED_DATE,
        description="Date received: dd/MM/yyyy (the guide), yyyy-MM-dd or 'dd/MM/yyyy ' (Gia Lai)",
    )
    data: str = Field(
        min_length=1,
        max_length=200_000,
        description="The record: XML (<hoSo> or <hotich><hoso>) or a JSON object as a string",
    )

    @model_validator(mode="after")
    def _names_the_dossier(self) -> Self:
        if not (self.maHoSo or self.maHoSoMCDT):
            raise ValueError("maHoSo (or maHoSoMCDT) is required")
        return self

    @property
    def dossier(self) -> str:
        return str(self.maHoSo or self.maHoSoMCDT)


class NhanHoSoDKHT(DangKyHoTich):
    """A joint registration dossier (liên thông khai sinh, khai tử, …) as Gia Lai's client
    sends it to nhanHoSoDKHT: dangKyHoTich's body for the modules LTKS, LTKT and LTKH."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "maHoSoMCDT": "H04.129-250812-0040",
                    "maHoSoLT": "LT-0040",
                    "module": "LTKS",
                    "ngayTiepNhan": "12/08/2025 ",
                    "maDonVi": "7204",
                    "data": '{"cbsHoTen": {"Ho": "NGUYỄN", "ChuDem": "MINH", "Ten": "KHÔI"}, '
                    '"cbsNgaySinh": {"namSinh": "2025", "thangSinh": "08", "ngaySinh": "01"}, '
                    '"cbsGioiTinh": 1}',
                }
            ]
        },
    )

    module: Literal["LTKS", "LTKT", "LTKH"] = Field(
        description="LTKS birth, LTKT death, LTKH (joint modules)"
    )


class HoTen(BaseModel):
    model_config = ConfigDict(extra="allow")

    Ho: str = Field(default="", max_length=100)
    ChuDem: str = Field(default="", max_length=100)
    Ten: str = Field(default="", max_length=100)


class NgaySinhTach(BaseModel):
    model_config = ConfigDict(extra="allow")

    namSinh: str = Field(pattern=r"^\d{4}$")
    thangSinh: str = Field(default="", pattern=r"^(\d{1,2})?$")
    ngaySinh: str = Field(default="", pattern=r"^(\d{1,2})?$")


class NoiCuTru(BaseModel):
    model_config = ConfigDict(extra="allow")

    dcChiTiet: str = Field(default="", max_length=300)
    quocGia: str = Field(default="", max_length=10)
    maTinh: str = Field(default="", max_length=10)
    maXa: str = Field(default="", max_length=10)


Code = int | Annotated[str, StringConstraints(max_length=20)]


class DuLieuHoTich(BaseModel):
    """`data` as a JSON string, as Gia Lai's client sends it: the fields it names, typed;
    the rest (the form's other fields) kept as sent."""

    model_config = ConfigDict(extra="allow")

    nycHoTen: HoTen | None = None
    nycLoaiGiayToTuyThan: Code | None = None
    nycSoGiayToTuyThan: str | None = Field(default=None, max_length=20)
    nycQuanHe: str | None = Field(default=None, max_length=50)
    cbsHoTen: HoTen | None = None
    cbsNgaySinh: NgaySinhTach | None = None
    cbsGioiTinh: Code | None = None
    cbsQuocTich: str | None = Field(default=None, max_length=10)
    cbsDanToc: str | None = Field(default=None, max_length=10)
    cbsNoiCuTru: NoiCuTru | None = None
    noiDangKy: str | None = Field(default=None, max_length=20)
    loaiBanSao: Code | None = None
    soDangKyTruocDay: str | None = Field(default=None, max_length=50)
    quyenSoDangKyTruocDay: str | None = Field(default=None, max_length=50)


class HoSoCuaDonVi(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"maDonVi": 7204, "maHoSo": "000.00.01.H04-241122-0001"}]},
    )

    maDonVi: Annotated[int, Field(ge=1, le=9_999_999_999)] | UnitDigits
    maHoSo: str = Field(min_length=1, max_length=60)


class LoaiDanhMuc(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"loaiDanhMuc": "3"}]}
    )

    loaiDanhMuc: str = Field(
        max_length=10,
        description="1 nationalities, 2 countries, 3 ethnic groups, 4 provinces, "
        "5 identity documents; anything else: status 0, error 302",
    )


class KetQua(BaseModel):
    """A reply: status (see each operation), the value, and on status 0 the error."""

    status: int = Field(description="1 ok (traTrangThaiHoSo: 1-4); 0 error")
    moTa: str = Field(description="What the status means")
    value: Any = Field(default=None, description="The operation's result, when it has one")
    errorCode: int | None = Field(default=None, description="On status 0: the guide's code")
    errorMessage: str | None = None


class DanhMuc(BaseModel):
    ma: str
    ten: str


class KetQuaDangKy(BaseModel):
    maHoSo: str
    module: str
    soDinhDanh: str = Field(description="The 12-digit ID issued to the registered child")
    hoTen: str
    ngayDangKy: str = Field(pattern=DATE_TEXT)


def ok(status: int = 1, value: Any = None, moTa: str | None = None) -> dict[str, Any]:
    return {"status": status, "moTa": moTa or STATUS_NAMES[status], "value": value}


def error(code: int, detail: str = "") -> dict[str, Any]:
    message = ERRORS[code] + (f": {detail}" if detail else "")
    return {
        "status": 0,
        "moTa": STATUS_NAMES[0],
        "value": None,
        "errorCode": code,
        "errorMessage": message,
    }
