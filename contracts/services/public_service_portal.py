"""National public-service portal (apiDVCQG): provinces sync dossiers and their progress.

As OpenCPS (VietOpenCPS/opencps-v2, DVCQGIntegrationActionImpl) calls it: one POST whose body
names the function — `{"service": "DongBoHoSoMC", "isUpdating": "True"|"False", "data":
[dossier, …]}` to sync dossiers, `{"service": "CapNhatTienDoHoSoMC", "data": [progress, …]}`
to report progress, `{"service": "TraCuuHoSo", "mahoso": …}` to look one up (answer
`{"result": [...]}`) — plus the portal's own `session` and `madonvi`. A sync succeeded when
the answer's `error_code` is "00". Dossier fields are PascalCase (MaHoSo, MaTTHC,
NgayTiepNhan, TrangThaiHoSo, …); times are yyyyMMddHHmmss (Asia/Ho_Chi_Minh).

Before any of it the client logs in (`getAccessToken`): POST {username, password} with a
`dstcode` header to its configured auth endpoint; `{session, error_code: 0}` gives the session
every later call carries. It also reads the portal's shared lists through the same envelope —
LayThuTuc {maTTHC} (a procedure in full: TENTTHC, LINHVUCTHUCHIEN[{MALINHVUC, TENLINHVUC}],
TRINHTUTHUCHIEN, CACHTHUCTHUCHIEN, THANHPHANHOSO, …), LayDanhSachTTHC [{MATTHC, TENTTHC}],
LayDanhMucCoQuan [{MADONVI, TENDONVI, CAPDONVI}], LayDanhMucLinhVuc [{MALINHVUC, TENLINHVUC,
MANGANH}] — and the Q&A: LayDanhSachHoiDapGuiTuDVCQG, LayDanhSachHoiDapBoCoQuan (questions
{HOIDAPID, NOIDUNG, MALINHVUC, MADONVI, TENDONVI, TRALOIID, NOIDUNGTRALOI, …}),
LayNoiDungTraLoiTheoCauHoi {cauhoiid}, DongBoHoiDap and DongBoKetQuaHoiDapGuiTuDVCQG. Every
reply is `{error_code, message, result?}`; a read's rows are in `result`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.fidelity import OPENCPS_DVCQG, partial
from contracts.scenarios import GENERIC

CONTRACT_ID = "vn.gov.dvcqg.dossier-sync"
CONTRACT_VERSION = "1.0"
SCENARIOS = GENERIC  # X-Sandbox-Scenario outcomes (contracts/scenarios.py)
_PATHS = (
    "The paths are the sandbox's own: OpenCPS reads them from its configuration "
    "(auth_endpoint, integration_endpoint, share_endpoint)."
)
FIDELITY = {
    "POST /dangNhap": partial(
        OPENCPS_DVCQG,
        note="{username, password} with a dstcode header; {session, error_code: 0} as "
        "getAccessToken reads it. A refused login's error_code (-1) and message are the "
        "sandbox's; dstcode is kept with the session, not checked (what the portal does with it "
        "is not public). " + _PATHS,
    ),
    "POST /dongBoHoSo": partial(
        OPENCPS_DVCQG,
        note="Body envelope (session, madonvi, service), service names, dossier, progress, "
        "procedure, category and Q&A fields as OpenCPS writes and reads them, yyyyMMddHHmmss, "
        "and error_code '00' (read as a number: 0). The failure codes (01 bad request, 02 "
        "unknown dossier, 03 no valid session) and the message field are the sandbox's own; "
        "TrangThaiHoSo codes are whatever the province maps (not checked); the procedures, "
        "agencies, fields and questions are synthetic. " + _PATHS,
    ),
    "POST /chiaSeDanhMuc": partial(
        OPENCPS_DVCQG,
        note="The share endpoint OpenCPS sends LayDanhMucCoQuan, LayDanhMucLinhVuc and "
        "LayDanhSachTTHC to (getSharingDictCollection); it answers every service of "
        "/dongBoHoSo alike. " + _PATHS,
    ),
}
OK = "00"
LOGIN_OK = 0
Service = Literal[
    "DongBoHoSoMC",
    "CapNhatTienDoHoSoMC",
    "TraCuuHoSo",
    "LayThuTuc",
    "LayDanhSachTTHC",
    "LayDanhMucCoQuan",
    "LayDanhMucLinhVuc",
    "LayDanhSachHoiDapGuiTuDVCQG",
    "LayDanhSachHoiDapBoCoQuan",
    "LayNoiDungTraLoiTheoCauHoi",
    "DongBoHoiDap",
    "DongBoKetQuaHoiDapGuiTuDVCQG",
]
TIMESTAMP = r"^\d{14}$"
EXAMPLE_SESSION = "9c7e2f0a4b1d4e6f8a3b5c7d9e1f2a4b"


class DangNhap(BaseModel):
    """The login OpenCPS sends (its `dstcode` goes in a header of that name)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"username": "bacgiang.motcua", "password": "dvcqg-bac-giang-2022"}]
        },
    )

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class PhienLamViec(BaseModel):
    session: str | None = Field(default=None, description="The session later calls carry")
    error_code: int = Field(description="0: logged in")
    message: str


class YeuCau(BaseModel):
    """The one request shape; which members matter depends on `service`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "session": EXAMPLE_SESSION,
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
    # A string, as OpenCPS sends it ("True"/"False"); a number or a JSON boolean is refused.
    isUpdating: str | None = Field(
        default=None,
        max_length=10,
        description="DongBoHoSoMC: 'True' when the dossier was synced before",
    )
    data: list[dict[str, Any]] | None = Field(
        default=None,
        max_length=100,
        description="Dossiers (HoSoMC), progress (TienDoHoSoMC), questions or answers",
    )
    mahoso: str | None = Field(default=None, max_length=60, description="TraCuuHoSo: the dossier")
    maTTHC: str | None = Field(default=None, max_length=60, description="LayThuTuc: procedure")
    cauhoiid: int | str | None = Field(
        default=None, description="LayNoiDungTraLoiTheoCauHoi: the question (HOIDAPID)"
    )


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


class CauHoi(BaseModel):
    """A question as DongBoHoiDap sends it."""

    model_config = ConfigDict(extra="allow")

    HOIDAPID: int | str
    NOIDUNG: str = Field(min_length=1, max_length=10_000)
    MADONVI: str = ""
    TENDONVI: str = ""
    MaLinhVuc: str = ""


class TraLoi(BaseModel):
    """An answer as DongBoKetQuaHoiDapGuiTuDVCQG sends it."""

    model_config = ConfigDict(extra="allow")

    HOIDAPID: int | str
    NOIDUNGTRALOI: str = Field(min_length=1, max_length=10_000)
    NGUOITRALOI: str = ""
    CHUCVUNGUOITRALOI: str = ""
    NGAYTRALOI: str = ""
    MADONVI: str = ""


class KetQua(BaseModel):
    error_code: str = Field(description="'00' success; otherwise the sandbox's failure codes")
    message: str
    result: list[dict[str, Any]] | None = Field(
        default=None, description="A read's rows (TraCuuHoSo: the dossiers found; empty: none)"
    )
