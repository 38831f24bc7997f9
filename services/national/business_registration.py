"""National business registration database: enterprise detail, dossiers by day and status."""

from __future__ import annotations

import random
from datetime import date, timedelta
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request

from apikit.problems import ProblemError
from contracts.problem import FieldError, Problem
from contracts.services.business_registration import (
    MAX_RANGE_DAYS,
    ChiTietDoanhNghiepReply,
    DanhSachHoSoReply,
    DoanhNghiep,
    HoSoDangKy,
    TrangThaiHoSoReply,
)
from contracts.services.common import EnterpriseCode, ok
from services.common.app import config_of, create_backend_app, data_of
from services.common.config import BackendConfig
from services.common.sampledata import enterprises

router = APIRouter()
KINDS = ["Đăng ký thành lập mới", "Đăng ký thay đổi nội dung", "Thông báo tạm ngừng kinh doanh"]
STATES = ["Đã tiếp nhận", "Đang xử lý", "Đã cấp", "Yêu cầu bổ sung"]


@lru_cache(maxsize=8)
def dossiers(seed: int, today: date) -> tuple[HoSoDangKy, ...]:
    """About four dossiers a day over the last 60 days, stable for a given seed and day."""
    rng = random.Random(f"dkdn:{seed}")
    companies = enterprises(seed)
    out = []
    for n in range(240):
        company = rng.choice(companies)
        out.append(
            HoSoDangKy(
                MaHoSo=f"DKDN-024-{n:06d}",
                MaSoDoanhNghiep=company.msdn,
                LoaiHoSo=rng.choice(KINDS),
                NgayNop=today - timedelta(days=n // 4),
                TrangThai=rng.choice(STATES),
            )
        )
    return tuple(out)


@router.get(
    "/chiTietDoanhNghiep",
    response_model=ChiTietDoanhNghiepReply,
    responses={404: {"model": Problem}},
)
async def enterprise_detail(
    request: Request, msdn: Annotated[EnterpriseCode, Query()]
) -> dict[str, object]:
    e = data_of(request).enterprise_index.get(msdn.split("-")[0])
    if e is None:
        raise ProblemError(
            404,
            "enterprise-not-found",
            "Không tìm thấy doanh nghiệp",
            f"No enterprise with code {msdn}.",
            Status=0,
        )
    return ok(
        DoanhNghiep(
            MaSoDoanhNghiep=e.msdn,
            TenDoanhNghiep=e.ten,
            LoaiHinh=e.loai_hinh,
            DiaChiTruSo=str(e.dia_chi),
            NguoiDaiDienPhapLuat=e.nguoi_dai_dien,
            NgayThanhLap=e.ngay_thanh_lap,
            VonDieuLe=e.von_dieu_le,
            NganhNgheChinh=e.nganh_nghe,
            TinhTrang=e.tinh_trang,
        )
    )


@router.get("/dsHoSoTrongNgay", response_model=DanhSachHoSoReply)
async def dossiers_today(request: Request) -> dict[str, object]:
    today = date.today()
    return ok([d for d in dossiers(config_of(request).seed, today) if d.NgayNop == today])


@router.get(
    "/dsHoSoTheoKhoangThoiGian",
    response_model=DanhSachHoSoReply,
    responses={422: {"model": Problem}},
)
async def dossiers_between(
    request: Request,
    tuNgay: Annotated[date, Query(examples=["2026-11-18"])],
    denNgay: Annotated[date, Query(examples=["2026-11-20"])],
) -> dict[str, object]:
    if denNgay < tuNgay or (denNgay - tuNgay).days > MAX_RANGE_DAYS:
        raise ProblemError(
            422,
            "validation-error",
            "Khoảng thời gian không hợp lệ",
            f"denNgay must be on or after tuNgay and at most {MAX_RANGE_DAYS} days later.",
            errors=[
                FieldError(field="$.query.denNgay", reason=f"range must be 0-{MAX_RANGE_DAYS} days")
            ],
            Status=0,
        )
    found = [
        d for d in dossiers(config_of(request).seed, date.today()) if tuNgay <= d.NgayNop <= denNgay
    ]
    return ok(found)


@router.get(
    "/trangThaiHoSo", response_model=TrangThaiHoSoReply, responses={404: {"model": Problem}}
)
async def dossier_status(
    request: Request, maHoSo: Annotated[str, Query(max_length=40, examples=["DKDN-0000001"])]
) -> dict[str, object]:
    found = next(
        (d for d in dossiers(config_of(request).seed, date.today()) if d.MaHoSo == maHoSo), None
    )
    if found is None:
        raise ProblemError(
            404, "dossier-not-found", "Không tìm thấy hồ sơ", f"No dossier {maHoSo}.", Status=0
        )
    return ok(found)


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Cơ sở dữ liệu quốc gia về đăng ký doanh nghiệp (sample)",
        description="Enterprise detail and registration dossiers. Synthetic data.",
        routers=[router],
    )
