"""Civil status registration: receive a birth-registration dossier, report its status."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Query, Request, Response

from apikit.problems import ProblemError
from contracts.problem import Problem
from contracts.services.civil_status import STATUS_NAMES, DanhMuc, KetQuaTiepNhan, KhaiSinh
from services.common.app import create_backend_app, data_of, db_of
from services.common.config import BackendConfig
from services.common.records import SCHEMA, Records

router = APIRouter()
CATEGORIES = {
    "gioiTinh": [("1", "Nam"), ("2", "Nữ")],
    "loaiHoSo": [("KS", "Khai sinh"), ("KT", "Khai tử"), ("KH", "Kết hôn")],
    "trangThai": [(str(k), v) for k, v in STATUS_NAMES.items()],
}


def _reply(record_status: int, dossier: str, issued: str | None) -> KetQuaTiepNhan:
    return KetQuaTiepNhan(
        status=record_status, maHoSo=dossier, soDinhDanhTre=issued, moTa=STATUS_NAMES[record_status]
    )


@router.post(
    "/dangKyKhaiSinh",
    response_model=KetQuaTiepNhan,
    status_code=201,
    responses={200: {"model": KetQuaTiepNhan}, 422: {"model": Problem}},
)
async def register_birth(request: Request, body: KhaiSinh, response: Response) -> KetQuaTiepNhan:
    if body.maTinh != body.maDonVi[-2:] and body.maTinh != "24":
        raise ProblemError(
            422,
            "wrong-province",
            "Sai mã tỉnh",
            f"maTinh {body.maTinh} does not match the agency {body.maDonVi}.",
            code=108,
        )
    citizens = data_of(request).citizen_index
    # A mother unknown to the population database means the record must be completed.
    status = 1 if body.cccdMe in citizens else 2
    record, created = await Records(db_of(request), "KS").create(
        body.model_dump(mode="json"),
        status=str(status),
        owner=body.maDonVi,
        client_key=body.maHoSo,
    )
    if not created:
        response.status_code = 200
    return _reply(int(record.status), body.maHoSo, None)


@router.get("/trangThaiHoSo", response_model=KetQuaTiepNhan, responses={404: {"model": Problem}})
async def dossier_status(
    request: Request, maHoSo: Annotated[str, Query(max_length=40, examples=["HT-0000001"])]
) -> KetQuaTiepNhan:
    records = Records(db_of(request), "KS")
    row = await db_of(request).one("SELECT id FROM records WHERE client_key = ?", (maHoSo,))
    record = await records.get(row["id"]) if row else None
    if record is None:
        raise ProblemError(
            404,
            "dossier-not-found",
            "Không tìm thấy hồ sơ",
            f"No civil-status dossier {maHoSo}.",
            code=201,
        )
    status = int(record.status)
    issued = None
    if status == 1:
        # The registrar decides within the sandbox's day: received -> eligible -> registered.
        record = await records.set_status(record, "4", "registered", expected="1")
        status = int(record.status)
    if status == 4:
        born = record.body["ngaySinh"]
        male = record.body["gioiTinh"] == 1
        century_sex = (0 if int(born[:4]) < 2000 else 2) + (0 if male else 1)
        issued = f"024{century_sex}{born[2:4]}{int(record.id.split('-')[1]) % 1_000_000:06d}"
    return _reply(status, maHoSo, issued)


@router.get("/danhMuc", response_model=list[DanhMuc])
async def categories(
    loai: Annotated[Literal["gioiTinh", "loaiHoSo", "trangThai"], Query()],
) -> list[DanhMuc]:
    return [DanhMuc(ma=m, ten=t) for m, t in CATEGORIES[loai]]


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Hệ thống đăng ký và quản lý hộ tịch (sample)",
        description="Birth-registration dossiers with the guide's status codes. Synthetic.",
        routers=[router],
        schema=SCHEMA,
    )
