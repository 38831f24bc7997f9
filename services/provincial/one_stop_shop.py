"""Provincial administrative-procedure system: submit a dossier, read its status, list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response

from apikit.problems import ProblemError
from contracts.problem import Problem
from contracts.seeds import SeedDossier
from contracts.services.common import AgencyCode
from contracts.services.one_stop_shop import HoSo, NopHoSo
from services.common.app import create_backend_app, data_of, db_of
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


def _seeded(dossier: SeedDossier) -> HoSo:
    return HoSo.model_validate(dossier.model_dump(include=set(HoSo.model_fields)))


@router.get("/hoSo/{maHoSo}", response_model=HoSo, responses={404: {"model": Problem}})
async def status(request: Request, maHoSo: Annotated[str, Path(max_length=40)]) -> HoSo:
    record = await Records(db_of(request), PREFIX).get(maHoSo)
    if record is not None:
        return _view(record)
    seeded = next((d for d in data_of(request).dossiers if d.maHoSo == maHoSo), None)
    if seeded is None:
        raise ProblemError(
            404, "dossier-not-found", "Không tìm thấy hồ sơ", f"No dossier {maHoSo}."
        )
    return _seeded(seeded)


@router.get("/hoSo", response_model=list[HoSo])
async def list_dossiers(
    request: Request,
    maDonVi: Annotated[AgencyCode | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[HoSo]:
    # Seeded dossiers first, then submitted ones, as one list paged across both.
    seeded = [_seeded(d) for d in data_of(request).dossiers if maDonVi in (None, d.maDonVi)]
    offset = (page - 1) * size
    shown = seeded[offset : offset + size]
    records = Records(db_of(request), PREFIX)
    rest, skip = size - len(shown), max(0, offset - len(seeded))
    found = (
        await records.by_owner(maDonVi, rest, skip) if maDonVi else await records.all(rest, skip)
    )
    return [*shown, *(_view(r) for r in found)]


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Hệ thống thông tin giải quyết thủ tục hành chính tỉnh (sample)",
        description="Citizens' dossiers: submit, track, list.",
        routers=[router],
        schema=SCHEMA,
    )
