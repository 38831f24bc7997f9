"""Provincial data warehouse: the open-data catalog and each open dataset's rows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, Request

from apikit.problems import ProblemError
from contracts.problem import Problem
from contracts.services.common import ok
from contracts.services.data_warehouse import BoDuLieu, DanhMucDuLieu, DuLieu
from contracts.services.datasets import dataset_spec
from services.common.app import config_of, create_backend_app
from services.common.config import BackendConfig
from services.generic.data import rows

router = APIRouter()
# Open datasets carry no personal data: only these are published.
OPEN = {
    "agriculture": "Sở Nông nghiệp và Phát triển nông thôn",
    "tourism": "Sở Văn hóa, Thể thao và Du lịch",
    "bus-routes": "Sở Giao thông vận tải",
    "industrial-clusters": "Sở Công Thương",
    "health-stations": "Sở Y tế",
    "environment": "Sở Tài nguyên và Môi trường",
}


@router.get("/danhMucDuLieu", response_model=DanhMucDuLieu)
async def catalog(request: Request) -> dict[str, object]:
    seed = config_of(request).seed
    return ok(
        [
            BoDuLieu(
                maBoDuLieu=name,
                tenBoDuLieu=dataset_spec(name).title,
                coQuanChuQuan=owner,
                giayPhep="CC BY 4.0",
                soBanGhi=len(rows(name, seed)),
            )
            for name, owner in OPEN.items()
        ]
    )


@router.get("/duLieu/{maBoDuLieu}", response_model=DuLieu, responses={404: {"model": Problem}})
async def dataset(
    request: Request,
    maBoDuLieu: Annotated[str, Path(max_length=60, examples=["agriculture"])],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, object]:
    if maBoDuLieu not in OPEN:
        raise ProblemError(
            404,
            "dataset-not-found",
            "Không tìm thấy bộ dữ liệu",
            f"No open dataset {maBoDuLieu!r}; see /danhMucDuLieu.",
        )
    data = rows(maBoDuLieu, config_of(request).seed)
    start = (page - 1) * size
    return {**ok(list(data[start : start + size])), "Total": len(data)}


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Kho dữ liệu dùng chung và dữ liệu mở tỉnh (sample)",
        description="The province's open-data catalog and datasets.",
        routers=[router],
    )
