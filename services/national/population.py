"""National population database: look up a citizen, verify ID + name + date of birth."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request

from apikit.problems import ProblemError
from contracts.problem import Problem
from contracts.services.common import CCCD
from contracts.services.population import (
    CongDan,
    HoVaTen,
    NoiO,
    ThongTinCongDan,
    XacThucKetQua,
    XacThucYeuCau,
)
from services.common.app import create_backend_app, data_of
from services.common.config import BackendConfig
from services.common.sampledata import (
    PROVINCE_CODE,
    Address,
    Citizen,
    commune_code,
    district_code,
)

router = APIRouter()


def split_name(full: str) -> HoVaTen:
    """Family name first, given name last, the rest the middle name (ChuDem)."""
    parts = full.split()
    if len(parts) == 1:
        return HoVaTen(Ho="", ChuDem="", Ten=parts[0])
    return HoVaTen(Ho=parts[0], ChuDem=" ".join(parts[1:-1]), Ten=parts[-1])


def _place(a: Address) -> NoiO:
    return NoiO(
        ChiTiet=str(a),
        MaTinh=PROVINCE_CODE,
        MaHuyen=district_code(a.huyen),
        MaXa=commune_code(a.huyen, a.xa),
    )


def _record(c: Citizen) -> CongDan:
    home = _place(c.thuong_tru)
    return CongDan(
        SoCongDan=c.so_dinh_danh,
        CongDan=ThongTinCongDan(
            HoVaTen=split_name(c.ho_ten),
            NgayThangNamSinh=c.ngay_sinh.strftime("%d/%m/%Y"),
            GioiTinh=str(c.gioi_tinh),
            DanToc=c.dan_toc,
            QueQuan=c.que_quan,
            NoiThuongTru=home,
            NoiOHienTai=home,  # the sample's citizens live where they are registered
            SoHoKhau=c.ma_ho,
        ),
    )


def _same_name(a: str, b: str) -> bool:
    # Agencies type names with different Unicode forms and spacing; the person is the same.
    def norm(s: str) -> str:
        return " ".join(unicodedata.normalize("NFC", s).split()).casefold()

    return norm(a) == norm(b)


@router.get(
    "/congDan",
    response_model=CongDan,
    summary="Tra cứu thông tin công dân theo số định danh",
    responses={404: {"model": Problem}},
)
async def lookup(request: Request, soDinhDanh: Annotated[CCCD, Query()]) -> CongDan:
    citizen = data_of(request).citizen_index.get(soDinhDanh)
    if citizen is None:
        raise ProblemError(
            404,
            "citizen-not-found",
            "Không tìm thấy công dân",
            f"No citizen with ID {soDinhDanh} in the population database.",
        )
    return _record(citizen)


@router.post("/xacThucCongDan", response_model=XacThucKetQua, summary="Xác thực công dân")
async def verify(request: Request, body: XacThucYeuCau) -> XacThucKetQua:
    citizen = data_of(request).citizen_index.get(body.soDinhDanh)
    if citizen is None:
        return XacThucKetQua(
            soDinhDanh=body.soDinhDanh, tonTai=False, khop=False, truongKhongKhop=["soDinhDanh"]
        )
    wrong = []
    if not _same_name(citizen.ho_ten, body.hoTen):
        wrong.append("hoTen")
    if citizen.ngay_sinh != body.ngaySinh:
        wrong.append("ngaySinh")
    return XacThucKetQua(
        soDinhDanh=body.soDinhDanh, tonTai=True, khop=not wrong, truongKhongKhop=wrong
    )


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Cơ sở dữ liệu quốc gia về dân cư (sample)",
        description="Look up and verify citizens by their 12-digit ID. Synthetic data.",
        routers=[router],
    )
