"""Public postal service (VNPost through NGSP): post an order, cancel it, follow its events, as
OpenCPS's VNPost client calls it."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request

from contracts.problem import Problem
from contracts.services.postal import (
    STATUS_POSTED,
    STATUS_REFUSED,
    MOrder,
    MResult,
    MStatus,
    result,
)
from services.common.app import config_of, create_backend_app, db_of
from services.common.config import BackendConfig
from services.common.records import SCHEMA, Record, Records

router = APIRouter()
PREFIX = "VN"
CANCELLED = "cancelled"
# An order is taken at once, then moves one step every STEP_SECONDS (a back end's
# `step_seconds` param), so a demo sees it travel. Computed from the stored order, its time
# and the clock when read: following an order never changes it.
STEP_SECONDS = 60.0
STEPS = [
    (1, "Tiếp nhận đơn hàng"),
    (2, "Đã nhận hàng tại bưu cục"),
    (3, "Đang vận chuyển"),
    (4, "Đang phát"),
    (5, "Phát thành công"),
]
CANCELLED_STEP = (9, "Đã hủy đơn hàng")
# Once out for delivery (the 4th step) an order can no longer be cancelled.
CANCELLABLE_STEPS = 3
HO_CHI_MINH = timezone(timedelta(hours=7))
# The sample customer's order (the contract's example) waits at the post office, taken and not
# moving, until someone posts it again or cancels it: then it is stored as any other order.
SAMPLE = MOrder.model_json_schema()["examples"][0]
SAMPLE_TIME = datetime(2024, 11, 22, 8, 30, tzinfo=HO_CHI_MINH).timestamp()
POS = "240100"  # the sample's post office (Bắc Giang), synthetic
MAX_ORDERS = 10_000


@dataclass(frozen=True)
class Event:
    oid: str
    at: float
    order: dict[str, Any]
    code: int
    message: str
    item: str

    def doc(self) -> dict[str, Any]:
        return {
            "_id": {"$oid": self.oid},
            "CustomerCode": self.order["CustomerCode"],
            "OrderNumber": self.order["OrderNumber"],
            "EventTime": datetime.fromtimestamp(self.at, HO_CHI_MINH).strftime("%Y-%m-%d %H:%M:%S"),
            "POSID": POS,
            "ItemCode": self.item,
            "StatusCode": self.code,
            "StatusMessage": self.message,
            "Notes": "",
        }


def _oid(at: float, record_id: str, step: int) -> str:
    """A MongoDB-like ObjectId: the event's time first, so ids sort as the events happened."""
    digest = hashlib.sha256(f"{record_id}:{step}".encode()).hexdigest()
    return f"{int(at):08x}{digest[:16]}"


def _cancelled_at(record: Record) -> float | None:
    return next((h["time"] for h in record.history if h["status"] == CANCELLED), None)


def events(record: Record, now: float, step_seconds: float = STEP_SECONDS) -> list[Event]:
    """What has happened to an order by `now`: one step every `step_seconds` from its posting,
    until delivered, or until it was cancelled."""
    item = f"EB{int(record.id.split('-')[1]):09d}VN"
    stop = _cancelled_at(record)
    out = []
    for index, (code, message) in enumerate(STEPS):
        at = record.created + index * step_seconds
        if at > now or (stop is not None and at >= stop):
            break
        out.append(Event(_oid(at, record.id, index), at, record.body, code, message, item))
    if stop is not None and stop <= now:
        code, message = CANCELLED_STEP
        out.append(Event(_oid(stop, record.id, 99), stop, record.body, code, message, item))
    return out


def page(found: list[Event], pagesize: int, last_id: str | None) -> dict[str, Any]:
    """A RESTHeart page of the events after `last_id`, in the order they happened."""
    ordered = sorted(found, key=lambda e: e.oid)
    after = [e for e in ordered if last_id is None or e.oid > last_id]
    shown = after[:pagesize]
    return {
        "_size": len(ordered),
        "_total_pages": max(1, math.ceil(len(ordered) / pagesize)),
        "_returned": len(shown),
        "_embedded": {"rh:doc": [e.doc() for e in shown]},
    }


def _step_seconds(request: Request) -> float:
    return float(config_of(request).params.get("step_seconds", STEP_SECONDS))


def _key(customer: str, order: str) -> str:
    return f"{customer}/{order}"


SAMPLE_KEY = _key(SAMPLE["CustomerCode"], SAMPLE["OrderNumber"])


def _sample_record() -> Record:
    history = [{"status": "posted", "time": SAMPLE_TIME}]
    return Record("VN-0000000", SAMPLE["CustomerCode"], "posted", SAMPLE, history, SAMPLE_TIME, 0)


@router.post(
    "/order/post",
    response_model=MResult,
    summary="Tạo đơn hàng (MOrder)",
    responses={422: {"model": Problem}},
)
async def post_order(request: Request, body: MOrder) -> dict[str, Any]:
    record, created = await Records(db_of(request), PREFIX).create(
        body.model_dump(mode="json"),
        status="posted",
        owner=body.CustomerCode,
        client_key=_key(body.CustomerCode, body.OrderNumber),
    )
    if not created and record.body != body.model_dump(mode="json"):
        return result(STATUS_REFUSED, f"Đơn hàng {body.OrderNumber} đã tồn tại với nội dung khác")
    return result(STATUS_POSTED, f"Tạo đơn hàng {body.OrderNumber} thành công")


@router.post(
    "/order/cancel",
    response_model=MResult,
    summary="Hủy đơn hàng",
    responses={422: {"model": Problem}},
)
async def cancel_order(
    request: Request,
    CustomerCode: Annotated[str, Query(min_length=1, max_length=50, examples=["BGG-MOTCUA"])],
    OrderNumber: Annotated[
        str, Query(min_length=1, max_length=60, examples=["000.00.01.H04-241122-0001"])
    ],
) -> dict[str, Any]:
    db = db_of(request)
    row = await db.one(
        "SELECT id FROM records WHERE client_key = ?", (_key(CustomerCode, OrderNumber),)
    )
    records = Records(db, PREFIX)
    record = await records.get(row["id"]) if row else None
    if record is None and _key(CustomerCode, OrderNumber) == SAMPLE_KEY:
        record, _ = await records.create(
            SAMPLE, status="posted", owner=CustomerCode, client_key=SAMPLE_KEY
        )
    if record is None:
        return result(STATUS_REFUSED, f"Không tìm thấy đơn hàng {OrderNumber}")
    if record.status == CANCELLED:
        return result(STATUS_POSTED, f"Đơn hàng {OrderNumber} đã được hủy")
    if len(events(record, time.time(), _step_seconds(request))) > CANCELLABLE_STEPS:
        return result(STATUS_REFUSED, f"Đơn hàng {OrderNumber} đang phát, không hủy được")
    # Conditional in the database: a cancel repeated concurrently is recorded once.
    await records.set_status(record, CANCELLED, unless_status=CANCELLED)
    return result(STATUS_POSTED, f"Hủy đơn hàng {OrderNumber} thành công")


@router.get(
    "/order/tracking",
    response_model=MStatus,
    response_model_by_alias=True,
    summary="Hành trình đơn hàng (trang RESTHeart)",
    responses={422: {"model": Problem}},
)
async def track(
    request: Request,
    pagesize: Annotated[int, Query(ge=1, le=1000, examples=[100])] = 100,
    lastId: Annotated[
        str | None, Query(pattern=r"^[0-9a-f]{24}$", examples=["6937c5004f3b2a1c9d8e7f60"])
    ] = None,
) -> dict[str, Any]:
    now, step = time.time(), _step_seconds(request)
    orders = await Records(db_of(request), PREFIX).all(MAX_ORDERS, 0)
    found = [e for record in orders for e in events(record, now, step)]
    if not any(
        o.body.get("CustomerCode") == SAMPLE["CustomerCode"]
        and o.body.get("OrderNumber") == SAMPLE["OrderNumber"]
        for o in orders
    ):
        found += events(_sample_record(), SAMPLE_TIME, step)
    return page(found, pagesize, lastId)


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Dịch vụ bưu chính công ích VNPost qua NGSP (sample)",
        description="Orders to ship administrative results, as OpenCPS's VNPost client posts, "
        "cancels and tracks them.",
        routers=[router],
        schema=SCHEMA,
    )
