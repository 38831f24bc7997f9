"""Tax administration (apiThue): a taxpayer's status by tax code. No public shape: unverified.

Enterprises' tax code is their 10-digit enterprise code; since July 2025 a person's tax code
is their 12-digit citizen ID.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from contracts.fidelity import unverified
from contracts.scenarios import GENERIC, not_found

CONTRACT_ID = "vn.gov.thue.taxpayer-status"
CONTRACT_VERSION = "1.0"
FIDELITY = {
    "GET /trangThaiNNT": unverified(
        "Tax services exist behind NGSP; no public shape found. Operation, parameter and "
        "reply are the sandbox's own."
    ),
}
SCENARIOS = (
    not_found(
        ("GET /trangThaiNNT",),
        "taxpayer-not-found",
        "taxpayer",
        "Không tìm thấy người nộp thuế",
    ),
    *GENERIC,
)


class NguoiNopThue(BaseModel):
    maSoThue: str
    tenNguoiNopThue: str
    loai: Literal["to-chuc", "ca-nhan"]
    trangThai: str
    coQuanThueQuanLy: str
    noThue: int
