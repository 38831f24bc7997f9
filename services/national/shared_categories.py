"""Shared categories (DMDC): each category's columns, its rows, and adding rows — the three
calls of the NGSP connection guide. Added rows are stored (SQLite) until a reset."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Path, Request

from apikit.problems import ProblemError
from contracts.problem import Problem
from contracts.services.shared_categories import (
    CATEGORY_PATTERN,
    EXAMPLE_CATEGORY,
    InsertResult,
    Property,
    Rows,
)
from services.common.app import create_backend_app, db_of
from services.common.config import BackendConfig
from services.common.records import SCHEMA, Records
from services.common.sampledata import DISTRICT_CODES, PROVINCE_NAMES

router = APIRouter()
Category = Annotated[
    str,
    Path(
        pattern=CATEGORY_PATTERN,
        examples=[EXAMPLE_CATEGORY],
        description="e.g. qlvanbandieuhanhcap1, donvihanhchinhcap2, madantoc",
    ),
]

# column code -> (name, type); the first column is the category's key
AGENCY_COLUMNS = {
    "MaDinhDanhCap1": ("Mã định danh cấp 1", "String"),
    "TenDonVi": ("Tên đơn vị", "String"),
    "DiaChi": ("Địa chỉ", "String"),
    "Email": ("Email", "String"),
    "SoDienThoai": ("Số điện thoại", "String"),
    "Fax": ("Fax", "String"),
    "Website": ("Website", "String"),
    "QdBanHanhQdSuaDoi": ("QĐ ban hành/ QĐ sửa đổi", "String"),
    "NgayBanHanhQd": ("Ngày ban hành QĐ", "DateTime"),
    "CoQuanBanHanhQd": ("Cơ Quan ban hành QĐ", "String"),
}


def _agency(code: str, name: str) -> dict[str, Any]:
    return {
        "MaDinhDanhCap1": code,
        "TenDonVi": name,
        "DiaChi": None,
        "Email": None,
        "SoDienThoai": None,
        "Fax": None,
        "Website": None,
        "QdBanHanhQdSuaDoi": "1220/QĐ-UBND",
        "NgayBanHanhQd": "16/08/2018",
        "CoQuanBanHanhQd": name,
    }


CATEGORIES: dict[str, tuple[dict[str, tuple[str, str]], list[dict[str, Any]]]] = {
    "qlvanbandieuhanhcap1": (
        AGENCY_COLUMNS,
        [
            _agency("000.00.00.H04", "UBND tỉnh Bắc Giang"),
            _agency("000.00.00.G22", "Văn phòng Chính phủ"),
            _agency("000.00.00.G10", "Bộ Thông tin và Truyền thông"),
        ],
    ),
    "donvihanhchinhcap1": (
        {"MaTinh": ("Mã tỉnh", "String"), "TenTinh": ("Tên tỉnh", "String")},
        [{"MaTinh": code[1:], "TenTinh": name} for code, name in sorted(PROVINCE_NAMES.items())],
    ),
    "donvihanhchinhcap2": (
        {
            "MaHuyen": ("Mã huyện", "String"),
            "TenHuyen": ("Tên huyện", "String"),
            "MaTinh": ("Mã tỉnh", "String"),
        },
        [{"MaHuyen": c, "TenHuyen": n, "MaTinh": "24"} for n, c in DISTRICT_CODES.items()],
    ),
    "madantoc": (
        {"MaDanToc": ("Mã dân tộc", "String"), "TenDanToc": ("Tên dân tộc", "String")},
        [
            {"MaDanToc": m, "TenDanToc": t}
            for m, t in [("01", "Kinh"), ("02", "Tày"), ("06", "Nùng"), ("17", "Sán Chay")]
        ],
    ),
    "magioitinh": (
        {"MaGioiTinh": ("Mã giới tính", "String"), "TenGioiTinh": ("Tên giới tính", "String")},
        [{"MaGioiTinh": "1", "TenGioiTinh": "Nam"}, {"MaGioiTinh": "2", "TenGioiTinh": "Nữ"}],
    ),
}


def _category(name: str) -> tuple[dict[str, tuple[str, str]], list[dict[str, Any]]]:
    found = CATEGORIES.get(name)
    if found is None:
        raise ProblemError(
            404,
            "category-not-found",
            "Không tìm thấy danh mục",
            f"No category {name!r}; the sandbox has {', '.join(sorted(CATEGORIES))}.",
        )
    return found


@router.get(
    "/Metadata/{category}",
    response_model=list[Property],
    summary="Lấy cấu trúc danh mục",
    responses={404: {"model": Problem}},
)
async def metadata(category: Category) -> list[Property]:
    columns, _ = _category(category)
    return [
        Property.model_validate({"PropertyCode": c, "PropertyName": n, "PropertyType": t})
        for c, (n, t) in columns.items()
    ]


@router.get(
    "/Category/{category}",
    response_model=list[dict[str, Any]],
    summary="Lấy dữ liệu danh mục",
    responses={404: {"model": Problem}},
)
async def rows(request: Request, category: Category) -> list[dict[str, Any]]:
    _, fixed = _category(category)
    added = await db_of(request).all(
        "SELECT body FROM records WHERE owner = ? ORDER BY created", (category,)
    )
    return [*fixed, *(json.loads(r["body"]) for r in added)]


def _wrong(row: dict[str, Any], columns: dict[str, tuple[str, str]]) -> str | None:
    unknown = sorted(set(row) - set(columns))
    if unknown:
        return f"unknown column {', '.join(unknown)}"
    key = next(iter(columns))
    if not isinstance(row.get(key), str) or not row[key]:
        return f"{key} is required"
    for code, (_, kind) in columns.items():
        value = row.get(code)
        if value is None:
            continue
        if not isinstance(value, str):
            return f"{code} is a string"
        if kind == "DateTime":
            try:
                datetime.strptime(value, "%d/%m/%Y")
            except ValueError:
                return f"{code} is dd/MM/yyyy"
    return None


@router.post(
    "/Category/{category}",
    response_model=InsertResult,
    summary="Bổ sung dữ liệu danh mục",
    responses={404: {"model": Problem}, 422: {"model": Problem}},
)
async def add(request: Request, category: Category, body: Annotated[Rows, Body()]) -> InsertResult:
    columns, _ = _category(category)
    key = next(iter(columns))
    existing = {str(r[key]) for r in await rows(request, category)}
    for index, row in enumerate(body.root, start=1):
        wrong = _wrong(row, columns)
        if wrong:
            return InsertResult(MSG=f"Data not insert: Record {index}: {wrong}", Count=0)
        if row[key] in existing:
            return InsertResult(
                MSG=f'Data not insert: Record {index}: {key} "{row[key]} is duplicate', Count=0
            )
        existing.add(row[key])
    records = Records(db_of(request), "DM")
    for row in body.root:
        full = {c: row.get(c) for c in columns}
        await records.create(full, status="added", owner=category, client_key=None)
    return InsertResult(MSG="Done", Count=len(body.root))


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Hệ thống danh mục dùng chung (sample)",
        description="Shared categories: columns, rows, and adding rows (NGSP guide shapes).",
        routers=[router],
        schema=SCHEMA,
    )
