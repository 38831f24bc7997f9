"""Document send/receive routes shared by the national axis and the provincial e-office."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from apikit.problems import ProblemError
from contracts.problem import Problem
from contracts.services.common import AgencyCode
from contracts.services.documents import CapNhatTrangThai, VanBan, VanBanDaNhan
from services.common.app import db_of
from services.common.records import Record, Records


def document_router(prefix: str) -> APIRouter:
    router = APIRouter()

    def view(record: Record) -> VanBanDaNhan:
        return VanBanDaNhan(
            id=record.id,
            trangThai=record.status,  # type: ignore[arg-type]
            vanBan=VanBan.model_validate(record.body),
        )

    @router.post(
        "/guiVanBan",
        response_model=VanBanDaNhan,
        status_code=201,
        responses={200: {"model": VanBanDaNhan}},
    )
    async def send(request: Request, body: VanBan, response: Response) -> VanBanDaNhan:
        records = Records(db_of(request), prefix)
        record, created = await records.create(
            body.model_dump(mode="json"),
            status="01",
            owner=",".join(r.maDonVi for r in body.noiNhan),
            client_key=body.maThamChieu,
        )
        if not created:
            response.status_code = 200
        return view(record)

    @router.get("/vanBanDen", response_model=list[VanBanDaNhan])
    async def received(
        request: Request,
        maDonVi: Annotated[AgencyCode, Query()],
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
        size: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> list[VanBanDaNhan]:
        rows = await db_of(request).all(
            "SELECT id FROM records WHERE ',' || owner || ',' LIKE ? ORDER BY created "
            "LIMIT ? OFFSET ?",
            (f"%,{maDonVi},%", size, (page - 1) * size),
        )
        records = Records(db_of(request), prefix)
        found = [await records.get(r["id"]) for r in rows]
        return [view(r) for r in found if r is not None]

    async def one(request: Request, doc_id: str) -> Record:
        record = await Records(db_of(request), prefix).get(doc_id)
        if record is None:
            raise ProblemError(
                404, "document-not-found", "Không tìm thấy văn bản", f"No document {doc_id}."
            )
        return record

    @router.get("/vanBan/{id}", response_model=VanBanDaNhan, responses={404: {"model": Problem}})
    async def get(
        request: Request, doc_id: Annotated[str, Path(alias="id", max_length=40)]
    ) -> VanBanDaNhan:
        return view(await one(request, doc_id))

    @router.post(
        "/vanBan/{id}/trangThai",
        response_model=VanBanDaNhan,
        responses={404: {"model": Problem}},
    )
    async def update_status(
        request: Request,
        doc_id: Annotated[str, Path(alias="id", max_length=40)],
        body: CapNhatTrangThai,
    ) -> VanBanDaNhan:
        record = await one(request, doc_id)
        record = await Records(db_of(request), prefix).set_status(
            record, body.trangThai, body.ghiChu
        )
        return view(record)

    return router
