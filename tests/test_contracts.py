"""Contracts are the single source of truth, and every hop holds callers and back ends to them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI

from contracts.problem import problem_type
from contracts.registry import contracts
from contracts.topology import Topology
from gateway.settings import GatewaySettings
from sandbox.export.contracts import stale
from sandbox.runtime.hosting import NodeHost, bind_socket
from sandbox.testing.harness import RunningTopology, fast_settings, run_topology
from sandbox.topology.loading import SHIPPED_DIR
from services.common.sampledata import citizens
from tests.helpers import assert_fault, audit_records, bearer

pytestmark = pytest.mark.sockets

LGSP, NGSP, MOTCUA = "lgsp-bac-giang", "ngsp", "motcua-bac-giang"


def test_committed_contract_documents_match_the_models() -> None:
    assert stale() == [], "run: gsp-sandbox contracts export"
    assert len(contracts()) == 38


def _strict(topology: Topology) -> Topology:
    """The topology with the early contract check on at the LGSP (`validate_requests`)."""
    platforms = dict(topology.platforms)
    platforms[LGSP] = platforms[LGSP].model_copy(update={"validate_requests": True})
    return topology.model_copy(update={"platforms": platforms})


@pytest.fixture(scope="module")
async def strict(
    topology_2022: Topology, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningTopology]:
    async with run_topology(_strict(topology_2022), tmp_path_factory.mktemp("strict")) as running:
        yield running


async def test_by_default_a_request_is_passed_on_unchecked_as_wso2_does(
    sandbox: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> None:
    lgsp = sandbox.url(LGSP)
    headers = await bearer(client, lgsp, topology_2022, MOTCUA)
    response = await client.get(
        f"{lgsp}/apiCSDLDC/1.0/congDan", params={"soDinhDanh": "02409001234"}, headers=headers
    )
    # The back end, not the platform, judges it: NGSP routed it on.
    records = await audit_records(
        client, sandbox.url(NGSP), topology_2022, NGSP, message_id=response.headers["X-Message-Id"]
    )
    assert [r.service for r in records] == ["apiCSDLDC"]


@pytest.mark.parametrize(
    ("value", "reason"), [("02409001234", "does not match"), ("02409001234X", "does not match")]
)
async def test_malformed_citizen_id_is_422_at_the_strict_lgsp_and_never_leaves_it(
    strict: RunningTopology,
    topology_2022: Topology,
    client: httpx.AsyncClient,
    value: str,
    reason: str,
) -> None:
    sandbox = strict
    lgsp = sandbox.url(LGSP)
    headers = await bearer(client, lgsp, topology_2022, MOTCUA)
    response = await client.get(
        f"{lgsp}/apiCSDLDC/1.0/congDan", params={"soDinhDanh": value}, headers=headers
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == problem_type("validation-error")
    assert problem["contract"] == "vn.gov.csdldc.population"
    assert [e["field"] for e in problem["errors"]] == ["$.query.soDinhDanh"]
    assert reason in problem["errors"][0]["reason"]
    message_id = response.headers["X-Message-Id"]
    ngsp = await audit_records(
        client, sandbox.url(NGSP), topology_2022, NGSP, message_id=message_id
    )
    assert ngsp == []  # NGSP, and so the population back end, never saw the call


async def test_bad_body_lists_every_wrong_field(
    strict: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> None:
    lgsp = strict.url(LGSP)
    headers = await bearer(client, lgsp, topology_2022, MOTCUA)
    response = await client.post(
        f"{lgsp}/apiCSDLDC/1.0/xacThucCongDan",
        json={"soDinhDanh": 24090012345, "ngaySinh": "15/01/1990"},
        headers=headers,
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"$.body.soDinhDanh", "$.body.hoTen", "$.body.ngaySinh"}


async def test_every_missing_field_is_named_once_even_when_nested(
    strict: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> None:
    lgsp = strict.url(LGSP)
    headers = await bearer(client, lgsp, topology_2022, MOTCUA)
    # Three fields missing at the top, one of the wrong type: four entries, each its own.
    dossier = await client.post(
        f"{lgsp}/apiMotCua/1.0/hoSo",
        json={"maThamChieu": "k-1", "maThuTuc": 7, "maDonVi": "000.00.01.H04"},
        headers=headers,
    )
    assert dossier.status_code == 422, dossier.text
    errors = dossier.json()["errors"]
    assert sorted(e["field"] for e in errors) == [
        "$.body.hoTen",
        "$.body.maThuTuc",
        "$.body.noiDung",
        "$.body.soDienThoai",
        "$.body.soDinhDanh",
    ]
    assert {e["reason"] for e in errors if e["field"] == "$.body.noiDung"} == {
        "'noiDung' is required"
    }

    # Missing inside a nested object and inside an item of a list.
    document = {
        "maThamChieu": "k-2",
        "noiGui": {},
        "noiNhan": [{"maDonVi": "000.00.12.H04"}],
        "soKyHieu": "1/UBND",
        "loaiVanBan": "Công văn",
        "trichYeu": "x",
        "noiBanHanh": "Bắc Giang",
        "ngayBanHanh": "2024-11-22",
        "nguoiKy": {"chucVu": "Chủ tịch", "hoTen": "Nguyễn Văn A"},
    }
    sent = await client.post(f"{lgsp}/apiQLVB/1.0/guiVanBan", json=document, headers=headers)
    assert sent.status_code == 422, sent.text
    assert sorted(e["field"] for e in sent.json()["errors"]) == [
        "$.body.noiGui.maDonVi",
        "$.body.noiGui.tenDonVi",
        "$.body.noiNhan[0].tenDonVi",
    ]


async def test_operations_outside_the_contract_are_named(
    sandbox: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> None:
    lgsp = sandbox.url(LGSP)
    headers = await bearer(client, lgsp, topology_2022, MOTCUA)
    # WSO2's dispatcher refuses a resource the API does not publish, before any back end.
    unknown = await client.get(f"{lgsp}/apiCSDLDC/1.0/khongCo", headers=headers)
    fault = assert_fault(unknown, 404, 404, "unknown-operation")
    assert fault["description"] == "No matching resource found for given API Request"
    wrong_method = await client.delete(f"{lgsp}/apiCSDLDC/1.0/congDan", headers=headers)
    fault = assert_fault(wrong_method, 405, 405, "method-not-allowed")
    assert fault["description"] == "Method not allowed for given API resource"
    assert wrong_method.headers["allow"] == "GET"
    # The sandbox names the operations, for a caller that asks.
    unknown = await client.get(
        f"{lgsp}/apiCSDLDC/1.0/khongCo",
        headers={**headers, "Accept": "application/problem+json"},
    )
    assert unknown.status_code == 404
    assert unknown.json()["type"] == problem_type("unknown-operation")
    assert "GET /congDan" in unknown.json()["detail"]


async def test_catalog_names_each_contract_and_serves_its_openapi(
    sandbox: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> None:
    lgsp = sandbox.url(LGSP)
    headers = await bearer(client, lgsp, topology_2022, MOTCUA)
    catalog = (await client.get(f"{lgsp}/catalog", headers=headers)).json()
    population = next(s for s in catalog["services"] if s["code"] == "apiCSDLDC")
    assert population["contract"] == "vn.gov.csdldc.population"
    assert population["contract_version"] == "1.0"
    assert population["tier"] == "national" and population["healthy"] is True
    document = (await client.get(f"{lgsp}{population['openapi']}", headers=headers)).json()
    assert document["info"]["x-contract-id"] == "vn.gov.csdldc.population"
    assert document["servers"] == [{"url": f"{lgsp}/apiCSDLDC/1.0"}]
    assert "/congDan" in document["paths"]


def _broken_population() -> FastAPI:
    """An agency back end that claims the population contract but answers the wrong shape."""
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/congDan")
    async def lookup(soDinhDanh: str) -> dict[str, Any]:
        # the sex as a number where the contract has a string; no permanent address
        return {
            "SoCongDan": soDinhDanh,
            "CongDan": {
                "HoVaTen": {"Ho": "Nguyễn", "ChuDem": "Văn", "Ten": "An"},
                "NgayThangNamSinh": "15/01/1990",
                "GioiTinh": 1,
                "DanToc": "Kinh",
                "QueQuan": "Bắc Giang",
                "NoiOHienTai": {"ChiTiet": "1", "MaTinh": "24", "MaHuyen": "213", "MaXa": "1"},
                "SoHoKhau": "HGD024000001",
            },
        }

    return app


@asynccontextmanager
async def run_with_broken_population(
    data_dir: Path, settings: GatewaySettings | None = None
) -> AsyncIterator[tuple[RunningTopology, Topology]]:
    """The default topology with the population service moved to the broken back end."""
    sock = bind_socket("127.0.0.1", 0)
    host = NodeHost(lambda _: _broken_population())
    await host.start("broken", sock.getsockname()[1], sock)
    raw = yaml.safe_load((SHIPPED_DIR / "bac-giang-2022.yaml").read_text(encoding="utf-8"))
    population = next(s for s in raw["services"] if s["code"] == "apiCSDLDC")
    population.pop("backend")
    population["address"] = f"http://127.0.0.1:{sock.getsockname()[1]}"
    topology = Topology.model_validate(raw)
    try:
        async with run_topology(topology, data_dir, settings=settings) as running:
            yield running, topology
    finally:
        await host.stop("broken")


@pytest.fixture
async def broken_sandbox(tmp_path: Path) -> AsyncIterator[tuple[RunningTopology, Topology]]:
    async with run_with_broken_population(tmp_path) as pair:
        yield pair


async def test_a_back_end_breaking_its_contract_is_a_502_naming_service_and_fields(
    broken_sandbox: tuple[RunningTopology, Topology], client: httpx.AsyncClient
) -> None:
    running, topology = broken_sandbox
    lgsp = running.url(LGSP)
    headers = await bearer(client, lgsp, topology, MOTCUA)
    citizen = citizens(topology.seed, 1)[0]
    response = await client.get(
        f"{lgsp}/apiCSDLDC/1.0/congDan",
        params={"soDinhDanh": citizen.so_dinh_danh},
        headers=headers,
    )
    assert response.status_code == 502, response.text
    problem = response.json()
    assert problem["type"] == problem_type("contract-violation")
    assert problem["service"] == "apiCSDLDC"
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"$.body.CongDan.GioiTinh", "$.body.CongDan.NoiThuongTru"}
    records = await audit_records(
        client, running.url(NGSP), topology, NGSP, message_id=response.headers["X-Message-Id"]
    )
    assert [(r.status, r.outcome) for r in records] == [(502, "contract-violation")]


async def test_response_checking_can_be_switched_off(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    settings = fast_settings(tmp_path).model_copy(update={"validate_responses": False})
    async with run_with_broken_population(tmp_path, settings) as (running, topology):
        lgsp = running.url(LGSP)
        headers = await bearer(client, lgsp, topology, MOTCUA)
        response = await client.get(
            f"{lgsp}/apiCSDLDC/1.0/congDan",
            params={"soDinhDanh": "024090012345"},
            headers=headers,
        )
    assert response.status_code == 200
    assert response.json()["CongDan"]["GioiTinh"] == 1


async def test_the_early_check_can_be_turned_on_for_every_platform_by_setting(
    topology_2022: Topology, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    settings = fast_settings(tmp_path).model_copy(update={"validate_requests": True})
    async with run_topology(topology_2022, tmp_path, settings=settings) as running:
        lgsp = running.url(LGSP)
        headers = await bearer(client, lgsp, topology_2022, MOTCUA)
        response = await client.get(
            f"{lgsp}/apiCSDLDC/1.0/congDan", params={"soDinhDanh": "123"}, headers=headers
        )
        ngsp = await audit_records(
            client,
            running.url(NGSP),
            topology_2022,
            NGSP,
            message_id=response.headers["X-Message-Id"],
        )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["$.query.soDinhDanh"]
    assert ngsp == []  # refused at the LGSP
