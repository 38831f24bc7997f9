"""Tax administration: taxpayer status by tax code, for enterprises and individuals."""

from __future__ import annotations

import random
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request

from apikit.problems import ProblemError
from contracts.problem import Problem
from contracts.services.tax import NguoiNopThue
from services.common.app import config_of, create_backend_app, data_of
from services.common.config import BackendConfig

router = APIRouter()
OFFICES = [
    "Cục Thuế tỉnh Bắc Giang",
    "Chi cục Thuế khu vực Lục Ngạn - Sơn Động",
    "Chi cục Thuế khu vực Việt Yên - Hiệp Hòa",
]
STATES = {
    "Đang hoạt động": "NNT đang hoạt động",
    "Tạm ngừng kinh doanh": "NNT tạm ngừng hoạt động có thời hạn",
    "Đã giải thể": "NNT đã chấm dứt hiệu lực mã số thuế",
}


@router.get("/trangThaiNNT", response_model=NguoiNopThue, responses={404: {"model": Problem}})
async def taxpayer_status(
    request: Request,
    mst: Annotated[str, Query(pattern=r"^(\d{10}(-\d{3})?|\d{12})$", examples=["2400011234"])],
) -> NguoiNopThue:
    seed = config_of(request).seed
    rng = random.Random(f"tax:{seed}:{mst}")
    if len(mst) == 12:
        person = data_of(request).citizen_index.get(mst)
        if person is not None:
            return NguoiNopThue(
                maSoThue=mst,
                tenNguoiNopThue=person.ho_ten,
                loai="ca-nhan",
                trangThai="NNT đang hoạt động",
                coQuanThueQuanLy=rng.choice(OFFICES),
                noThue=0,
            )
    else:
        company = data_of(request).enterprise_index.get(mst.split("-")[0])
        if company is not None:
            owes = rng.choice([0, 0, 0, rng.randint(1, 500) * 100_000])
            return NguoiNopThue(
                maSoThue=mst,
                tenNguoiNopThue=company.ten,
                loai="to-chuc",
                trangThai=STATES[company.tinh_trang],
                coQuanThueQuanLy=rng.choice(OFFICES),
                noThue=owes,
            )
    raise ProblemError(
        404,
        "taxpayer-not-found",
        "Không tìm thấy người nộp thuế",
        f"No taxpayer with tax code {mst}.",
    )


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Hệ thống thông tin quản lý thuế (sample)",
        description="Taxpayer status by tax code. Synthetic data.",
        routers=[router],
    )
