"""Seed data of one's own: citizens, enterprises and dossiers added at start, or named errors."""

from __future__ import annotations

import asyncio
import shutil
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from contracts.topology import Topology
from sandbox.cli import main
from sandbox.testing.harness import RunningTopology, run_topology
from sandbox.topology.loading import load_topology
from services.common.seeds import SeedError, load_seeds, seed_paths
from tests.helpers import bearer, full_name

EXAMPLE = Path(__file__).resolve().parents[1] / "seeds" / "example"
LGSP, MOTCUA = "lgsp-bac-giang", "motcua-bac-giang"
HUONG = "024190012468"  # Nguyễn Thị Thu Hường, in seeds/example/citizens.yaml
THANG = "024201098765"  # Hoàng Đức Thắng
ENTERPRISE = "2400990001"

GOOD_CITIZEN = """\
- soDinhDanh: "024190012468"
  hoTen: Nguyễn Thị Thu Hường
  gioiTinh: 2
  ngaySinh: "1990-03-08"
  danToc: Kinh
  queQuan: Bắc Giang
  noiThuongTru:
    {chiTiet: Số 18, xaPhuong: Phường Ngô Quyền, quanHuyen: TP Bắc Giang, tinhThanh: Bắc Giang}
"""


def _topology_file(folder: Path, seeds: str) -> Path:
    """The default topology, with a `seeds:` key relative to the new file."""
    path = folder / "with-seeds.yaml"
    path.write_text(f"extends: bac-giang-2022\nseeds: {seeds}\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
async def seeded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningTopology]:
    folder = tmp_path_factory.mktemp("seeded")
    shutil.copytree(EXAMPLE, folder / "my-seeds")
    topology = load_topology(_topology_file(folder, "my-seeds"))
    assert topology.seeds == folder / "my-seeds"
    async with run_topology(topology, folder / "data") as running:
        yield running


@pytest.fixture
async def headers(seeded: RunningTopology, client: httpx.AsyncClient) -> dict[str, str]:
    return await bearer(client, seeded.url(LGSP), seeded.topology, MOTCUA)


@pytest.mark.sockets
async def test_a_seeded_citizen_is_found_through_lgsp_and_verifies(
    seeded: RunningTopology, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    base = f"{seeded.url(LGSP)}/apiCSDLDC/1.0"
    found = await client.get(f"{base}/congDan", params={"soDinhDanh": HUONG}, headers=headers)
    assert found.status_code == 200, found.text
    citizen = found.json()
    assert citizen["CongDan"]["HoVaTen"] == {"Ho": "Nguyễn", "ChuDem": "Thị Thu", "Ten": "Hường"}
    assert "Phường Ngô Quyền" in citizen["CongDan"]["NoiOHienTai"]["ChiTiet"]
    assert citizen["CongDan"]["SoHoKhau"] == "HGD9" + HUONG[-8:]  # derived: her own household
    verified = await client.post(
        f"{base}/xacThucCongDan",
        # typed in decomposed Unicode, as some agency systems send names
        json={
            "soDinhDanh": HUONG,
            "hoTen": unicodedata.normalize("NFD", "Nguyễn Thị Thu Hường"),
            "ngaySinh": "1990-03-08",
        },
        headers=headers,
    )
    assert verified.status_code == 200, verified.text
    assert verified.json() == {
        "soDinhDanh": HUONG,
        "tonTai": True,
        "khop": True,
        "truongKhongKhop": [],
    }


@pytest.mark.sockets
async def test_generated_citizens_are_still_there(
    seeded: RunningTopology, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    from services.common.sampledata import citizens

    generated = citizens(seeded.topology.seed, 1)[0]
    response = await client.get(
        f"{seeded.url(LGSP)}/apiCSDLDC/1.0/congDan",
        params={"soDinhDanh": generated.so_dinh_danh},
        headers=headers,
    )
    assert response.status_code == 200
    assert full_name(response.json()) == generated.ho_ten


@pytest.mark.sockets
async def test_seeded_enterprise_at_business_registration_and_tax(
    seeded: RunningTopology, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    lgsp = seeded.url(LGSP)
    detail = await client.get(
        f"{lgsp}/apiCSDLDKDN/1.0/chiTietDoanhNghiep",
        params={"msdn": ENTERPRISE},
        headers=headers,
    )
    assert detail.status_code == 200, detail.text
    data = detail.json()["Data"]
    assert data["MainInformation"]["NAME"] == "CÔNG TY TNHH VẢI THIỀU LỤC NGẠN XANH"
    # the representative's name, from the seeded citizen the enterprise names
    assert data["Representatives"] == [{"FULL_NAME": "HOÀNG ĐỨC THẮNG"}]
    assert data["MainInformation"]["FOUNDING_DATE"] == "12/05/2023"
    taxpayer = await client.get(
        f"{lgsp}/apiThue/1.0/trangThaiNNT", params={"mst": ENTERPRISE}, headers=headers
    )
    assert taxpayer.status_code == 200, taxpayer.text
    assert taxpayer.json()["trangThai"] == "NNT đang hoạt động"
    person = await client.get(
        f"{lgsp}/apiThue/1.0/trangThaiNNT", params={"mst": THANG}, headers=headers
    )
    assert person.json()["tenNguoiNopThue"] == "Hoàng Đức Thắng"


@pytest.mark.sockets
async def test_seeded_citizen_joins_a_household_at_social_insurance(
    seeded: RunningTopology, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(
        f"{seeded.url(LGSP)}/apiBHXH/1.0/getTraCuuThongTinHgd",
        json={
            "maTinh": "24",
            "hoTen": "Hoàng Đức Thắng",
            "ngaySinh": "20011120",
            "loaiNgaySinh": "0",
            "gioiTinh": "1",
            "isKs": "0",
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    household = response.json()
    assert (household["maHo"], household["maSo"]) == ("HGD024900001", "2499001234")


@pytest.mark.sockets
async def test_seeded_dossier_is_in_the_one_stop_shop(
    seeded: RunningTopology, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    base = f"{seeded.url(LGSP)}/apiMotCua/1.0"
    one = await client.get(f"{base}/hoSo/BG-SEED-0001", headers=headers)
    assert one.status_code == 200, one.text
    assert one.json()["trangThai"] == "Đang xử lý"
    assert one.json()["lichSu"] == ["Mới tiếp nhận", "Đang xử lý"]
    listed = await client.get(f"{base}/hoSo", params={"maDonVi": "000.00.01.H04"}, headers=headers)
    assert [d["maHoSo"] for d in listed.json()][:1] == ["BG-SEED-0001"]


@pytest.mark.sockets
async def test_gsp_seed_dir_adds_seeds_to_a_back_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, topology_2022: Topology
) -> None:
    monkeypatch.setenv("GSP_SEED_DIR", str(EXAMPLE))
    assert seed_paths(None) == [EXAMPLE]
    async with (
        run_topology(topology_2022, tmp_path, nodes=["population"], wait=False) as running,
        httpx.AsyncClient(trust_env=False) as client,
    ):
        response = await client.get(
            f"{running.url('population')}/congDan", params={"soDinhDanh": THANG}
        )
    assert response.status_code == 200, response.text
    assert full_name(response.json()) == "Hoàng Đức Thắng"


# -- bad seeds --------------------------------------------------------------------------


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("edit", "where", "says"),
    [
        pytest.param(
            ('"024190012468"', '"02419001246"'),
            "citizens[1] (02419001246): soDinhDanh",
            "should match pattern",
            id="11-digit-cccd",
        ),
        pytest.param(
            ("gioiTinh: 2", "gioiTinh: 1"),
            "citizens[1] (024190012468): soDinhDanh",
            "digit 4 is 1, but for a man born in 1990 it is 0",
            id="cccd-not-this-person",
        ),
        pytest.param(
            ("  hoTen: Nguyễn Thị Thu Hường\n", ""),
            "citizens[1] (024190012468): hoTen",
            "Field required",
            id="missing-field",
        ),
        pytest.param(
            ('"1990-03-08"', "1990-02-30"),
            "citizens[1] (024190012468): ngaySinh",
            "valid date",
            id="wrong-date",
        ),
        pytest.param(
            ("tinhThanh: Bắc Giang}", "}"),
            "citizens[1] (024190012468): noiThuongTru.tinhThanh",
            "Field required",
            id="missing-nested-field",
        ),
    ],
)
def test_a_bad_citizen_is_named_by_file_record_and_field(
    tmp_path: Path, edit: tuple[str, str], where: str, says: str
) -> None:
    first = GOOD_CITIZEN.replace("024190012468", "024090012345").replace(
        "gioiTinh: 2", "gioiTinh: 1"
    )
    bad = GOOD_CITIZEN.replace(*edit)
    folder = _write(tmp_path / "seeds", "citizens.yaml", first + bad)
    with pytest.raises(SeedError) as caught:
        load_seeds([folder])
    lines = str(caught.value).splitlines()
    assert lines[0] == "1 problem(s) in the seed data"
    assert lines[1].startswith(f"{folder / 'citizens.yaml'}: {where}: ")
    assert says in lines[1]


def test_other_bad_seeds_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    _write(folder, "citizens.yaml", GOOD_CITIZEN)
    _write(folder, "citizen.yml", "[]")  # a typo in the kind
    _write(folder, "README.md", "notes beside the seeds are fine")
    _write(
        folder,
        "enterprises.json",
        '[{"MaSoDoanhNghiep": 2400990001, "TenDoanhNghiep": "X", "LoaiHinh": "Y", '
        '"DiaChiTruSo": "Z", "NguoiDaiDienPhapLuat": "024190012468", '
        '"NgayThanhLap": "2020-01-01", "VonDieuLe": 1, "NganhNgheChinh": "N", '
        '"TinhTrang": "Đang bán"}]',
    )
    _write(
        folder,
        "dossiers.yaml",
        '- {maHoSo: "000.00.01.H04-0000001", maThuTuc: "1.011442.000.00.00.H04", '
        'maDonVi: "000.00.01.H04", soDinhDanh: "024190012468", hoTen: A}\n',
    )
    other = _write(tmp_path / "more", "citizens.json", "[" + _json_citizen() + "]")
    with pytest.raises(SeedError) as caught:
        load_seeds([folder, other, tmp_path / "missing"])
    problems = str(caught.value).splitlines()[1:]
    assert problems == [
        f"{folder / 'citizen.yml'}: not a seed file: name it citizens, enterprises, dossiers "
        "(.yaml, .yml, .json)",
        f"{folder / 'dossiers.yaml'}: dossiers[0] (000.00.01.H04-0000001): maHoSo: this form "
        "is reserved for dossiers submitted to the sandbox",
        f"{folder / 'enterprises.json'}: enterprises[0] (2400990001): TinhTrang: Input should "
        "be 'Đang hoạt động', 'Tạm ngừng kinh doanh' or 'Đã giải thể'",
        f"{tmp_path / 'missing'}: no such seed file or folder",
        f"{other / 'citizens.json'}: citizens[0] (024190012468): soDinhDanh: also seeded at "
        f"{folder / 'citizens.yaml'} citizens[0]",
    ]


def _json_citizen() -> str:
    return (
        '{"soDinhDanh": "024190012468", "hoTen": "Lê Thị Hà", "gioiTinh": 2, '
        '"ngaySinh": "1990-05-05", "danToc": "Kinh", "queQuan": "Bắc Giang", '
        '"noiThuongTru": {"chiTiet": "a", "xaPhuong": "b", "quanHuyen": "c", '
        '"tinhThanh": "d"}}'
    )


def test_one_seed_file_with_every_kind(tmp_path: Path) -> None:
    path = tmp_path / "seeds.yaml"
    path.write_text("citizens:\n" + _indent(GOOD_CITIZEN) + "enterprises: []\n", "utf-8")
    seeds = load_seeds([path])
    assert [c.hoTen for c in seeds.citizens] == ["Nguyễn Thị Thu Hường"]
    assert seeds.summary() == "1 citizen, 0 enterprises, 0 dossiers"


def _indent(text: str) -> str:
    return "".join(f"  {line}\n" for line in text.splitlines())


async def test_a_bad_seed_stops_the_topology_at_start(tmp_path: Path) -> None:
    _write(tmp_path / "bad", "citizens.yaml", GOOD_CITIZEN.replace("gioiTinh: 2", "gioiTinh: 3"))
    topology = load_topology(_topology_file(tmp_path, "bad"))
    # Back ends only: each fails as it is built, so no half-started platform is left over.
    backends = list(topology.backends)
    with pytest.raises(SeedError, match=r"citizens\[0\] \(024190012468\): gioiTinh"):
        async with run_topology(topology, tmp_path / "data", nodes=backends, wait=False):
            pass


async def test_validate_checks_the_seeds_a_topology_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "good")
    good = _topology_file(tmp_path, "good")
    assert await asyncio.to_thread(main, ["validate", str(good)]) == 0
    assert "seeds: 2 citizens, 1 enterprise, 1 dossier" in capsys.readouterr().out

    _write(tmp_path / "bad", "citizens.yaml", GOOD_CITIZEN.replace('"1990-03-08"', "1990-13-01"))
    bad = _topology_file(tmp_path, "bad")
    assert await asyncio.to_thread(main, ["validate", str(bad)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "citizens.yaml: citizens[0] (024190012468): ngaySinh:" in err


def test_an_empty_seed_dir_setting_means_no_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    # What Compose passes on for an unset GSP_SEED_DIR: not "the working directory".
    monkeypatch.setenv("GSP_SEED_DIR", "")
    assert seed_paths(None) == []
    monkeypatch.setenv("GSP_SEED_DIR", "seeds/example")
    assert seed_paths(None) == [Path("seeds/example")]
