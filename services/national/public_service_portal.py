"""National public-service portal: provincial systems sync dossiers and their progress, and
look them up, through one POST naming the function (as OpenCPS calls it)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ValidationError

from contracts.problem import Problem
from contracts.services.public_service_portal import OK, HoSoMC, KetQua, TienDoHoSoMC, YeuCau
from services.common.app import create_backend_app, db_of
from services.common.config import BackendConfig
from services.common.records import SCHEMA, Record, Records

router = APIRouter()
PREFIX = "DVC"
BAD_REQUEST = "01"  # sandbox codes: the guide-less failures
UNKNOWN_DOSSIER = "02"


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


@router.post(
    "/dongBoHoSo",
    response_model=KetQua,
    response_model_exclude_none=True,
    summary="Đồng bộ hồ sơ, cập nhật tiến độ, tra cứu hồ sơ (service: DongBoHoSoMC, …)",
    responses={422: {"model": Problem}},
)
async def call(request: Request, body: YeuCau) -> dict[str, Any]:
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
