"""Public postal service: create a shipment of a result to a citizen, track it."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request, Response

from apikit.problems import ProblemError
from contracts.problem import Problem
from contracts.services.postal import TaoVanDon, VanDon
from services.common.app import create_backend_app, db_of
from services.common.config import BackendConfig
from services.common.records import SCHEMA, Record, Records

router = APIRouter()
# A parcel is picked up at once, then moves one step a minute, so a demo sees it travel.
# Computed from its age when read: tracking never changes the stored shipment.
STEP_SECONDS = 60.0
STEPS = [
    "Đã nhận thông tin",
    "Đã nhận hàng tại bưu cục",
    "Đang vận chuyển",
    "Đang phát",
    "Phát thành công",
]


def _progressed(record: Record) -> int:
    """The step the parcel has reached now (STEPS' index)."""
    elapsed = max(0.0, time.time() - record.created)
    return min(len(STEPS) - 1, 1 + int(elapsed // STEP_SECONDS))


def _view(record: Record, step: int = 0) -> VanDon:
    return VanDon(
        maVanDon=record.id,
        maHoSo=record.body["maHoSo"],
        trangThai=STEPS[step],
        hanhTrinh=STEPS[: step + 1],
    )


@router.post(
    "/taoVanDon", response_model=VanDon, status_code=201, responses={200: {"model": VanDon}}
)
async def create_shipment(request: Request, body: TaoVanDon, response: Response) -> VanDon:
    record, created = await Records(db_of(request), "EB024").create(
        body.model_dump(mode="json"),
        status=STEPS[0],
        owner=body.maDonViGui,
        client_key=body.maHoSo,
    )
    if not created:
        response.status_code = 200
    return _view(record)


@router.get("/trangThaiVanDon", response_model=VanDon, responses={404: {"model": Problem}})
async def track(
    request: Request, maVanDon: Annotated[str, Query(max_length=40, examples=["EB024-0000001"])]
) -> VanDon:
    records = Records(db_of(request), "EB024")
    record = await records.get(maVanDon)
    if record is None:
        raise ProblemError(
            404, "shipment-not-found", "Không tìm thấy vận đơn", f"No shipment {maVanDon}."
        )
    return _view(record, _progressed(record))


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Dịch vụ bưu chính công ích (sample)",
        description="Shipping administrative results to citizens.",
        routers=[router],
        schema=SCHEMA,
    )
