"""Shared categories (DMDC, `dmdc`), as the NGSP connection guide shows them ('Danh mục chung').

Self-describing lists: `GET Metadata/{category}` answers the category's columns
(`[{PropertyCode, PropertyName, PropertyType}]`), `GET Category/{category}` its rows (a bare
JSON array, dates dd/MM/yyyy), `POST Category/{category}` adds rows and answers
`{"MSG": "Done", "Count": n}` — or, for a duplicate key, `{"MSG": "Data not insert: Record 1:
<key> "<value> is duplicate", "Count": 0}`. The guide's categories have names like
`qlvanbandieuhanhcap1`, `donvihanhchinhcap1`, `madantoc`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, RootModel

from contracts.fidelity import guide, partial, verified
from contracts.scenarios import GENERIC

CONTRACT_ID = "vn.gov.dmdc.shared-categories"
CONTRACT_VERSION = "1.0"
SCENARIOS = GENERIC  # X-Sandbox-Scenario outcomes (contracts/scenarios.py)
_SECTION = "Danh mục chung"
_UNKNOWN = (
    "A category the platform does not have is 404 problem+json: the guide shows no such "
    "answer (the sandbox's own)."
)
FIDELITY = {
    "GET /Metadata/{category}": verified(
        guide(_SECTION + " / Lấy cấu trúc danh mục"),
        note="The qlvanbandieuhanhcap1 columns are the guide's; the other categories' columns "
        "are the sandbox's. " + _UNKNOWN,
    ),
    "GET /Category/{category}": verified(
        guide(_SECTION + " / Lấy dữ liệu"),
        note="Rows are synthetic (the agency directory) or public lists (ethnic groups, "
        "provinces). " + _UNKNOWN,
    ),
    "POST /Category/{category}": partial(
        guide(_SECTION + " / Bổ sung dữ liệu danh mục"),
        note="Replies {MSG, Count} as the guide; its HTTP status for a duplicate is not "
        "shown (the sandbox answers 200); rows are checked against the category's columns "
        "(sandbox rule). " + _UNKNOWN,
    ),
}
CATEGORY_PATTERN = r"^[a-z][a-z0-9]{1,49}$"  # a category's name in the path
EXAMPLE_CATEGORY = "qlvanbandieuhanhcap1"
PropertyType = Literal["String", "DateTime", "Int", "Decimal"]


class Property(BaseModel):
    PropertyCode: str
    PropertyName: str
    PropertyType: PropertyType


class Rows(RootModel[list[dict[str, Any]]]):
    """Rows of a category: objects keyed by its PropertyCodes."""

    root: list[dict[str, Any]] = Field(
        max_length=1000,
        json_schema_extra={
            "examples": [
                [
                    {
                        "MaDinhDanhCap1": "000.00.00.H99",
                        "TenDonVi": "UBND tỉnh Mẫu",
                        "DiaChi": None,
                        "Email": None,
                        "SoDienThoai": None,
                        "Fax": None,
                        "Website": None,
                        "QdBanHanhQdSuaDoi": "1220/QĐ-UBND",
                        "NgayBanHanhQd": "16/08/2018",
                        "CoQuanBanHanhQd": "UBND tỉnh Mẫu",
                    }
                ]
            ]
        },
    )


class InsertResult(BaseModel):
    MSG: str = Field(description="'Done', or why rows were not inserted")
    Count: int = Field(description="Rows inserted")
