"""Civil status registration: receive a civil-status record (XML in JSON), report its status
and result, list categories — the operations and codes of the NGSP connection guide."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from lxml import etree
from pydantic import ValidationError

from contracts.edxml.xml import XmlRefused, parse
from contracts.problem import Problem
from contracts.services.civil_status import (
    CATEGORY_NAMES,
    DangKyHoTich,
    DanhMuc,
    DuLieuHoTich,
    HoSoCuaDonVi,
    KetQua,
    KetQuaDangKy,
    LoaiDanhMuc,
    NhanHoSoDKHT,
    error,
    ok,
)
from services.common.app import create_backend_app, data_of, db_of
from services.common.config import BackendConfig
from services.common.records import SCHEMA, Record, Records

router = APIRouter()
PREFIX = "HT"
# The sample's administrative units: Bắc Giang's communes get codes 7000-7999 (synthetic).
UNITS = range(7000, 8000)
CATEGORIES: dict[str, list[tuple[str, str]]] = {
    "1": [("VN", "Việt Nam"), ("LA", "Lào"), ("KH", "Campuchia"), ("CN", "Trung Quốc")],
    "2": [("VN", "Việt Nam"), ("LA", "Lào"), ("KH", "Campuchia"), ("CN", "Trung Quốc")],
    "3": [("01", "Kinh"), ("02", "Tày"), ("06", "Nùng"), ("17", "Sán Chay"), ("19", "Sán Dìu")],
    "4": [("01", "Thành phố Hà Nội"), ("24", "Tỉnh Bắc Giang"), ("27", "Tỉnh Bắc Ninh")],
    "5": [("1", "Chứng minh nhân dân"), ("2", "Hộ chiếu"), ("3", "Căn cước công dân")],
}
REQUIRED = ("hoTenTre", "gioiTinh", "ngaySinh", "noiSinh", "cccdMe", "hoTenMe")
RESPONSES: dict[int | str, dict[str, Any]] = {422: {"model": Problem}}


def _unit(value: int | str) -> int:
    return int(value)


def _record(data: str) -> tuple[dict[str, Any] | None, str]:
    """The record's fields from `data` in any of its three forms, or None and what is wrong.
    A form whose child's fields are known gives hoTenTre, gioiTinh and ngaySinh (dd/MM/yyyy)."""
    text = data.strip()
    if text.startswith("{"):
        return _from_json(text)
    try:
        # The same hardened, bounded parser as edXML: no entities, no DTD, no network.
        root = parse(text.encode("utf-8"))
    except XmlRefused as exc:
        return None, f"data is neither a JSON object nor acceptable XML ({exc})"
    name = etree.QName(root).localname
    if name == "hoSo":
        return _birth(root)
    if name.lower() == "hotich":
        hoso = [c for c in root if etree.QName(c).localname.lower() == "hoso"]
        if len(hoso) != 1:
            return None, "data: <hotich> holds one <hoso>"
        fields = {etree.QName(c).localname: (c.text or "").strip() for c in hoso[0]}
        if not any(fields.values()):
            return None, "data: <hoso> has no fields"
        # A province's form fields: kept as sent, not read (their names are the form's).
        return {"form": fields}, ""
    return None, f"data: <{name}> is neither <hoSo> nor <hotich>"


def _from_json(text: str) -> tuple[dict[str, Any] | None, str]:
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        return None, "data is not valid JSON"
    if not isinstance(raw, dict):
        return None, "data: a JSON object"
    try:
        record = DuLieuHoTich.model_validate(raw)
    except ValidationError as exc:
        wrong = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        return None, f"data: {wrong}"
    fields: dict[str, Any] = {"form": raw}
    name, born = record.cbsHoTen, record.cbsNgaySinh
    if name is not None and born is not None and born.thangSinh and born.ngaySinh:
        try:
            day = date(int(born.namSinh), int(born.thangSinh), int(born.ngaySinh))
        except ValueError:
            return None, "data: cbsNgaySinh is no date"
        fields |= {
            "hoTenTre": " ".join(" ".join((name.Ho, name.ChuDem, name.Ten)).split()),
            "gioiTinh": str(record.cbsGioiTinh or ""),
            "ngaySinh": day.strftime("%d/%m/%Y"),
        }
    return fields, ""


def _birth(root: etree._Element) -> tuple[dict[str, Any] | None, str]:
    """The sandbox's own <hoSo>: the child's and the mother's fields, checked."""
    fields = {etree.QName(child).localname: (child.text or "").strip() for child in root}
    missing = [f for f in REQUIRED if not fields.get(f)]
    if missing:
        return None, f"data lacks {', '.join(missing)}"
    if fields["gioiTinh"] not in ("1", "2"):
        return None, "gioiTinh is 1 (nam) or 2 (nữ)"
    try:
        datetime.strptime(fields["ngaySinh"], "%d/%m/%Y")
    except ValueError:
        return None, "ngaySinh is dd/MM/yyyy"
    return fields, ""


@router.post(
    "/dangKyHoTich",
    response_model=KetQua,
    summary="Đăng ký hộ tịch: hồ sơ từ hệ thống một cửa (dữ liệu XML)",
    responses=RESPONSES,
)
async def register(request: Request, body: DangKyHoTich) -> dict[str, Any]:
    return await _receive(request, body)


@router.post(
    "/nhanHoSoDKHT",
    response_model=KetQua,
    summary="Nhận hồ sơ liên thông (LTKS, LTKT, LTKH)",
    responses=RESPONSES,
)
async def receive_joint(request: Request, body: NhanHoSoDKHT) -> dict[str, Any]:
    return await _receive(request, body)


async def _receive(request: Request, body: DangKyHoTich) -> dict[str, Any]:
    if _unit(body.maDonVi) not in UNITS:
        return error(106, f"maDonVi {body.maDonVi} is no unit of the category")
    fields, wrong = _record(body.data)
    if fields is None:
        return error(500, wrong)
    # A mother unknown to the population database means the record must be completed.
    known = "cccdMe" not in fields or fields["cccdMe"] in data_of(request).citizen_index
    await Records(db_of(request), PREFIX).create(
        {**body.model_dump(mode="json"), "fields": fields},
        status="1" if known else "2",
        owner=str(_unit(body.maDonVi)),
        client_key=body.dossier,
    )
    return ok(1, moTa="Gửi thông tin thành công")


async def _find(request: Request, body: HoSoCuaDonVi) -> tuple[Record | None, dict[str, Any]]:
    row = await db_of(request).one("SELECT id FROM records WHERE client_key = ?", (body.maHoSo,))
    record = await Records(db_of(request), PREFIX).get(row["id"]) if row else None
    if record is None:
        return None, error(201, body.maHoSo)
    if record.owner != str(_unit(body.maDonVi)):
        return None, error(106, f"{body.maHoSo} was received by another unit")
    return record, {}


def _shown_status(record: Record) -> int:
    """What the registry answers now. The sample registrar decides at once: a complete
    record (1) whose child it can name is registered (4); one lacking information stays 2;
    one it cannot read (a province's own form fields) stays received (1). Computed, never
    written: reading a status changes nothing."""
    if record.status == "1" and "ngaySinh" not in record.body["fields"]:
        return 1
    return 4 if record.status == "1" else int(record.status)


@router.post(
    "/traTrangThaiHoSo",
    response_model=KetQua,
    summary="Tra trạng thái xử lý hồ sơ",
    responses=RESPONSES,
)
async def status(request: Request, body: HoSoCuaDonVi) -> dict[str, Any]:
    record, failed = await _find(request, body)
    if record is None:
        return failed
    return ok(_shown_status(record))


def _issued_id(record: Record) -> str:
    fields = record.body["fields"]
    born = datetime.strptime(fields["ngaySinh"], "%d/%m/%Y").date()
    male = fields["gioiTinh"] == "1"
    century_sex = (0 if born.year < 2000 else 2) + (0 if male else 1)
    return f"024{century_sex}{born.year % 100:02d}{int(record.id.split('-')[1]) % 1_000_000:06d}"


@router.post(
    "/ketQuaDangKyHS",
    response_model=KetQua,
    summary="Kết quả đăng ký hồ sơ",
    responses=RESPONSES,
)
async def result(request: Request, body: HoSoCuaDonVi) -> dict[str, Any]:
    record, failed = await _find(request, body)
    if record is None:
        return failed
    if _shown_status(record) != 4:
        return error(200, body.maHoSo)
    registered = date.fromtimestamp(record.created)
    value = KetQuaDangKy(
        maHoSo=body.maHoSo,
        module=record.body["module"],
        soDinhDanh=_issued_id(record),
        hoTen=record.body["fields"]["hoTenTre"],
        ngayDangKy=registered.strftime("%d/%m/%Y"),
    )
    return ok(1, value.model_dump(), moTa="Giao dịch thành công")


@router.post("/danhMuc", response_model=KetQua, summary="Danh mục", responses=RESPONSES)
async def categories(body: LoaiDanhMuc) -> dict[str, Any]:
    rows = CATEGORIES.get(body.loaiDanhMuc.strip())
    if rows is None:
        return error(302, f"loaiDanhMuc is one of {', '.join(CATEGORY_NAMES)}")
    value = [DanhMuc(ma=m, ten=t).model_dump() for m, t in rows]
    return ok(1, value, moTa="Giao dịch thành công")


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Hệ thống đăng ký và quản lý hộ tịch (sample)",
        description="Civil-status records with the NGSP guide's operations, statuses and "
        "error codes. Synthetic.",
        routers=[router],
        schema=SCHEMA,
    )
