"""The sample back ends on their own: data, validation, state that survives a restart."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from contracts.services.datasets import dataset_names, dataset_spec
from contracts.services.postal import MOrder
from services.catalog import BACKEND_APPS, load_factory
from services.common.config import BackendConfig
from services.common.records import Record
from services.common.sampledata import citizens, enterprises
from services.national import postal
from tests.helpers import full_name

SEED = 2022


@asynccontextmanager
async def serve(app_key: str, data_dir: Path, **params: str) -> AsyncIterator[httpx.AsyncClient]:
    config = BackendConfig(name=app_key, app=app_key, seed=SEED, data_dir=data_dir, params=params)
    app = load_factory(app_key)(config)
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            # uvicorn hands every request the lifespan state; httpx's ASGI transport does not.
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://backend") as client:
            yield client


def test_cccd_numbers_follow_the_national_rule() -> None:
    people = citizens(SEED)
    assert len({p.so_dinh_danh for p in people}) == len(people)
    for p in people:
        number = p.so_dinh_danh
        assert len(number) == 12 and number.isdigit()
        century_sex = int(number[3])
        assert century_sex == (0 if p.ngay_sinh.year < 2000 else 2) + (p.gioi_tinh - 1)
        assert number[4:6] == f"{p.ngay_sinh.year % 100:02d}"
    assert sum(p.so_dinh_danh.startswith("024") for p in people) > len(people) / 2
    assert any(ch in "ăâđêôơưáàảãạ" for p in people for ch in p.ho_ten.lower())
    assert citizens(SEED) == citizens(SEED) and citizens(SEED) != citizens(SEED + 1)
    assert all(len(e.msdn) == 10 and e.msdn.isdigit() for e in enterprises(SEED))


# The apps that need params: a dataset (below), and the agency's own document or cassette
# (tests/test_own_services.py).
@pytest.mark.parametrize(
    "app_key", sorted(set(BACKEND_APPS) - {"generic", "openapi", "recorder", "replay"})
)
async def test_every_back_end_starts_and_is_healthy(app_key: str, tmp_path: Path) -> None:
    async with serve(app_key, tmp_path) as client:
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "service": app_key}


@pytest.mark.parametrize("dataset", dataset_names())
async def test_every_generic_dataset_serves_rows(dataset: str, tmp_path: Path) -> None:
    spec = dataset_spec(dataset)
    async with serve("generic", tmp_path, dataset=dataset) as client:
        listing = await client.get(f"/{spec.collection}", params={"size": 5})
        assert listing.status_code == 200, listing.text
        body = listing.json()
        assert body["Status"] == 1 and body["Total"] > 0 and 0 < len(body["Data"]) <= 5
        first = body["Data"][0]
        one = await client.get(f"/{spec.collection}/{first[spec.key]}")
        assert one.status_code == 200 and one.json()["Data"] == first
        missing = await client.get(f"/{spec.collection}/khong-co")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")


def test_unknown_dataset_fails_at_start_naming_the_known_ones(tmp_path: Path) -> None:
    config = BackendConfig(name="x", app="generic", data_dir=tmp_path, params={"dataset": "nope"})
    with pytest.raises(KeyError, match="unknown dataset 'nope'; known: agriculture"):
        load_factory("generic")(config)


async def test_population_lookup_verify_and_refusals(tmp_path: Path) -> None:
    citizen = citizens(SEED)[0]
    async with serve("population", tmp_path) as client:
        found = await client.get("/congDan", params={"soDinhDanh": citizen.so_dinh_danh})
        assert found.status_code == 200
        assert full_name(found.json()) == citizen.ho_ten
        assert found.json()["SoCongDan"] == citizen.so_dinh_danh
        born = found.json()["CongDan"]["NgayThangNamSinh"]
        assert born == citizen.ngay_sinh.strftime("%d/%m/%Y")

        for bad in ("02409001234", "02409001234a"):
            refused = await client.get("/congDan", params={"soDinhDanh": bad})
            assert refused.status_code == 422
            assert refused.json()["errors"][0]["field"] == "$.query.soDinhDanh"
        missing = await client.get("/congDan", params={"soDinhDanh": "099999999999"})
        assert missing.status_code == 404

        body = {
            "soDinhDanh": citizen.so_dinh_danh,
            "hoTen": f"  {citizen.ho_ten.upper()} ",
            "ngaySinh": citizen.ngay_sinh.isoformat(),
        }
        verified = (await client.post("/xacThucCongDan", json=body)).json()
        assert verified == {
            "soDinhDanh": citizen.so_dinh_danh,
            "tonTai": True,
            "khop": True,
            "truongKhongKhop": [],
        }
        body["ngaySinh"] = (citizen.ngay_sinh + timedelta(days=1)).isoformat()
        mismatch = (await client.post("/xacThucCongDan", json=body)).json()
        assert mismatch["khop"] is False and mismatch["truongKhongKhop"] == ["ngaySinh"]


async def test_business_registration_speaks_the_guide(tmp_path: Path) -> None:
    company = enterprises(SEED)[3]
    dmy = "%d/%m/%Y"
    async with serve("business-registration", tmp_path) as client:
        detail = (await client.get("/chiTietDoanhNghiep", params={"msdn": company.msdn})).json()
        assert (detail["Status"], detail["Message"], detail["DataCount"]) == ("1", "success", 1)
        # the fields OpenCPS reads
        main = detail["Data"]["MainInformation"]
        assert main["NAME"] == company.ten and main["ENTERPRISE_GDT_CODE"] == company.msdn
        assert main["ENTERPRISE_TYPE_NAME"] == company.loai_hinh
        assert main["ENTERPRISE_STATUS_NAME"] == company.tinh_trang
        assert main["FOUNDING_DATE"] == company.ngay_thanh_lap.strftime(dmy)
        assert detail["Data"]["HOAdress"]["AddressFullText"] == str(company.dia_chi)
        assert detail["Data"]["Representatives"][0]["FULL_NAME"]
        missing = (await client.get("/chiTietDoanhNghiep", params={"msdn": "2499999999"})).json()
        assert missing["Status"] == "0" and missing["Data"] is None and missing["Message"]
        canned = await client.get(
            "/chiTietDoanhNghiep",
            params={"msdn": company.msdn},
            headers={"X-Sandbox-Scenario": "enterprise-not-found"},
        )
        assert canned.status_code == 200 and canned.json()["Status"] == "0"
        today = date.today()
        window = {
            "from_date": (today - timedelta(days=5)).strftime(dmy),
            "to_date": today.strftime(dmy),
        }
        ok = (await client.get("/danhSachHoSo", params=window)).json()
        assert ok["Status"] == "1" and ok["DataCount"] == len(ok["Data"]) > 0
        first = ok["Data"][0]["MainInformation"]
        status = (
            await client.get("/tinhTrangHoSo", params={"in_journal_no": first["IN_JOURNAL_NO"]})
        ).json()
        assert (
            status["Data"]["MainInformation"]["ENTERPRISE_GDT_CODE"]
            == (first["ENTERPRISE_GDT_CODE"])
        )
        paged = await client.get("/danhSachHoSo", params={**window, "offset": 1, "limit": 2})
        assert paged.json()["Data"] == ok["Data"][1:3]
        too_long = await client.get(
            "/danhSachHoSo",
            params={**window, "from_date": (today - timedelta(days=6)).strftime(dmy)},
        )
        assert too_long.status_code == 200 and too_long.json()["Status"] == "0"
        iso = await client.get("/danhSachHoSo", params={**window, "from_date": "2026-11-18"})
        assert iso.status_code == 422  # dd/MM/yyyy only, as the guide says
        day = (
            await client.get(
                "/danhSachHoSoTrongNgay", params={"from_ts": "00:00", "to_ts": "23:59"}
            )
        ).json()
        assert day["Status"] == "1" and all(
            d["MainInformation"]["PROCESSED_DATE"] == today.strftime(dmy) for d in day["Data"]
        )


async def test_dossier_submitted_is_idempotent_and_survives_a_restart(tmp_path: Path) -> None:
    citizen = citizens(SEED)[1]
    dossier = {
        "maThamChieu": "dvc-bg-0001",
        "maThuTuc": "1.011442.000.00.00.H04",
        "maDonVi": "000.00.01.H04",
        "soDinhDanh": citizen.so_dinh_danh,
        "hoTen": citizen.ho_ten,
        "soDienThoai": "0912345678",
        "noiDung": "Cấp phép xây dựng",
    }
    async with serve("one-stop-shop", tmp_path) as client:
        first = await client.post("/hoSo", json=dossier)
        again = await client.post("/hoSo", json=dossier)
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["maHoSo"] == again.json()["maHoSo"]
        wrong = await client.post("/hoSo", json={**dossier, "maThuTuc": "1.2.3"})
        assert wrong.status_code == 422
        assert wrong.json()["errors"][0]["field"] == "$.body.maThuTuc"
    async with serve("one-stop-shop", tmp_path) as client:
        code = first.json()["maHoSo"]
        kept = await client.get(f"/hoSo/{code}")
        assert kept.status_code == 200 and kept.json()["hoTen"] == citizen.ho_ten
        assert len((await client.get("/hoSo")).json()) == 1


async def test_documents_are_received_by_each_addressee(tmp_path: Path) -> None:
    document = {
        "maThamChieu": "000.00.01.H04,2024/11/22,1234/UBND-KGVX",
        "noiGui": {"maDonVi": "000.00.01.H04", "tenDonVi": "Văn phòng UBND tỉnh"},
        "noiNhan": [
            {"maDonVi": "000.00.12.H04", "tenDonVi": "Sở TT&TT"},
            {"maDonVi": "000.00.20.H04", "tenDonVi": "Sở Y tế"},
        ],
        "soKyHieu": "1234/UBND-KGVX",
        "loaiVanBan": "Công văn",
        "trichYeu": "Về việc kết nối LGSP",
        "noiBanHanh": "Bắc Giang",
        "ngayBanHanh": "2024-11-22",
        "nguoiKy": {"chucVu": "Chủ tịch", "hoTen": "Lê Văn Bình"},
    }
    async with serve("e-office", tmp_path) as client:
        sent = await client.post("/guiVanBan", json=document)
        assert sent.status_code == 201 and sent.json()["trangThai"] == "01"
        for agency in ("000.00.12.H04", "000.00.20.H04"):
            inbox = (await client.get("/vanBanDen", params={"maDonVi": agency})).json()
            assert [d["id"] for d in inbox] == [sent.json()["id"]]
        assert (await client.get("/vanBanDen", params={"maDonVi": "000.00.13.H04"})).json() == []
        done = await client.post(f"/vanBan/{sent.json()['id']}/trangThai", json={"trangThai": "03"})
        assert done.json()["trangThai"] == "03"


def _birth_xml(mother_id: str, mother_name: str) -> str:
    return (
        "<hoSo><hoTenTre>Nguyễn Minh Khôi</hoTenTre><gioiTinh>1</gioiTinh>"
        "<ngaySinh>02/11/2024</ngaySinh><noiSinh>Bệnh viện Đa khoa tỉnh Bắc Giang</noiSinh>"
        f"<cccdMe>{mother_id}</cccdMe><hoTenMe>{mother_name}</hoTenMe></hoSo>"
    )


async def test_civil_status_codes_and_postal_tracking(tmp_path: Path) -> None:
    mother = citizens(SEED)[2]
    record = {
        "maDonVi": 7204,
        "module": "KS",
        "maHoSo": "KS-0001",
        "ngayTiepNhan": "22/11/2024",
        "data": _birth_xml(mother.so_dinh_danh, mother.ho_ten),
    }
    which = {"maDonVi": 7204, "maHoSo": "KS-0001"}
    async with serve("civil-status", tmp_path / "hotich") as client:
        received = (await client.post("/dangKyHoTich", json=record)).json()
        assert received["status"] == 1
        for _ in range(2):  # reading the status changes nothing: the same answer twice
            registered = (await client.post("/traTrangThaiHoSo", json=which)).json()
            assert registered["status"] == 4
        result = (await client.post("/ketQuaDangKyHS", json=which)).json()
        assert result["value"]["soDinhDanh"].startswith("024224")
        unknown_mother = {
            **record,
            "maHoSo": "KS-0002",
            "data": _birth_xml("099999999999", "Không Rõ"),
        }
        assert (await client.post("/dangKyHoTich", json=unknown_mother)).json()["status"] == 1
        pending = {"maDonVi": 7204, "maHoSo": "KS-0002"}
        assert (await client.post("/traTrangThaiHoSo", json=pending)).json()["status"] == 2
        incomplete = (await client.post("/ketQuaDangKyHS", json=pending)).json()
        assert (incomplete["status"], incomplete["errorCode"]) == (0, 200)
        nowhere = (await client.post("/traTrangThaiHoSo", json={**which, "maHoSo": "KS-9"})).json()
        assert (nowhere["status"], nowhere["errorCode"]) == (0, 201)
        other_unit = await client.post("/traTrangThaiHoSo", json={**which, "maDonVi": 7205})
        assert other_unit.json()["errorCode"] == 106
        wrong_unit = await client.post("/dangKyHoTich", json={**record, "maDonVi": 1})
        assert wrong_unit.status_code == 200 and wrong_unit.json()["errorCode"] == 106
        bad_xml = await client.post("/dangKyHoTich", json={**record, "data": "<hoSo>"})
        assert bad_xml.json()["errorCode"] == 500
        bad_type = (await client.post("/danhMuc", json={"loaiDanhMuc": "9"})).json()
        assert (bad_type["status"], bad_type["errorCode"]) == (0, 302)
        ethnic = (await client.post("/danhMuc", json={"loaiDanhMuc": "3"})).json()
        assert {"ma": "01", "ten": "Kinh"} in ethnic["value"]
    order = {
        **MOrder.model_json_schema()["examples"][0],
        "OrderNumber": "KS-0001",
        "ReceiverName": mother.ho_ten,
        "ReceiverAddress": str(mother.thuong_tru),
    }
    async with serve("postal", tmp_path / "post") as client:
        posted = (await client.post("/order/post", json=order)).json()
        assert posted["Status"] == "1"
        tracked = (await client.get("/order/tracking", params={"pagesize": 10})).json()
        sample, first = tracked["_embedded"]["rh:doc"]  # the sample customer's order first
        assert (first["OrderNumber"], first["StatusCode"]) == ("KS-0001", 1)
        assert (sample["EventTime"], sample["StatusCode"]) == ("2024-11-22 08:30:00", 1)
        # tracking reads the order's progress; it does not move it
        again = (await client.get("/order/tracking", params={"pagesize": 10})).json()
        assert again == tracked


GIA_LAI_DATA = {
    "nycHoTen": {"Ho": "TRẦN", "ChuDem": "THỊ", "Ten": "LAN"},
    "nycLoaiGiayToTuyThan": 4,
    "nycSoGiayToTuyThan": "024190012345",
    "nycQuanHe": "Mẹ",
    "cbsHoTen": {"Ho": "NGUYỄN", "ChuDem": "MINH ", "Ten": "KHÔI"},
    "cbsNgaySinh": {"namSinh": "2021", "thangSinh": "06", "ngaySinh": "24"},
    "cbsGioiTinh": 1,
    "cbsQuocTich": "VN",
    "cbsDanToc": "01",
    "cbsNoiCuTru": {"dcChiTiet": "Thôn Đồng Mai", "quocGia": "VN", "maTinh": "24", "maXa": "7204"},
    "noiDangKy": "7204",
    "loaiBanSao": 0,
    "soDangKyTruocDay": "120",
    "quyenSoDangKyTruocDay": "2021",
    "thongTinKhac": "",
}


async def test_civil_status_takes_the_forms_a_provincial_client_sends(tmp_path: Path) -> None:
    """Gia Lai's tool: maDonVi as a string, yyyy-MM-dd or 'dd/MM/yyyy ' (trailing space),
    data as <hotich><hoso>…</hoso></hotich> or as a JSON string; maHoSoMCDT for maHoSo."""
    as_json = {
        "maHoSoMCDT": "H04.129-250812-0035",
        "maHoSoLT": "BS",
        "module": "BS",
        "ngayTiepNhan": "12/08/2025 ",
        "maDonVi": "7204",
        "data": json.dumps(GIA_LAI_DATA, ensure_ascii=False),
    }
    as_xml = {
        "maDonVi": "7204",
        "ngayTiepNhan": "2025-08-12",
        "module": "KS",
        "maHoSo": "H04.129-250812-0036",
        "data": "<hotich><hoso><loaiHTTP>KS</loaiHTTP><noiDangKy>7204</noiDangKy>"
        "<hoTenCon>Nguyễn Minh Khôi</hoTenCon></hoso></hotich>",
    }
    async with serve("civil-status", tmp_path / "hotich") as client:
        for record in (as_json, as_xml):
            received = (await client.post("/dangKyHoTich", json=record)).json()
            assert received["status"] == 1, received
        copy = {"maDonVi": "7204", "maHoSo": as_json["maHoSoMCDT"]}
        assert (await client.post("/traTrangThaiHoSo", json=copy)).json()["status"] == 4
        result = (await client.post("/ketQuaDangKyHS", json=copy)).json()["value"]
        assert result["hoTen"] == "NGUYỄN MINH KHÔI" and result["soDinhDanh"].startswith("024221")
        # The form's own fields are kept, not read: received, and stays so.
        form = {"maDonVi": 7204, "maHoSo": as_xml["maHoSo"]}
        assert (await client.post("/traTrangThaiHoSo", json=form)).json()["status"] == 1
        mistyped = {**GIA_LAI_DATA, "cbsNoiCuTru": "Thôn Đồng Mai"}
        wrong = {**as_json, "maHoSoMCDT": "X-1", "data": json.dumps(mistyped)}
        refused = (await client.post("/dangKyHoTich", json=wrong)).json()
        assert refused["errorCode"] == 500 and "cbsNoiCuTru" in refused["errorMessage"]
        for bad_date in ("2025-13-01", "12/08/25", "12/08/2025  "):
            malformed = await client.post(
                "/dangKyHoTich", json={**as_xml, "ngayTiepNhan": bad_date}
            )
            assert malformed.status_code == 422, bad_date
        unnamed = {k: v for k, v in as_xml.items() if k != "maHoSo"}
        assert (await client.post("/dangKyHoTich", json=unnamed)).status_code == 422
        # Joint registration (LTKS, LTKT, LTKH) goes to nhanHoSoDKHT with the same body.
        joint = {**as_json, "maHoSoMCDT": "H04.129-250812-0040", "module": "LTKS"}
        assert (await client.post("/nhanHoSoDKHT", json=joint)).json()["status"] == 1
        joint_status = {"maDonVi": 7204, "maHoSo": joint["maHoSoMCDT"]}
        assert (await client.post("/traTrangThaiHoSo", json=joint_status)).json()["status"] == 4
        not_joint = await client.post("/nhanHoSoDKHT", json={**joint, "module": "KS"})
        assert not_joint.status_code == 422


async def test_social_insurance_speaks_the_guide(tmp_path: Path) -> None:
    person = citizens(SEED)[5]
    criteria = {
        "hoTen": person.ho_ten,
        "ngaySinh": person.ngay_sinh.strftime("%Y%m%d"),
        "loaiNgaySinh": "0",
        "gioiTinh": str(person.gioi_tinh),
        "maTinhKs": "24",
        "isKs": "0",
    }
    async with serve("social-insurance", tmp_path) as client:
        found = (await client.post("/getMaSoBhxhTheoTieuChi", json=criteria)).json()
        assert (found["maSoBhxh"], found["errorCode"]) == (person.so_bhxh, "0")
        by_year = {**criteria, "loaiNgaySinh": "1", "ngaySinh": criteria["ngaySinh"][:4]}
        assert (await client.post("/getMaSoBhxhTheoTieuChi", json=by_year)).json()["maSoBhxh"]
        elsewhere = {**criteria, "maTinhKs": "01"}
        none = (await client.post("/getMaSoBhxhTheoTieuChi", json=elsewhere)).json()
        assert (none["maSoBhxh"], none["errorCode"]) == ("", "1")
        who = await client.post("/getTraCuuTtHgdByMaSoBhxh", json={"maSoBhxh": person.so_bhxh})
        assert (
            who.json()["hoTen"] == person.ho_ten and who.json()["ngaySinh"] == criteria["ngaySinh"]
        )
        household = {**criteria, "maTinh": "24"}
        del household["maTinhKs"]
        home = (await client.post("/getTraCuuThongTinHgd", json=household)).json()
        assert home["maHo"] == person.ma_ho and home["maSo"] == person.so_bhxh
        wrong_date = await client.post(
            "/getMaSoBhxhTheoTieuChi", json={**criteria, "ngaySinh": "1990-01-15"}
        )
        assert wrong_date.status_code == 422


async def test_public_service_portal_sync_as_opencps_sends_it(tmp_path: Path) -> None:
    dossier = {
        "MaHoSo": "000.00.01.H04-241122-0009",
        "MaTTHC": "1.011442.000.00.00.H04",
        "NgayTiepNhan": "20241122083000",
        "TrangThaiHoSo": "2",
        "ChuHoSo": "Nguyễn Văn An",
        "Email": "",
        "TaiLieuNop": [],
    }
    async with serve("public-service-portal", tmp_path) as client:
        session = await _dvcqg_session(client)
        synced = await client.post(
            "/dongBoHoSo",
            json={
                "session": session,
                "madonvi": "000.00.00.H04",
                "service": "DongBoHoSoMC",
                "isUpdating": "False",
                "data": [dossier],
            },
        )
        assert synced.json()["error_code"] == "00"
        progress = {
            "MaHoSo": dossier["MaHoSo"],
            "NguoiXuLy": "Lê Văn Bình",
            "ThoiDiemXuLy": "20241123090000",
            "NoiDungXuLy": "Chuyển phòng chuyên môn",
            "TrangThai": "3",
        }
        updated = await client.post(
            "/dongBoHoSo",
            json={"session": session, "service": "CapNhatTienDoHoSoMC", "data": [progress]},
        )
        assert updated.json()["error_code"] == "00"
        looked_up = await client.post(
            "/dongBoHoSo",
            json={"session": session, "service": "TraCuuHoSo", "mahoso": dossier["MaHoSo"]},
        )
        [found] = looked_up.json()["result"]
        assert found["TrangThaiHoSo"] == "3" and found["TienDo"][-1]["NguoiXuLy"] == "Lê Văn Bình"
        unknown = await client.post(
            "/dongBoHoSo",
            json={
                "session": session,
                "service": "CapNhatTienDoHoSoMC",
                "data": [{**progress, "MaHoSo": "X"}],
            },
        )
        assert unknown.status_code == 200 and unknown.json()["error_code"] != "00"
        bad_time = {**dossier, "NgayTiepNhan": "2024-11-22"}
        refused = await client.post(
            "/dongBoHoSo", json={"session": session, "service": "DongBoHoSoMC", "data": [bad_time]}
        )
        assert refused.json()["error_code"] != "00" and "NgayTiepNhan" in refused.json()["message"]
        # isUpdating is a string ("True"/"False"): a number is refused, naming the field.
        numeric = await client.post(
            "/dongBoHoSo",
            json={"session": session, "service": "DongBoHoSoMC", "isUpdating": 1, "data": []},
        )
        assert numeric.status_code == 422
        assert [e["field"] for e in numeric.json()["errors"]] == ["$.body.isUpdating"]


async def _dvcqg_session(client: httpx.AsyncClient) -> str:
    """Log in as OpenCPS does: {username, password} and a dstcode header."""
    login = {"username": "bacgiang.motcua", "password": "dvcqg-bac-giang-2022"}
    answer = await client.post("/dangNhap", json=login, headers={"dstcode": "DVCQG"})
    body = answer.json()
    assert answer.status_code == 200 and body["error_code"] == 0, body
    return str(body["session"])


async def test_public_service_portal_login_lists_and_questions_as_opencps_reads_them(
    tmp_path: Path,
) -> None:
    async with serve("public-service-portal", tmp_path) as client:
        wrong = {"username": "bacgiang.motcua", "password": "x"}
        refused = await client.post("/dangNhap", json=wrong, headers={"dstcode": "DVCQG"})
        assert refused.status_code == 200
        assert refused.json()["error_code"] != 0 and "session" not in refused.json()
        anonymous = await client.post("/dongBoHoSo", json={"service": "LayDanhMucCoQuan"})
        assert anonymous.json()["error_code"] != "00"
        session = await _dvcqg_session(client)

        async def ask(path: str, **body: object) -> list[dict[str, object]]:
            answer = await client.post(path, json={"session": session, **body})
            assert answer.status_code == 200 and int(answer.json()["error_code"]) == 0
            rows: list[dict[str, object]] = answer.json().get("result", [])
            return rows

        agencies = await ask("/chiaSeDanhMuc", service="LayDanhMucCoQuan")
        assert {"MADONVI", "TENDONVI", "CAPDONVI"} <= set(agencies[0])
        fields = await ask("/chiaSeDanhMuc", service="LayDanhMucLinhVuc")
        assert {"MALINHVUC", "TENLINHVUC", "MANGANH"} <= set(fields[0])
        procedures = await ask("/chiaSeDanhMuc", service="LayDanhSachTTHC")
        code = procedures[0]["MATTHC"]
        [procedure] = await ask("/dongBoHoSo", service="LayThuTuc", maTTHC=code)
        assert procedure["TENTTHC"] == procedures[0]["TENTTHC"]
        linhvuc = procedure["LINHVUCTHUCHIEN"]
        assert isinstance(linhvuc, list) and {"MALINHVUC", "TENLINHVUC"} <= set(linhvuc[0])
        assert await ask("/dongBoHoSo", service="LayThuTuc", maTTHC="0.000000.000.00.00.H04") == []
        questions = await ask("/dongBoHoSo", service="LayDanhSachHoiDapGuiTuDVCQG")
        first = questions[0]
        assert first["TRALOIID"] == 0 and first["NOIDUNG"]
        answer = {
            "HOIDAPID": first["HOIDAPID"],
            "MADONVI": first["MADONVI"],
            "NGUOITRALOI": "Lê Văn Bình",
            "CHUCVUNGUOITRALOI": "cb",
            "NGAYTRALOI": "23/11/2024",
            "NOIDUNGTRALOI": "Hồ sơ gồm tờ khai và bản vẽ thiết kế.",
        }
        await ask("/dongBoHoSo", service="DongBoKetQuaHoiDapGuiTuDVCQG", data=[answer])
        [replied] = await ask(
            "/dongBoHoSo", service="LayNoiDungTraLoiTheoCauHoi", cauhoiid=first["HOIDAPID"]
        )
        assert replied["NOIDUNGTRALOI"] == answer["NOIDUNGTRALOI"]
        assert int(str(replied["TRALOIID"])) > 0
        [asked_again] = [
            q
            for q in await ask("/dongBoHoSo", service="LayDanhSachHoiDapBoCoQuan")
            if q["HOIDAPID"] == first["HOIDAPID"]
        ]
        assert asked_again["NOIDUNGTRALOI"] == answer["NOIDUNGTRALOI"]
        question = {"HOIDAPID": 77, "NOIDUNG": "Câu hỏi", "MADONVI": "000.00.00.H04"}
        await ask("/dongBoHoSo", service="DongBoHoiDap", data=[question])


async def test_shared_categories_describe_list_and_add_rows(tmp_path: Path) -> None:
    async with serve("shared-categories", tmp_path) as client:
        columns = (await client.get("/Metadata/qlvanbandieuhanhcap1")).json()
        assert columns[0] == {
            "PropertyCode": "MaDinhDanhCap1",
            "PropertyName": "Mã định danh cấp 1",
            "PropertyType": "String",
        }
        assert {
            "PropertyCode": "NgayBanHanhQd",
            "PropertyName": "Ngày ban hành QĐ",
            "PropertyType": "DateTime",
        } in columns
        before = (await client.get("/Category/qlvanbandieuhanhcap1")).json()
        assert {r["MaDinhDanhCap1"] for r in before} >= {"000.00.00.H04"}
        row = {
            "MaDinhDanhCap1": "000.00.00.H98",
            "TenDonVi": "UBND tỉnh Thử",
            "NgayBanHanhQd": "01/02/2020",
        }
        added = (await client.post("/Category/qlvanbandieuhanhcap1", json=[row])).json()
        assert added == {"MSG": "Done", "Count": 1}
        again = (await client.post("/Category/qlvanbandieuhanhcap1", json=[row])).json()
        assert again["Count"] == 0 and again["MSG"].startswith("Data not insert: Record 1:")
        assert "is duplicate" in again["MSG"]
        after = (await client.get("/Category/qlvanbandieuhanhcap1")).json()
        assert len(after) == len(before) + 1 and after[-1]["TenDonVi"] == "UBND tỉnh Thử"
        assert (await client.get("/Category/khongco")).status_code == 404
        districts = (await client.get("/Category/donvihanhchinhcap2")).json()
        assert {"MaHuyen": "219", "TenHuyen": "Huyện Lục Ngạn", "MaTinh": "24"} in districts


async def test_judicial_records_take_a_request_and_report_its_status(tmp_path: Path) -> None:
    from contracts.services.judicial_records import NhanHoSo

    example = NhanHoSo.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]
    async with serve("judicial-records", tmp_path) as client:
        taken = (await client.post("/nhanHoSoDangKy", json=example)).json()
        assert taken["STATUS"] == "1" and taken["ID"]
        again = (await client.post("/nhanHoSoDangKy", json=example)).json()
        assert again["ID"] == taken["ID"]  # the same receipt number: the same request
        which = {"idReceivedDec": example["idReceivedDec"], "infoType": "2"}
        for _ in range(2):  # reading the status changes nothing
            status = (await client.post("/LLTP-API-traTrangThaiHs", json=which)).json()
            assert (status["STATUS"], status["DEC_STATUS_ID"]) == ("1", 3)
        changed = (await client.post("/LLTP-API-traDsTrangThaiHs", json={"infoType": "2"})).json()
        assert [r["RECEIVE_NO"] for r in changed["LISTCONTENT"]] == [example["idReceivedDec"]]
        marked = await client.post(
            "/LLTP-API-danhDauHsThanhCong", json={"declarationId": taken["ID"], "infoType": "2"}
        )
        assert marked.json()["STATUS"] == "1"
        after = (await client.post("/LLTP-API-traDsTrangThaiHs", json={"infoType": "2"})).json()
        assert after["LISTCONTENT"] == []
        unknown = (
            await client.post("/LLTP-API-traTrangThaiHs", json={**which, "idReceivedDec": "X"})
        ).json()
        assert unknown["STATUS"] == "0"
        iso = {**example, "dateReceivedDec": "2024-11-22"}
        assert (await client.post("/nhanHoSoDangKy", json=iso)).status_code == 422
        nations = (await client.post("/LLTP-API-traDanhMuc", json={"infoType": "2"})).json()
        assert {"ID": "1", "NAME": "Việt Nam"} in nations["LISTCONTENT"]


def test_an_order_moves_on_with_time_and_stops_when_cancelled() -> None:
    """The order's events are computed from what is stored and the time asked about: no sleep
    is needed to see it travel (services/national/postal.py)."""
    posted_at = 1_796_601_600.0
    order = Record(
        "VN-0000001",
        "C",
        "posted",
        {"CustomerCode": "C", "OrderNumber": "1"},
        [{"status": "posted", "time": posted_at}],
        posted_at,
        posted_at,
    )
    codes = [
        [e.code for e in postal.events(order, posted_at + seconds, step_seconds=60)]
        for seconds in (0, 59, 60, 150, 10_000)
    ]
    assert codes == [[1], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4, 5]]
    cancelled = Record(
        **{
            **order.__dict__,
            "status": "cancelled",
            "history": [*order.history, {"status": "cancelled", "time": posted_at + 90}],
        }
    )
    assert [e.code for e in postal.events(cancelled, posted_at + 10_000, 60)] == [1, 2, 9]
    everything = postal.events(order, posted_at + 10_000, 60) + postal.events(
        Record(**{**order.__dict__, "id": "VN-0000002", "created": posted_at + 30}),
        posted_at + 10_000,
        60,
    )
    first = postal.page(everything, 3, None)
    assert (first["_size"], first["_total_pages"], first["_returned"]) == (10, 4, 3)
    seen = [d["_id"]["$oid"] for d in first["_embedded"]["rh:doc"]]
    rest = postal.page(everything, 100, seen[-1])["_embedded"]["rh:doc"]
    ids = seen + [d["_id"]["$oid"] for d in rest]
    assert len(ids) == len(set(ids)) == 10 and ids == sorted(ids)
    times = [d["EventTime"] for d in first["_embedded"]["rh:doc"]]
    assert times[0] == "2026-12-07 07:00:00"  # local time, Asia/Ho_Chi_Minh


async def test_postal_orders_are_idempotent_and_cancelled_once(tmp_path: Path) -> None:
    order = {**MOrder.model_json_schema()["examples"][0], "OrderNumber": "KS-0003"}
    async with serve("postal", tmp_path, step_seconds="3600") as client:
        for _ in range(2):
            assert (await client.post("/order/post", json=order)).json()["Status"] == "1"
        changed = {**order, "ReceiverTel": "0987654321"}
        assert (await client.post("/order/post", json=changed)).json()["Status"] == "0"
        which = {"CustomerCode": order["CustomerCode"], "OrderNumber": "KS-0003"}
        for _ in range(2):
            cancelled = await client.post("/order/cancel", params=which)
            assert cancelled.json()["Status"] == "1", cancelled.text
        unknown = await client.post("/order/cancel", params={**which, "OrderNumber": "X"})
        assert unknown.json()["Status"] == "0"
        docs = (await client.get("/order/tracking")).json()["_embedded"]["rh:doc"]
        assert [d["StatusCode"] for d in docs if d["OrderNumber"] == "KS-0003"] == [1, 9]
        bad = await client.post("/order/post", json={**order, "SenderProvince": "Bắc Giang"})
        assert bad.status_code == 422
        assert [e["field"] for e in bad.json()["errors"]] == ["$.body.SenderProvince"]
