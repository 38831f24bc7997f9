"""Social insurance: a person's number by criteria, the person behind a number, a household —
the three operations of the NGSP connection guide."""

from __future__ import annotations

import unicodedata

from fastapi import APIRouter, FastAPI, Request

from apikit.problems import ProblemError
from contracts.problem import Problem
from contracts.services.social_insurance import (
    MaSoBhxh,
    TheoMaSo,
    ThongTinHoGiaDinh,
    ThongTinTheoMaSo,
    TieuChi,
    TraCuuHoGiaDinh,
)
from services.common.app import create_backend_app, data_of
from services.common.config import BackendConfig
from services.common.sampledata import PROVINCE_CODE, Citizen, commune_code, district_code

router = APIRouter()
PARTICIPATING = "Đang tham gia"


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


def _born(c: Citizen, kind: str) -> str:
    full = c.ngay_sinh.strftime("%Y%m%d")
    return {"0": full, "1": full[:4], "2": full[:6]}[kind]


def _place(c: Citizen, birth: bool) -> tuple[str, str, str]:
    """(province, district, commune) GSO codes: of the birth registration (isKs 1: the
    province in the ID, the rest unknown) or of the household (isKs 0)."""
    if birth:
        return c.so_dinh_danh[1:3], "", ""
    home = c.thuong_tru
    return PROVINCE_CODE, district_code(home.huyen), commune_code(home.huyen, home.xa)


def _matches(c: Citizen, name: str, born: str, kind: str, sex: str) -> bool:
    return _fold(c.ho_ten) == _fold(name) and _born(c, kind) == born and str(c.gioi_tinh) == sex


@router.post(
    "/getMaSoBhxhTheoTieuChi",
    response_model=MaSoBhxh,
    summary="Lấy mã số bảo hiểm xã hội theo tiêu chí",
    responses={422: {"model": Problem}},
)
async def number_by_criteria(request: Request, body: TieuChi) -> MaSoBhxh:
    for c in data_of(request).citizens:
        if not _matches(c, body.hoTen, body.ngaySinh, body.loaiNgaySinh, body.gioiTinh):
            continue
        province, district, commune = _place(c, body.isKs == "1")
        if province != body.maTinhKs or (body.maHuyenKs and body.maHuyenKs != district):
            continue
        if body.maXaKs and body.maXaKs != commune:
            continue
        return MaSoBhxh(maSoBhxh=c.so_bhxh, trangThai=PARTICIPATING, errorCode="0")
    return MaSoBhxh(maSoBhxh="", trangThai="Không tìm thấy", errorCode="1")


def _not_found(what: str) -> ProblemError:
    return ProblemError(404, "person-not-found", "Không tìm thấy thông tin", what)


@router.post(
    "/getTraCuuTtHgdByMaSoBhxh",
    response_model=ThongTinTheoMaSo,
    summary="Tra cứu thông tin từ mã số bảo hiểm xã hội",
    responses={404: {"model": Problem}, 422: {"model": Problem}},
)
async def by_number(request: Request, body: TheoMaSo) -> ThongTinTheoMaSo:
    c = next((c for c in data_of(request).citizens if c.so_bhxh == body.maSoBhxh), None)
    if c is None:
        raise _not_found(f"No one has social-insurance number {body.maSoBhxh}.")
    province, district, commune = _place(c, birth=False)
    return ThongTinTheoMaSo(
        hoTen=c.ho_ten,
        soSoCu=f"{province}{c.so_bhxh[-8:]}",
        ngaySinh=_born(c, "0"),
        loaiNgaySinh="0",
        gioiTinh="1" if c.gioi_tinh == 1 else "2",
        maTinhKs=province,
        maHuyenKs=district,
        maXaKs=commune,
        trangThai=PARTICIPATING,
    )


@router.post(
    "/getTraCuuThongTinHgd",
    response_model=ThongTinHoGiaDinh,
    summary="Tra cứu thông tin hộ gia đình",
    responses={404: {"model": Problem}, 422: {"model": Problem}},
)
async def household(request: Request, body: TraCuuHoGiaDinh) -> ThongTinHoGiaDinh:
    for c in data_of(request).citizens:
        if not _matches(c, body.hoTen, body.ngaySinh, body.loaiNgaySinh, body.gioiTinh):
            continue
        if _place(c, body.isKs == "1")[0] != body.maTinh:
            continue
        if body.soSo and body.soSo != c.so_bhxh:
            continue
        return ThongTinHoGiaDinh(
            maSo=c.so_bhxh,
            hoTen=c.ho_ten,
            ngaySinh=_born(c, body.loaiNgaySinh),
            loaiNgaySinh=body.loaiNgaySinh,
            gioiTinh=body.gioiTinh,
            maHo=c.ma_ho,
            diaChi=str(c.thuong_tru),
            trangThai=PARTICIPATING,
        )
    raise _not_found("No insured person matches these criteria.")


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Cơ sở dữ liệu quốc gia về bảo hiểm (sample)",
        description="Social-insurance numbers and households, in the NGSP guide's shapes. "
        "Synthetic data.",
        routers=[router],
    )
