"""One data-driven back end for any dataset declared in contracts/services/datasets.yaml."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, Request

from apikit.problems import ProblemError
from contracts.problem import Problem
from contracts.services.common import ok
from contracts.services.datasets import dataset_spec
from contracts.services.generic import BanGhi, DanhSach, MoTaBoDuLieu
from services.common.app import create_backend_app
from services.common.config import BackendConfig
from services.generic.data import rows


def create_app(config: BackendConfig) -> FastAPI:
    name = str(config.params.get("dataset", ""))
    spec = dataset_spec(name)  # an unknown dataset fails at start-up, naming the known ones
    data = rows(name, config.seed)
    key = spec.key
    router = APIRouter()

    @router.get("/", response_model=MoTaBoDuLieu, summary="Describe this dataset")
    async def describe() -> MoTaBoDuLieu:
        fields = list(spec.fields) or (list(data[0]) if data else [])
        return MoTaBoDuLieu(
            name=spec.name,
            title=spec.title,
            collection=spec.collection,
            id_field=key,
            fields=fields,
            total=len(data),
        )

    @router.get(f"/{spec.collection}", response_model=DanhSach, summary=f"List: {spec.title}")
    async def list_rows(
        request: Request,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        size: Annotated[int, Query(ge=1, le=200)] = 20,
    ) -> dict[str, object]:
        # Any other query parameter that names a field filters by equality.
        filters = {
            k: v
            for k, v in request.query_params.items()
            if k not in {"page", "size"} and k in (data[0] if data else {})
        }
        found = [r for r in data if all(str(r[k]) == v for k, v in filters.items())]
        start = (page - 1) * size
        return {
            **ok(list(found[start : start + size])),
            "Total": len(found),
            "Page": page,
            "Size": size,
        }

    @router.get(
        f"/{spec.collection}/{{record_id}}",
        response_model=BanGhi,
        responses={404: {"model": Problem}},
    )
    async def one(
        # a default, not an annotation: the example (the first row's id) is this app's own
        record_id: str = Path(max_length=80, examples=[str(data[0][key])] if data else None),
    ) -> dict[str, object]:
        for r in data:
            if str(r[key]) == record_id:
                return ok(r)
        raise ProblemError(
            404,
            "record-not-found",
            "Không tìm thấy bản ghi",
            f"No {spec.collection} record with {key} = {record_id}.",
        )

    return create_backend_app(
        config,
        title=f"{spec.title} (sample)",
        description=f"Generic data-driven back end serving the {spec.name!r} dataset.",
        routers=[router],
    )
