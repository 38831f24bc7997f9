"""National business registration database: enterprise detail, the day's dossiers, dossiers
in a date range, a dossier's status — in the shapes of the NGSP connection guide."""

from __future__ import annotations

import random
import zlib
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request

from contracts.problem import Problem
from contracts.services.business_registration import (
    MAX_RANGE_DAYS,
    NOT_FOUND_MESSAGE,
    BusinessActivity,
    ChiTietDoanhNghiep,
    ChiTietDoanhNghiepReply,
    DayMonthYear,
    HOAdress,
    HoSoTrongKhoang,
    HoSoTrongKhoangReply,
    HoSoTrongNgay,
    HoSoTrongNgayReply,
    HourMinute,
    MainInformation,
    Member,
    Representative,
    TinhTrangHoSo,
    TinhTrangHoSoReply,
    failure,
    reply,
)
from contracts.services.common import EnterpriseCode
from services.common.app import config_of, create_backend_app, data_of
from services.common.backend_data import SampleData
from services.common.config import BackendConfig
from services.common.sampledata import BUSINESS_LINES, Address, Enterprise, enterprises

router = APIRouter()
KINDS = ["Đăng ký thành lập mới", "Đăng ký thay đổi nội dung", "Tạm ngừng kinh doanh"]
STATES = ["Đã tiếp nhận", "Đang xử lý", "Đã cấp", "Yêu cầu bổ sung"]
SITE_ID = 24  # Bắc Giang's business registration office (synthetic id)
FIRST_JOURNAL_NO = 240_000_001
BAC_GIANG_CITY_ID = 24  # the GSO code of the province
# GSO codes of Bắc Giang's districts (the guide's DistrictID is numeric)
DISTRICT_IDS = {
    "Thành phố Bắc Giang": 213,
    "Huyện Yên Thế": 215,
    "Huyện Tân Yên": 216,
    "Huyện Lạng Giang": 217,
    "Huyện Lục Nam": 218,
    "Huyện Lục Ngạn": 219,
    "Huyện Sơn Động": 220,
    "Huyện Yên Dũng": 221,
    "Huyện Việt Yên": 222,
    "Huyện Hiệp Hòa": 223,
}
# Code values the guide does not list: synthetic, stable.
TYPE_IDS = {"Công ty TNHH": "1", "Công ty cổ phần": "2", "Hợp tác xã": "3"}
STATUS_CODES = {"Đang hoạt động": "1", "Tạm ngừng kinh doanh": "2", "Đã giải thể": "3"}


def _dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _parse_dmy(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:  # 31/02/2026 passes the pattern, not the calendar
        return None


def _address(where: Address | str) -> HOAdress:
    if isinstance(where, str):  # a seeded enterprise gives one line
        return HOAdress(
            CityID=BAC_GIANG_CITY_ID,
            CityName="Tỉnh Bắc Giang",
            DistrictID=0,
            DistrictName="",
            WardID=0,
            WardName="",
            StreetNumber="",
            AddressFullText=where,
        )
    district = DISTRICT_IDS.get(where.huyen, 0)
    return HOAdress(
        CityID=BAC_GIANG_CITY_ID,
        CityName=f"Tỉnh {where.tinh}",
        DistrictID=district,
        DistrictName=where.huyen,
        # synthetic: the district's code and the commune's place in our list
        WardID=district * 100 + zlib.crc32(where.xa.encode()) % 100,
        WardName=where.xa,
        StreetNumber=where.so_nha,
        AddressFullText=str(where),
    )


def _detail(e: Enterprise, data: SampleData) -> ChiTietDoanhNghiep:
    representative = data.citizen_index.get(e.nguoi_dai_dien)
    name = representative.ho_ten.upper() if representative else e.nguoi_dai_dien
    rng = random.Random(f"dkdn:{e.msdn}")
    changes = rng.randint(0, 4)
    amended = e.ngay_thanh_lap + timedelta(days=rng.randint(30, 900)) if changes else None
    line = BUSINESS_LINES.index(e.nganh_nghe) if e.nganh_nghe in BUSINESS_LINES else 0
    return ChiTietDoanhNghiep(
        MainInformation=MainInformation(
            ENTERPRISE_ID=int(e.msdn[:10]) % 10_000_000,
            ENTERPRISE_GDT_CODE=e.msdn,
            IMP_BUSINESS_CODE=None,
            ENTERPRISE_TYPE_ID=TYPE_IDS.get(e.loai_hinh, "9"),
            ENTERPRISE_TYPE_NAME=e.loai_hinh,
            NAME=e.ten,
            SHORT_NAME=None,
            NAME_F=None,
            FOUNDING_DATE=_dmy(e.ngay_thanh_lap),
            LAST_AMEND_DATE=_dmy(min(amended, date.today())) if amended else None,
            NUMBER_CHANGES=changes,
            ENTERPRISE_STATUS=STATUS_CODES.get(e.tinh_trang, "9"),
            ENTERPRISE_STATUS_NAME=e.tinh_trang,
            LEGAL_NAMES=name,
            CAPITAL_AMOUNT=float(e.von_dieu_le),
        ),
        HOAdress=_address(e.dia_chi),
        BusinessActivity=[
            BusinessActivity(CODE=f"{4620 + line * 11:04d}", NAME=e.nganh_nghe, IS_MAIN="Y")
        ],
        Member=[
            Member(MEMBER_NAME=name, AMOUNT=float(e.von_dieu_le), RATIO_PERCENT=100.0, COUNTRY="VN")
        ],
        Representatives=[Representative(FULL_NAME=name)],
    )


@lru_cache(maxsize=8)
def dossiers(seed: int, today: date) -> tuple[dict[str, Any], ...]:
    """About four dossiers a day over the last 60 days, stable for a given seed and day;
    their journal numbers do not depend on the day."""
    rng = random.Random(f"dkdn:{seed}")
    companies = enterprises(seed)
    out = []
    for n in range(240):
        company = rng.choice(companies)
        received = today - timedelta(days=n // 4)
        out.append(
            {
                "IN_JOURNAL_NO": FIRST_JOURNAL_NO + n,
                "DOCUMENT_TYPE": rng.choice(KINDS),
                "ENTERPRISE_CODE": f"{rng.randint(0, 999_999):06d}",
                "company": company,
                "RECEIPT_DATE": received,
                "PLAN_DATE": received + timedelta(days=3),
                "PROCESS_STATUS": rng.choice(STATES),
                "hour": f"{7 + n % 10:02d}:{(n * 7) % 60:02d}",
            }
        )
    return tuple(out)


def _today_item(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "MainInformation": HoSoTrongNgay(
            IN_JOURNAL_NO=d["IN_JOURNAL_NO"],
            DOCUMENT_TYPE=d["DOCUMENT_TYPE"],
            ENTERPRISE_GDT_CODE=d["company"].msdn,
            NAME=d["company"].ten,
            SITE_ID=SITE_ID,
            PROCESS_STATUS=d["PROCESS_STATUS"],
            PROCESSED_DATE=_dmy(d["RECEIPT_DATE"]),
        )
    }


def _range_item(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "MainInformation": HoSoTrongKhoang(
            IN_JOURNAL_NO=d["IN_JOURNAL_NO"],
            DOCUMENT_TYPE=d["DOCUMENT_TYPE"],
            ENTERPRISE_CODE=d["ENTERPRISE_CODE"],
            ENTERPRISE_GDT_CODE=d["company"].msdn,
            NAME=d["company"].ten,
            SITE_ID=SITE_ID,
            RECEIPT_DATE=_dmy(d["RECEIPT_DATE"]),
            PLAN_DATE=_dmy(d["PLAN_DATE"]),
            PROCESS_STATUS=d["PROCESS_STATUS"],
        )
    }


Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Records to skip")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Most records in one answer")]


@router.get(
    "/chiTietDoanhNghiep",
    response_model=ChiTietDoanhNghiepReply,
    summary="Thông tin chi tiết mới nhất của 01 doanh nghiệp",
    responses={422: {"model": Problem}},
)
async def enterprise_detail(
    request: Request, msdn: Annotated[EnterpriseCode, Query()]
) -> dict[str, object]:
    data = data_of(request)
    e = data.enterprise_index.get(msdn.split("-")[0])
    if e is None:
        return failure(f"{NOT_FOUND_MESSAGE} có mã số {msdn}")
    return reply(_detail(e, data), 1)


@router.get(
    "/danhSachHoSoTrongNgay",
    response_model=HoSoTrongNgayReply,
    summary="Danh sách các hồ sơ xử lý trong ngày",
    responses={422: {"model": Problem}},
)
async def dossiers_today(
    request: Request,
    from_ts: Annotated[HourMinute, Query(examples=["00:00"])],
    to_ts: Annotated[HourMinute, Query(examples=["23:59"])],
    offset: Offset = 0,
    limit: Limit = 100,
) -> dict[str, object]:
    today = date.today()
    found = [
        d
        for d in dossiers(config_of(request).seed, today)
        if d["RECEIPT_DATE"] == today and from_ts <= d["hour"] <= to_ts
    ]
    page = found[offset : offset + limit]
    return reply([_today_item(d) for d in page], len(page))


@router.get(
    "/danhSachHoSo",
    response_model=HoSoTrongKhoangReply,
    summary="Danh sách các hồ sơ tiếp nhận trong khoảng thời gian (tối đa 05 ngày)",
    responses={422: {"model": Problem}},
)
async def dossiers_between(
    request: Request,
    from_date: Annotated[DayMonthYear, Query(examples=["18/11/2026"])],
    to_date: Annotated[DayMonthYear, Query(examples=["20/11/2026"])],
    offset: Offset = 0,
    limit: Limit = 100,
) -> dict[str, object]:
    start, end = _parse_dmy(from_date), _parse_dmy(to_date)
    if start is None or end is None:
        return failure("from_date, to_date: không phải ngày hợp lệ (dd/MM/yyyy)")
    if end < start or (end - start).days > MAX_RANGE_DAYS:
        return failure(
            f"Khoảng thời gian giữa from_date và to_date tối đa {MAX_RANGE_DAYS:02d} ngày"
        )
    found = [
        d
        for d in dossiers(config_of(request).seed, date.today())
        if start <= d["RECEIPT_DATE"] <= end
    ]
    page = found[offset : offset + limit]
    return reply([_range_item(d) for d in page], len(page))


@router.get(
    "/tinhTrangHoSo",
    response_model=TinhTrangHoSoReply,
    summary="Thông tin chi tiết tiếp nhận của 01 hồ sơ đăng ký doanh nghiệp",
    responses={422: {"model": Problem}},
)
async def dossier_status(
    request: Request,
    in_journal_no: Annotated[
        int, Query(ge=1, le=9_999_999_999, examples=[FIRST_JOURNAL_NO], description="Mã hồ sơ")
    ],
) -> dict[str, object]:
    data = data_of(request)
    d = next(
        (
            d
            for d in dossiers(config_of(request).seed, date.today())
            if d["IN_JOURNAL_NO"] == in_journal_no
        ),
        None,
    )
    if d is None:
        return failure(f"Không tìm thấy hồ sơ có mã {in_journal_no}")
    company: Enterprise = d["company"]
    contact = data.citizen_index.get(company.nguoi_dai_dien)
    status = TinhTrangHoSo(
        IN_JOURNAL_NO=d["IN_JOURNAL_NO"],
        DOCUMENT_TYPE=d["DOCUMENT_TYPE"],
        ENTERPRISE_CODE=d["ENTERPRISE_CODE"],
        ENTERPRISE_GDT_CODE=company.msdn,
        NAME=company.ten,
        ENTERPRISE_TYPE_ID=TYPE_IDS.get(company.loai_hinh, "9"),
        SITE_ID=SITE_ID,
        RECEIPT_DATE=_dmy(d["RECEIPT_DATE"]),
        PLAN_DATE=_dmy(d["PLAN_DATE"]),
        PROCESS_STATUS=d["PROCESS_STATUS"],
        REGISTRATION_DATE=_dmy(d["PLAN_DATE"]) if d["PROCESS_STATUS"] == "Đã cấp" else None,
        SUPPLEMENT_DATE=None,
        SUBMISSION_TYPE="Trực tuyến",
        CONTACT_FULL_NAME=contact.ho_ten if contact else "",
        CONTACT_ADDRESS=str(contact.thuong_tru) if contact else "",
        CONTACT_ID_NO=company.nguoi_dai_dien,
        CONTACT_PHONE=f"09{int(company.msdn[-8:]):08d}",
        CONTACT_EMAIL=f"lienhe.{company.msdn}@example.vn",
    )
    return reply({"MainInformation": status}, 1)


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Cơ sở dữ liệu quốc gia về đăng ký doanh nghiệp (sample)",
        description="Enterprise detail and registration dossiers in the NGSP connection "
        "guide's shapes ({Data, DataCount, Status, Message}). Synthetic data.",
        routers=[router],
    )
