"""National public-service portal: sync a provincial dossier and its progress; read it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request

from apikit.problems import ProblemError
from contracts.problem import Problem
from contracts.services.public_service_portal import DongBoHoSo, HoSoDongBo, TienDo
from services.common.app import create_backend_app, db_of
from services.common.config import BackendConfig
from services.common.records import SCHEMA, Record, Records

router = APIRouter()


def _view(record: Record) -> HoSoDongBo:
    return HoSoDongBo(
        maHoSo=record.body["maHoSo"],
        maThuTuc=record.body["maThuTuc"],
        maDonVi=record.body["maDonVi"],
        trangThai=record.status,
        tienDo=[TienDo(trangThai=h["status"], thoiGian=h["time"]) for h in record.history],
    )


async def _find(request: Request, dossier: str) -> Record | None:
    row = await db_of(request).one("SELECT id FROM records WHERE client_key = ?", (dossier,))
    return await Records(db_of(request), "DVC").get(row["id"]) if row else None


@router.post("/dongBoHoSo", response_model=HoSoDongBo)
async def sync(request: Request, body: DongBoHoSo) -> HoSoDongBo:
    """The first sync creates the dossier; later ones append progress (idempotent per state)."""
    records = Records(db_of(request), "DVC")
    record, created = await records.create(
        body.model_dump(mode="json"),
        status=body.trangThai,
        owner=body.maDonVi,
        client_key=body.maHoSo,
    )
    if not created and record.status != body.trangThai:
        record = await records.set_status(record, body.trangThai, unless_status=body.trangThai)
    return _view(record)


@router.get("/trangThaiHoSo", response_model=HoSoDongBo, responses={404: {"model": Problem}})
async def status(
    request: Request, maHoSo: Annotated[str, Query(max_length=40, examples=["DVC-0000001"])]
) -> HoSoDongBo:
    record = await _find(request, maHoSo)
    if record is None:
        raise ProblemError(
            404,
            "dossier-not-found",
            "Không tìm thấy hồ sơ",
            f"Dossier {maHoSo} was never synced to the portal.",
        )
    return _view(record)


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Cổng Dịch vụ công quốc gia (sample)",
        description="Dossier and progress sync from provincial systems.",
        routers=[router],
        schema=SCHEMA,
    )
