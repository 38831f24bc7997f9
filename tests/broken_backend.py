"""A population back end that breaks its contract on purpose, for the verifier to catch."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

PLACE = {"ChiTiet": "1, x, h, t", "MaTinh": "24", "MaHuyen": "213", "MaXa": "21301"}


def create_broken_population() -> FastAPI:
    app = FastAPI()

    @app.get("/congDan")
    async def lookup(soDinhDanh: str = "") -> dict[str, object]:
        # Accepts any ID at all, and says the sex as a number where the contract has a string.
        return {
            "SoCongDan": soDinhDanh,
            "CongDan": {
                "HoVaTen": {"Ho": "Nguyễn", "ChuDem": "Văn", "Ten": "An"},
                "NgayThangNamSinh": "15/01/1990",
                "GioiTinh": 1,
                "DanToc": "Kinh",
                "QueQuan": "Bắc Giang",
                "NoiThuongTru": PLACE,
                "NoiOHienTai": PLACE,
                "SoHoKhau": "HGD024000000",
            },
        }

    @app.post("/xacThucCongDan")
    async def verify() -> JSONResponse:
        return JSONResponse({"error": "boom"}, status_code=500)

    return app
