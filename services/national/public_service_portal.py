"""National public-service portal: provincial systems log in, sync dossiers and their progress,
look them up, read the portal's procedures and categories and exchange questions and answers,
through one POST naming the function (as OpenCPS calls it)."""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Request
from pydantic import BaseModel, ValidationError

from contracts.problem import Problem
from contracts.services.public_service_portal import (
    EXAMPLE_SESSION,
    LOGIN_OK,
    OK,
    CauHoi,
    DangNhap,
    HoSoMC,
    KetQua,
    PhienLamViec,
    TienDoHoSoMC,
    TraLoi,
    YeuCau,
)
from services.common.app import config_of, create_backend_app, db_of
from services.common.config import BackendConfig
from services.common.records import SCHEMA, Record, Records

router = APIRouter()
PREFIX = "DVC"
SESSIONS = "SS"  # a session issued at login: its token is the record's client key
QUESTIONS = "HD"
BAD_REQUEST = "01"  # sandbox codes: the guide-less failures
UNKNOWN_DOSSIER = "02"
NO_SESSION = "03"
LOGIN_REFUSED = -1
# The province's account at the portal (synthetic); a topology may name its own in the back
# end's params (username, password).
USERNAME, PASSWORD = "bacgiang.motcua", "dvcqg-bac-giang-2022"


def _failure(code: str, message: str) -> dict[str, Any]:
    return {"error_code": code, "message": message}


def _items(
    data: list[dict[str, Any]] | None, model: type[BaseModel]
) -> tuple[list[Any], str | None]:
    if not data:
        return [], "data: at least one item"
    items = []
    for index, raw in enumerate(data):
        try:
            items.append(model.model_validate(raw))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return [], f"data[{index}].{where}: {first['msg']}"
    return items, None


async def _find(request: Request, dossier: str) -> Record | None:
    row = await db_of(request).one("SELECT id FROM records WHERE client_key = ?", (dossier,))
    return await Records(db_of(request), PREFIX).get(row["id"]) if row else None


def _view(record: Record) -> dict[str, Any]:
    return {
        **record.body,
        "TrangThaiHoSo": record.status,
        # progress reports keep their fields as the history note (JSON)
        "TienDo": [
            json.loads(h["note"]) if h.get("note") else {"TrangThai": h["status"]}
            for h in record.history
        ],
    }


async def _sync(request: Request, items: list[HoSoMC]) -> dict[str, Any]:
    records = Records(db_of(request), PREFIX)
    for item in items:
        body = item.model_dump(mode="json")
        record, created = await records.create(
            body, status=item.TrangThaiHoSo, owner=None, client_key=item.MaHoSo
        )
        if not created and record.status != item.TrangThaiHoSo:
            # Conditional in the database: a sync repeated concurrently appends one entry.
            await records.set_status(record, item.TrangThaiHoSo, unless_status=item.TrangThaiHoSo)
    return _failure(OK, f"Đồng bộ thành công {len(items)} hồ sơ")


async def _progress(request: Request, items: list[TienDoHoSoMC]) -> dict[str, Any]:
    found = [(item, await _find(request, item.MaHoSo)) for item in items]
    missing = [item.MaHoSo for item, record in found if record is None]
    if missing:
        return _failure(UNKNOWN_DOSSIER, f"Hồ sơ chưa được đồng bộ: {', '.join(missing)}")
    records = Records(db_of(request), PREFIX)
    for item, record in found:
        assert record is not None
        note = json.dumps(item.model_dump(mode="json"), ensure_ascii=False)
        await records.set_status(record, item.TrangThai, note)
    return _failure(OK, f"Cập nhật tiến độ thành công {len(items)} hồ sơ")


# The portal's shared lists (synthetic; shapes as OpenCPS reads them).
AGENCIES = [
    {"MADONVI": "000.00.00.H04", "TENDONVI": "UBND tỉnh Bắc Giang", "CAPDONVI": "1"},
    {"MADONVI": "000.00.12.H04", "TENDONVI": "Sở Thông tin và Truyền thông", "CAPDONVI": "2"},
    {"MADONVI": "000.00.15.H04", "TENDONVI": "Sở Xây dựng", "CAPDONVI": "2"},
    {"MADONVI": "000.21.30.H04", "TENDONVI": "UBND huyện Lục Ngạn", "CAPDONVI": "2"},
]
FIELDS = [
    {"MALINHVUC": "G01-XD01", "TENLINHVUC": "Hoạt động xây dựng", "MANGANH": "000.00.00.H04"},
    {"MALINHVUC": "G01-HT01", "TENLINHVUC": "Hộ tịch", "MANGANH": "000.00.00.H04"},
    {"MALINHVUC": "G01-BCVT", "TENLINHVUC": "Bưu chính", "MANGANH": "000.00.00.G10"},
]
PROCEDURES = [
    ("1.011442.000.00.00.H04", "Cấp giấy phép xây dựng nhà ở riêng lẻ", 0, "000.00.15.H04"),
    ("1.001193.000.00.00.H04", "Đăng ký khai sinh", 1, "000.21.30.H04"),
    ("1.004873.000.00.00.H04", "Cấp giấy phép bưu chính", 2, "000.00.12.H04"),
]
QA = [
    (1001, "Thủ tục cấp phép xây dựng nhà ở nông thôn cần những giấy tờ gì?", 0),
    (1002, "Đăng ký khai sinh cho con khi bố mẹ chưa đăng ký kết hôn thế nào?", 1),
    (1003, "Thời hạn cấp giấy phép bưu chính là bao lâu?", 2),
]


def _procedure(index: int) -> dict[str, Any]:
    code, name, field_index, agency = PROCEDURES[index]
    fee = {"MAPHILEPHI": "LP01", "SOTIEN": 0.0, "DONVI": "VNĐ", "MOTA": ""}
    timing = {"THOIGIANGIAIQUYET": 15, "DONVITINH": "Ngày làm việc", "MOTA": "", "PHILEPHI": [fee]}
    return {
        "MATTHC": code,
        "TENTTHC": name,
        "MACOQUANCONGBO": agency,
        "LINHVUCTHUCHIEN": [
            {k: FIELDS[field_index][k] for k in ("MALINHVUC", "TENLINHVUC")},
        ],
        "TRINHTUTHUCHIEN": [
            {
                "TRUONGHOP": "Trường hợp thông thường",
                "TRINHTU": [{"TENTRINHTU": "Nộp hồ sơ"}, {"TENTRINHTU": "Nhận kết quả"}],
            }
        ],
        "CACHTHUCTHUCHIEN": [{"KENH": 1, "THOIGIAN": [timing]}, {"KENH": 2, "THOIGIAN": [timing]}],
        "YEUCAU": "Không",
        "DOITUONGTHUCHIEN": [{"TENDOITUONG": "Công dân Việt Nam"}],
        "KETQUATHUCHIEN": [{"MAKETQUA": "KQ01", "TENKETQUA": name}],
        "CANCUPHAPLY": [{"SOVANBAN": "61/2018/NĐ-CP", "TENVANBAN": "Nghị định về một cửa"}],
        "TRANGTHAI": 1,
        "COQUANTHUCHIEN": [a for a in AGENCIES if a["MADONVI"] == agency],
        # No URL: OpenCPS downloads each form it is given a link to.
        "THANHPHANHOSO": [
            {"GIAYTO": [{"MAGIAYTO": "GT01", "TENGIAYTO": "Tờ khai", "TENMAUDON": "", "URL": ""}]}
        ],
    }


def _rows(result: list[dict[str, Any]]) -> dict[str, Any]:
    return {**_failure(OK, "Thành công"), "result": result}


async def _questions(request: Request) -> list[dict[str, Any]]:
    """The portal's questions with the answers synced for them (the sample's, then stored)."""
    rows = []
    for question_id, text, procedure in QA:
        field = FIELDS[PROCEDURES[procedure][2]]
        agency = next(a for a in AGENCIES if a["MADONVI"] == PROCEDURES[procedure][3])
        rows.append(
            {
                "HOIDAPID": question_id,
                "NOIDUNG": text,
                "MALINHVUC": field["MALINHVUC"],
                "MATTHCDP": PROCEDURES[procedure][0],
                "MADONVI": agency["MADONVI"],
                "TENDONVI": agency["TENDONVI"],
                "HOVATEN": "Công dân",
                "THUDIENTU": "",
                "TRANGTHAI": 1,
                **await _answer_of(request, question_id),
            }
        )
    return rows


async def _answer_of(request: Request, question_id: int | str) -> dict[str, Any]:
    row = await db_of(request).one(
        "SELECT id FROM records WHERE client_key = ?", (f"TL-{question_id}",)
    )
    record = await Records(db_of(request), QUESTIONS).get(row["id"]) if row else None
    if record is None:
        return {"TRALOIID": 0, "NOIDUNGTRALOI": ""}
    return {"TRALOIID": int(record.id.split("-")[1]), "NOIDUNGTRALOI": record.body["NOIDUNGTRALOI"]}


async def _store(request: Request, key: str, items: list[Any]) -> int:
    records = Records(db_of(request), QUESTIONS)
    for item in items:
        body = item.model_dump(mode="json")
        # A repeated sync of the same question or answer is the one stored before.
        await records.create(body, status="1", owner=None, client_key=f"{key}-{item.HOIDAPID}")
    return len(items)


async def _reads(request: Request, body: YeuCau) -> dict[str, Any] | None:
    """The portal's lists and Q&A; None for a service that is not one of them."""
    match body.service:
        case "LayDanhMucCoQuan":
            return _rows(AGENCIES)
        case "LayDanhMucLinhVuc":
            return _rows(FIELDS)
        case "LayDanhSachTTHC":
            return _rows([{"MATTHC": p[0], "TENTTHC": p[1]} for p in PROCEDURES])
        case "LayThuTuc":
            if not body.maTTHC:
                return _failure(BAD_REQUEST, "maTTHC: required for LayThuTuc")
            found = [i for i, p in enumerate(PROCEDURES) if p[0] == body.maTTHC.strip()]
            return _rows([_procedure(i) for i in found])
        case "LayDanhSachHoiDapGuiTuDVCQG" | "LayDanhSachHoiDapBoCoQuan":
            return _rows(await _questions(request))
        case "LayNoiDungTraLoiTheoCauHoi":
            if body.cauhoiid is None:
                return _failure(BAD_REQUEST, "cauhoiid: required for LayNoiDungTraLoiTheoCauHoi")
            answer = await _answer_of(request, body.cauhoiid)
            return _rows([answer] if answer["TRALOIID"] else [])
    return None


async def _session_valid(request: Request, session: str | None) -> bool:
    if not session:
        return False
    if hmac.compare_digest(session.encode(), EXAMPLE_SESSION.encode()):
        return True  # the sample account's standing session: the contract's examples use it
    row = await db_of(request).one(
        "SELECT id FROM records WHERE client_key = ?", (f"session-{session}",)
    )
    return row is not None


def _account(request: Request) -> tuple[str, str]:
    params = config_of(request).params
    return str(params.get("username", USERNAME)), str(params.get("password", PASSWORD))


@router.post(
    "/dangNhap",
    response_model=PhienLamViec,
    response_model_exclude_none=True,
    summary="Đăng nhập: lấy session (username, password; header dstcode)",
    responses={422: {"model": Problem}},
)
async def login(
    request: Request,
    body: DangNhap,
    dstcode: Annotated[str | None, Header(max_length=100, examples=["DVCQG"])] = None,
) -> dict[str, Any]:
    username, password = _account(request)
    # Compared in constant time: the password is a secret like any other.
    matches = hmac.compare_digest(body.username.encode(), username.encode()) & hmac.compare_digest(
        body.password.encode(), password.encode()
    )
    # dstcode (the destination OpenCPS names) is kept with the session, as a claim: what the
    # portal does with it is not public.
    if not matches:
        why = "wrong username or password"
        return {"error_code": LOGIN_REFUSED, "message": f"Đăng nhập không thành công: {why}"}
    session = secrets.token_hex(16)
    await Records(db_of(request), SESSIONS).create(
        {"username": body.username, "dstcode": dstcode or ""},
        status="1",
        owner=body.username,
        client_key=f"session-{session}",
    )
    return {"session": session, "error_code": LOGIN_OK, "message": "Đăng nhập thành công"}


@router.post(
    "/chiaSeDanhMuc",
    response_model=KetQua,
    response_model_exclude_none=True,
    summary="Danh mục dùng chung (service: LayDanhMucCoQuan, LayDanhMucLinhVuc, …)",
    responses={422: {"model": Problem}},
)
async def share(request: Request, body: YeuCau) -> dict[str, Any]:
    return await call(request, body)


@router.post(
    "/dongBoHoSo",
    response_model=KetQua,
    response_model_exclude_none=True,
    summary="Đồng bộ hồ sơ, cập nhật tiến độ, tra cứu, thủ tục, hỏi đáp (service: …)",
    responses={422: {"model": Problem}},
)
async def call(request: Request, body: YeuCau) -> dict[str, Any]:
    if not await _session_valid(request, body.session):
        return _failure(NO_SESSION, "session: log in first (dangNhap) and send its session")
    read = await _reads(request, body)
    if read is not None:
        return read
    if body.service in ("DongBoHoiDap", "DongBoKetQuaHoiDapGuiTuDVCQG"):
        question = body.service == "DongBoHoiDap"
        items, wrong = _items(body.data, CauHoi if question else TraLoi)
        if wrong is not None:
            return _failure(BAD_REQUEST, wrong)
        stored = await _store(request, "HD" if question else "TL", items)
        return _failure(OK, f"Đồng bộ thành công {stored} mục")
    if body.service == "TraCuuHoSo":
        if not body.mahoso:
            return _failure(BAD_REQUEST, "mahoso: required for TraCuuHoSo")
        record = await _find(request, body.mahoso)
        return {**_failure(OK, "Thành công"), "result": [_view(record)] if record else []}
    model = HoSoMC if body.service == "DongBoHoSoMC" else TienDoHoSoMC
    items, wrong = _items(body.data, model)
    if wrong is not None:
        return _failure(BAD_REQUEST, wrong)
    if body.service == "DongBoHoSoMC":
        return await _sync(request, items)
    return await _progress(request, items)


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Cổng Dịch vụ công quốc gia (sample)",
        description="Dossier and progress sync from provincial systems, as OpenCPS calls it.",
        routers=[router],
        schema=SCHEMA,
    )
