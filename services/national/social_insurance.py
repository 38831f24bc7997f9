"""Social insurance: find a person's social-insurance number; a household's members."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request

from apikit.problems import ProblemError
from contracts.problem import Problem
from contracts.services.social_insurance import (
    HoGiaDinh,
    KetQuaTraCuu,
    NguoiThamGia,
    TraCuuMaSo,
)
from services.common.app import create_backend_app, data_of
from services.common.config import BackendConfig
from services.common.sampledata import Citizen

router = APIRouter()


def _person(c: Citizen) -> NguoiThamGia:
    return NguoiThamGia(
        maSoBhxh=c.so_bhxh,
        hoTen=c.ho_ten,
        ngaySinh=c.ngay_sinh.strftime("%Y%m%d"),
        gioiTinh=c.gioi_tinh,
        soCccd=c.so_dinh_danh,
    )


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


@router.post("/traCuuMaSoBHXH", response_model=KetQuaTraCuu)
async def find_number(request: Request, body: TraCuuMaSo) -> KetQuaTraCuu:
    found = [
        _person(c)
        for c in data_of(request).citizens
        if _fold(c.ho_ten) == _fold(body.hoTen)
        and c.ngay_sinh.strftime("%Y%m%d") == body.ngaySinh
        and c.gioi_tinh == body.gioiTinh
        and (body.soCccd is None or c.so_dinh_danh == body.soCccd)
    ]
    return KetQuaTraCuu(soKetQua=len(found), danhSach=found)


@router.get("/thongTinHoGiaDinh", response_model=HoGiaDinh, responses={404: {"model": Problem}})
async def household(
    request: Request, maHo: Annotated[str, Query(pattern=r"^HGD\d{9}$", examples=["HGD024000000"])]
) -> HoGiaDinh:
    members = [c for c in data_of(request).citizens if c.ma_ho == maHo]
    if not members:
        raise ProblemError(
            404, "household-not-found", "Không tìm thấy hộ gia đình", f"No household {maHo}."
        )
    return HoGiaDinh(
        maHo=maHo, diaChi=str(members[0].thuong_tru), thanhVien=[_person(c) for c in members]
    )


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Cơ sở dữ liệu quốc gia về bảo hiểm (sample)",
        description="Social-insurance numbers and households. Synthetic data.",
        routers=[router],
    )
