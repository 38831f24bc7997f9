"""Provincial administrative-procedure system: submit a dossier, read its status, list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response

from apikit.problems import ProblemError
from contracts.problem import Problem
from contracts.services.common import AgencyCode
from contracts.services.one_stop_shop import HoSo, NopHoSo
from services.common.app import create_backend_app, db_of
from services.common.config import BackendConfig
from services.common.records import SCHEMA, Record, Records

router = APIRouter()
PREFIX = "000.00.01.H04"


def _view(record: Record) -> HoSo:
    b = record.body
    return HoSo(
        maHoSo=record.id,
        maThuTuc=b["maThuTuc"],
        maDonVi=b["maDonVi"],
        soDinhDanh=b["soDinhDanh"],
        hoTen=b["hoTen"],
        trangThai=record.status,
        lichSu=[h["status"] for h in record.history],
    )


@router.post("/hoSo", response_model=HoSo, status_code=201, responses={200: {"model": HoSo}})
async def submit(request: Request, body: NopHoSo, response: Response) -> HoSo:
    record, created = await Records(db_of(request), PREFIX).create(
        body.model_dump(mode="json"),
        status="Mới tiếp nhận",
        owner=body.maDonVi,
        client_key=body.maThamChieu,
    )
    if not created:
        response.status_code = 200
    return _view(record)


@router.get("/hoSo/{maHoSo}", response_model=HoSo, responses={404: {"model": Problem}})
async def status(request: Request, maHoSo: Annotated[str, Path(max_length=40)]) -> HoSo:
    record = await Records(db_of(request), PREFIX).get(maHoSo)
    if record is None:
        raise ProblemError(
            404, "dossier-not-found", "Không tìm thấy hồ sơ", f"No dossier {maHoSo}."
        )
    return _view(record)


@router.get("/hoSo", response_model=list[HoSo])
async def list_dossiers(
    request: Request,
    maDonVi: Annotated[AgencyCode | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[HoSo]:
    records = Records(db_of(request), PREFIX)
    offset = (page - 1) * size
    found = (
        await records.by_owner(maDonVi, size, offset)
        if maDonVi
        else await records.all(size, offset)
    )
    return [_view(r) for r in found]


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Hệ thống thông tin giải quyết thủ tục hành chính tỉnh (sample)",
        description="Citizens' dossiers: submit, track, list.",
        routers=[router],
        schema=SCHEMA,
    )
