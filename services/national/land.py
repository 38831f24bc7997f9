"""National land database: a parcel by commune + map sheet + parcel number; an owner's parcels."""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request

from apikit.problems import ProblemError
from contracts.problem import Problem
from contracts.services.common import CCCD
from contracts.services.land import DanhSachThuaDat, ThuaDat
from services.common.app import config_of, create_backend_app
from services.common.config import BackendConfig
from services.common.sampledata import DISTRICTS, citizens

router = APIRouter()
USES = [
    "Đất ở tại nông thôn (ONT)",
    "Đất trồng cây lâu năm (CLN)",
    "Đất ở tại đô thị (ODT)",
    "Đất trồng lúa (LUC)",
    "Đất rừng sản xuất (RSX)",
]
COMMUNES = [x for xs in DISTRICTS.values() for x in xs]


@lru_cache(maxsize=8)
def parcels(seed: int) -> tuple[ThuaDat, ...]:
    rng = random.Random(f"land:{seed}")
    owners = citizens(seed)
    out = []
    for n in range(600):
        owner = owners[n % len(owners)]
        commune = COMMUNES.index(owner.thuong_tru.xa)
        sheet = rng.randint(1, 60)
        if n == 0:  # the first example citizen's parcel: the contract's example, every seed
            sheet = 1
        out.append(
            ThuaDat(
                maXa=f"{commune + 7000:05d}",
                tenXa=owner.thuong_tru.xa,
                soToBanDo=sheet,
                soThua=n + 1,
                dienTich=round(rng.uniform(60, 3000), 1),
                mucDichSuDung=rng.choice(USES),
                chuSuDung=owner.ho_ten,
                soDinhDanhChu=owner.so_dinh_danh,
                soGiayChungNhan=f"C{rng.choice('KLMN')}{rng.randint(100000, 999999)}",
            )
        )
    return tuple(out)


@router.get("/thuaDat", response_model=ThuaDat, responses={404: {"model": Problem}})
async def parcel(
    request: Request,
    maXa: Annotated[str, Query(pattern=r"^\d{5}$", examples=["07001"])],
    soTo: Annotated[int, Query(ge=1, le=999, examples=[1])],
    soThua: Annotated[int, Query(ge=1, le=99999, examples=[1])],
) -> ThuaDat:
    for p in parcels(config_of(request).seed):
        if (p.maXa, p.soToBanDo, p.soThua) == (maXa, soTo, soThua):
            return p
    raise ProblemError(
        404,
        "parcel-not-found",
        "Không tìm thấy thửa đất",
        f"No parcel {soThua} on map sheet {soTo} in commune {maXa}.",
    )


@router.get("/thuaDatTheoChu", response_model=DanhSachThuaDat)
async def parcels_of_owner(
    request: Request, soDinhDanh: Annotated[CCCD, Query()]
) -> DanhSachThuaDat:
    found = [p for p in parcels(config_of(request).seed) if p.soDinhDanhChu == soDinhDanh]
    return DanhSachThuaDat(soKetQua=len(found), danhSach=found)


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Cơ sở dữ liệu quốc gia về đất đai (sample)",
        description="Land parcels and their holders. Synthetic data.",
        routers=[router],
    )
