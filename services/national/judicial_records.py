"""Judicial records: the one-stop shop hands over requests for a criminal-record certificate
and follows their status — the functions of the NGSP connection guide."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Request

from contracts.problem import Problem
from contracts.services.judicial_records import (
    STATUS_NAMES,
    DanhDau,
    DanhMuc,
    DanhSachTrangThai,
    KetQua,
    LoaiThongTin,
    MucDanhMuc,
    NhanHoSo,
    TrangThai,
    TrangThaiHoSo,
    TraTrangThai,
)
from services.common.app import create_backend_app, db_of
from services.common.config import BackendConfig
from services.common.records import SCHEMA, Record, Records

router = APIRouter()
PREFIX = "LLTP"
NEW, FETCHED = "moi", "da-lay"  # the record's own status: fetched by the one-stop shop or not
STEP_SECONDS = 60.0  # received (3), then processing (4), then issued (5): a minute a step
RESPONSES: dict[int | str, dict[str, Any]] = {422: {"model": Problem}}
CATEGORIES = {
    "1": [("24", "Tỉnh Bắc Giang"), ("213", "Thành phố Bắc Giang"), ("219", "Huyện Lục Ngạn")],
    "2": [("1", "Việt Nam"), ("2", "Lào"), ("3", "Campuchia")],
    "3": [("1", "Kinh"), ("2", "Tày"), ("6", "Nùng")],
    "4": [("24", "Sở Tư pháp tỉnh Bắc Giang")],
    "5": [("2401", "Phòng Hành chính tư pháp")],
}


def _failure(description: str) -> dict[str, Any]:
    return {"STATUS": "0", "DESCRIPTION": description}


def _status(record: Record) -> int:
    """3 → 4 → 5 with the request's age; computed, never written."""
    elapsed = max(0.0, time.time() - record.created)
    return min(5, 3 + int(elapsed // STEP_SECONDS))


def _dates(record: Record, status: int) -> tuple[str | None, str | None]:
    if status < 5:
        return None, None
    issued = date.fromtimestamp(record.created) + timedelta(days=1)
    text = issued.strftime("%d/%m/%Y")
    return text, text


async def _by_receipt(request: Request, receipt: str) -> Record | None:
    row = await db_of(request).one("SELECT id FROM records WHERE client_key = ?", (receipt,))
    return await Records(db_of(request), PREFIX).get(row["id"]) if row else None


@router.post(
    "/nhanHoSoDangKy",
    response_model=KetQua,
    response_model_exclude_none=True,
    summary="Nhận hồ sơ đăng ký từ phần mềm một cửa",
    responses=RESPONSES,
)
async def receive(request: Request, body: NhanHoSo) -> dict[str, Any]:
    record, created = await Records(db_of(request), PREFIX).create(
        body.model_dump(mode="json"),
        status=NEW,
        owner=body.idMinistryJustice,
        client_key=body.idReceivedDec,
    )
    if not created and record.body != body.model_dump(mode="json"):
        return _failure(f"idReceivedDec {body.idReceivedDec} đã được gửi với nội dung khác")
    return {"STATUS": "1", "DESCRIPTION": "", "ID": record.id}


@router.post(
    "/LLTP-API-traTrangThaiHs",
    response_model=TrangThai,
    response_model_exclude_none=True,
    summary="Trả trạng thái hồ sơ",
    responses=RESPONSES,
)
async def status(request: Request, body: TraTrangThai) -> dict[str, Any]:
    record = await _by_receipt(request, body.idReceivedDec)
    if record is None:
        return _failure(f"Không tìm thấy hồ sơ {body.idReceivedDec}")
    step = _status(record)
    approved, issued = _dates(record, step)
    return {
        "STATUS": "1",
        "DEC_STATUS_ID": step,
        "DEC_STATUS_NAME": STATUS_NAMES[step],
        "APPROVE_DATE": approved,
        "ISSUE_DATE": issued,
    }


@router.post(
    "/LLTP-API-traDsTrangThaiHs",
    response_model=DanhSachTrangThai,
    summary="Trả danh sách trạng thái hồ sơ",
    responses=RESPONSES,
)
async def statuses(request: Request, body: LoaiThongTin) -> dict[str, Any]:
    if body.infoType not in ("1", "2"):
        return {**_failure("infoType là 1 hoặc 2"), "LISTCONTENT": []}
    rows = await db_of(request).all(
        "SELECT id FROM records WHERE status = ? ORDER BY created LIMIT 500", (NEW,)
    )
    records = Records(db_of(request), PREFIX)
    listed = []
    for row in rows:
        record = await records.get(row["id"])
        if record is None:
            continue
        step = _status(record)
        approved, issued = _dates(record, step)
        listed.append(
            TrangThaiHoSo(
                DECLARATION_ID=record.id,
                DEC_STATUS_ID=step,
                DEC_STATUS_NAME=STATUS_NAMES[step],
                APPROVE_DATE=approved,
                APPOINTMENT_NO=None,
                RECEIVE_NO=record.body["idReceivedDec"],
                ISSUE_DATE=issued,
            )
        )
    return {"STATUS": "1", "DESCRIPTION": "", "LISTCONTENT": listed}


@router.post(
    "/LLTP-API-danhDauHsThanhCong",
    response_model=KetQua,
    response_model_exclude_none=True,
    summary="Đánh dấu hồ sơ đã lấy thành công",
    responses=RESPONSES,
)
async def mark(request: Request, body: DanhDau) -> dict[str, Any]:
    records = Records(db_of(request), PREFIX)
    ids = [i.strip() for i in body.declarationId.split(";") if i.strip()]
    found = [await records.get(i) for i in ids]
    missing = [i for i, r in zip(ids, found, strict=True) if r is None]
    if missing:
        return _failure(f"Không tìm thấy: {';'.join(missing)}")
    for record in found:
        if record is not None and record.status != FETCHED:
            await records.set_status(record, FETCHED, f"infoType {body.infoType}")
    return {"STATUS": "1", "DESCRIPTION": ""}


@router.post(
    "/LLTP-API-traDanhMuc",
    response_model=DanhMuc,
    summary="Tra danh mục",
    responses=RESPONSES,
)
async def categories(body: LoaiThongTin) -> DanhMuc:
    rows = [MucDanhMuc(ID=i, NAME=n) for i, n in CATEGORIES[body.infoType]]
    return DanhMuc(STATUS="1", LISTCONTENT=rows)


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Hệ thống thông tin lý lịch tư pháp (sample)",
        description="Criminal-record certificate requests from one-stop shops, with the "
        "NGSP guide's functions and statuses. Synthetic.",
        routers=[router],
        schema=SCHEMA,
    )
