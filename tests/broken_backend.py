"""A population back end that breaks its contract on purpose, for the verifier to catch."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse


def create_broken_population() -> FastAPI:
    app = FastAPI()

    @app.get("/congDan")
    async def lookup(soDinhDanh: str = "") -> dict[str, object]:
        # Accepts any ID at all, and says the sex as a word where the contract wants 1 or 2.
        return {
            "soDinhDanh": soDinhDanh,
            "hoTen": "Nguyễn Văn An",
            "gioiTinh": "nam",
            "ngaySinh": "1990-01-15",
            "danToc": "Kinh",
            "queQuan": "Bắc Giang",
            "noiThuongTru": {"chiTiet": "1", "xaPhuong": "x", "quanHuyen": "h", "tinhThanh": "t"},
            "maHoGiaDinh": "HGD024000000",
        }

    @app.post("/xacThucCongDan")
    async def verify() -> JSONResponse:
        return JSONResponse({"error": "boom"}, status_code=500)

    return app
