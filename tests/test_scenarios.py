"""X-Sandbox-Scenario: a back end's canned outcomes, chosen per call through LGSP and NGSP."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from apikit.headers import SANDBOX_SCENARIO
from contracts.openapi_store import load_document
from contracts.registry import contracts
from contracts.services.one_stop_shop import NEEDS_MORE_INFO
from contracts.topology import Topology
from sandbox.testing.harness import RunningTopology
from services.common.sampledata import citizens
from tests.helpers import assert_problem, audit_records, bearer, full_name

pytestmark = pytest.mark.sockets

LGSP, NGSP, MOTCUA = "lgsp-bac-giang", "ngsp", "motcua-bac-giang"
POPULATION = "/apiCSDLDC/1.0"
ONE_STOP_SHOP = "/apiMotCua/1.0"
POPULATION_SCENARIOS = ["citizen-not-found", "record-locked", "service-busy", "slow-answer"]


@pytest.fixture
async def headers(
    sandbox: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> dict[str, str]:
    return await bearer(client, sandbox.url(LGSP), topology_2022, MOTCUA)


def _dossier(key: str, citizen_id: str) -> dict[str, Any]:
    return {
        "maThamChieu": key,
        "maThuTuc": "1.011442.000.00.00.H04",
        "maDonVi": "000.00.01.H04",
        "soDinhDanh": citizen_id,
        "hoTen": "Nguyễn Văn An",
        "soDienThoai": "0912345678",
        "noiDung": "Đề nghị cấp giấy phép xây dựng",
    }


async def _lookup(
    sandbox: RunningTopology,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    citizen_id: str,
    scenario: str | None,
) -> httpx.Response:
    extra = {SANDBOX_SCENARIO: scenario} if scenario is not None else {}
    return await client.get(
        f"{sandbox.url(LGSP)}{POPULATION}/congDan",
        params={"soDinhDanh": citizen_id},
        headers={**headers, **extra},
    )


async def test_no_header_gets_the_usual_answer(
    sandbox: RunningTopology,
    topology_2022: Topology,
    client: httpx.AsyncClient,
    headers: dict[str, str],
) -> None:
    citizen = citizens(topology_2022.seed, 1)[0]
    response = await _lookup(sandbox, client, headers, citizen.so_dinh_danh, None)
    assert response.status_code == 200, response.text
    assert full_name(response.json()) == citizen.ho_ten
    assert SANDBOX_SCENARIO not in response.headers


@pytest.mark.parametrize(
    ("scenario", "status", "slug"),
    [("citizen-not-found", 404, "citizen-not-found"), ("record-locked", 423, "record-locked")],
)
async def test_population_canned_problem_through_lgsp_and_ngsp(
    sandbox: RunningTopology,
    topology_2022: Topology,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    scenario: str,
    status: int,
    slug: str,
) -> None:
    # A citizen who exists: the answer is the scenario's, not the data's.
    citizen = citizens(topology_2022.seed, 3)[2]
    response = await _lookup(sandbox, client, headers, citizen.so_dinh_danh, scenario)
    problem = assert_problem(response, status, slug)
    assert problem["scenario"] == scenario
    assert response.headers[SANDBOX_SCENARIO] == scenario
    message_id = response.headers["X-Message-Id"]
    for platform in (LGSP, NGSP):  # both hops passed the call on and logged the answer
        records = await audit_records(
            client, sandbox.url(platform), topology_2022, platform, message_id=message_id
        )
        assert [(r.service, r.status) for r in records] == [("apiCSDLDC", status)], platform


async def test_record_locked_also_applies_to_verification(
    sandbox: RunningTopology,
    topology_2022: Topology,
    client: httpx.AsyncClient,
    headers: dict[str, str],
) -> None:
    citizen = citizens(topology_2022.seed, 1)[0]
    response = await client.post(
        f"{sandbox.url(LGSP)}{POPULATION}/xacThucCongDan",
        json={
            "soDinhDanh": citizen.so_dinh_danh,
            "hoTen": citizen.ho_ten,
            "ngaySinh": citizen.ngay_sinh.isoformat(),
        },
        headers={**headers, SANDBOX_SCENARIO: "record-locked"},
    )
    assert_problem(response, 423, "record-locked")


async def test_service_busy_is_503_with_the_retry_after_asked_for(
    sandbox: RunningTopology,
    topology_2022: Topology,
    client: httpx.AsyncClient,
    headers: dict[str, str],
) -> None:
    citizen = citizens(topology_2022.seed, 1)[0]
    default = await _lookup(sandbox, client, headers, citizen.so_dinh_danh, "service-busy")
    assert_problem(default, 503, "service-busy")
    assert default.headers["Retry-After"] == "2"
    chosen = await _lookup(
        sandbox, client, headers, citizen.so_dinh_danh, "Service-Busy ; retry-after=7"
    )
    assert_problem(chosen, 503, "service-busy")
    assert chosen.headers["Retry-After"] == "7"
    # One success closes the count again, so the platforms' circuit stays closed.
    after = await _lookup(sandbox, client, headers, citizen.so_dinh_danh, None)
    assert after.status_code == 200


async def test_slow_answer_answers_correctly_after_the_delay_asked_for(
    sandbox: RunningTopology,
    topology_2022: Topology,
    client: httpx.AsyncClient,
    headers: dict[str, str],
) -> None:
    citizen = citizens(topology_2022.seed, 2)[1]
    started = time.monotonic()
    response = await _lookup(
        sandbox, client, headers, citizen.so_dinh_danh, "slow-answer;delay=0.2"
    )
    waited = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert response.json()["SoCongDan"] == citizen.so_dinh_danh
    assert response.headers[SANDBOX_SCENARIO] == "slow-answer"
    assert waited >= 0.2  # a lower bound only: a busy machine makes it longer, never shorter


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("slow-answer;delay=61", "delay: a number from 0 to 60"),
        ("slow-answer;delay=soon", "delay: a number from 0 to 60"),
        ("slow-answer;pause=1", "unknown parameter 'pause'"),
        ("service-busy;retry-after=1.5", "retry-after: a whole number from 0 to 3600"),
    ],
)
async def test_a_bad_parameter_is_400_naming_it(
    sandbox: RunningTopology,
    topology_2022: Topology,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    value: str,
    reason: str,
) -> None:
    citizen = citizens(topology_2022.seed, 1)[0]
    response = await _lookup(sandbox, client, headers, citizen.so_dinh_danh, value)
    problem = assert_problem(response, 400, "invalid-scenario-parameter")
    assert problem["errors"] == [{"field": f"$.headers.{SANDBOX_SCENARIO}", "reason": reason}]


async def test_an_unknown_scenario_is_400_listing_the_valid_ones(
    sandbox: RunningTopology,
    topology_2022: Topology,
    client: httpx.AsyncClient,
    headers: dict[str, str],
) -> None:
    citizen = citizens(topology_2022.seed, 1)[0]
    response = await _lookup(sandbox, client, headers, citizen.so_dinh_danh, "citizen-missing")
    problem = assert_problem(response, 400, "unknown-scenario")
    assert problem["valid_scenarios"] == POPULATION_SCENARIOS
    assert "citizen-missing" in problem["detail"]
    assert all(name in problem["detail"] for name in POPULATION_SCENARIOS)
    assert problem["errors"][0]["field"] == f"$.headers.{SANDBOX_SCENARIO}"


async def test_a_scenario_of_another_operation_is_400_listing_those_that_apply(
    sandbox: RunningTopology,
    topology_2022: Topology,
    client: httpx.AsyncClient,
    headers: dict[str, str],
) -> None:
    citizen = citizens(topology_2022.seed, 1)[0]
    response = await client.post(
        f"{sandbox.url(LGSP)}{POPULATION}/xacThucCongDan",
        json={
            "soDinhDanh": citizen.so_dinh_danh,
            "hoTen": citizen.ho_ten,
            "ngaySinh": citizen.ngay_sinh.isoformat(),
        },
        headers={**headers, SANDBOX_SCENARIO: "citizen-not-found"},
    )
    problem = assert_problem(response, 400, "scenario-not-applicable")
    assert problem["valid_scenarios"] == ["record-locked", "service-busy", "slow-answer"]
    assert problem["operations"] == ["GET /congDan"]


async def test_dossier_needs_more_info_is_a_valid_answer_for_that_call_only(
    sandbox: RunningTopology,
    topology_2022: Topology,
    client: httpx.AsyncClient,
    headers: dict[str, str],
) -> None:
    base = f"{sandbox.url(LGSP)}{ONE_STOP_SHOP}"
    citizen = citizens(topology_2022.seed, 1)[0]
    scenario = {SANDBOX_SCENARIO: "dossier-needs-more-info"}
    submitted = await client.post(
        f"{base}/hoSo",
        json=_dossier("scenario-needs-more-info-1", citizen.so_dinh_danh),
        headers={**headers, **scenario},
    )
    assert submitted.status_code == 201, submitted.text
    dossier = submitted.json()
    assert dossier["trangThai"] == NEEDS_MORE_INFO
    assert dossier["lichSu"] == ["Mới tiếp nhận", NEEDS_MORE_INFO]
    assert submitted.headers[SANDBOX_SCENARIO] == "dossier-needs-more-info"

    stored = await client.get(f"{base}/hoSo/{dossier['maHoSo']}", headers=headers)
    assert stored.status_code == 200
    assert stored.json()["trangThai"] == "Mới tiếp nhận"  # the data were not edited
    again = await client.get(f"{base}/hoSo/{dossier['maHoSo']}", headers={**headers, **scenario})
    assert again.status_code == 200
    assert again.json()["trangThai"] == NEEDS_MORE_INFO


@pytest.mark.parametrize(
    ("scenario", "status", "slug"),
    [("record-locked", 423, "record-locked"), ("service-busy", 503, "service-busy")],
)
async def test_one_stop_shop_canned_problems(
    sandbox: RunningTopology,
    topology_2022: Topology,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    scenario: str,
    status: int,
    slug: str,
) -> None:
    base = f"{sandbox.url(LGSP)}{ONE_STOP_SHOP}"
    citizen = citizens(topology_2022.seed, 1)[0]
    submitted = await client.post(
        f"{base}/hoSo", json=_dossier(f"scenario-{scenario}", citizen.so_dinh_danh), headers=headers
    )
    assert submitted.status_code in (200, 201), submitted.text
    response = await client.get(
        f"{base}/hoSo/{submitted.json()['maHoSo']}", headers={**headers, SANDBOX_SCENARIO: scenario}
    )
    assert_problem(response, status, slug)


async def test_slow_answer_of_the_one_stop_shop(
    sandbox: RunningTopology, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(
        f"{sandbox.url(LGSP)}{ONE_STOP_SHOP}/hoSo",
        params={"size": 1},
        headers={**headers, SANDBOX_SCENARIO: "slow-answer;delay=0.05"},
    )
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list)
    assert response.headers[SANDBOX_SCENARIO] == "slow-answer"


async def test_health_checks_ignore_the_header(
    sandbox: RunningTopology, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        f"{sandbox.url('population')}/healthz", headers={SANDBOX_SCENARIO: "service-busy"}
    )
    assert response.status_code == 200
    assert SANDBOX_SCENARIO not in response.headers


async def test_catalog_lists_each_back_ends_scenarios(
    sandbox: RunningTopology, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(f"{sandbox.url(LGSP)}/catalog", headers=headers)
    assert response.status_code == 200, response.text
    services = {s["code"]: s for s in response.json()["services"]}
    population = {s["name"]: s for s in services["apiCSDLDC"]["scenarios"]}
    assert list(population) == POPULATION_SCENARIOS
    assert population["citizen-not-found"]["status"] == 404
    assert population["citizen-not-found"]["operations"] == ["GET /congDan"]
    assert population["slow-answer"]["status"] is None
    one_stop = {s["name"]: s for s in services["apiMotCua"]["scenarios"]}
    assert list(one_stop) == [
        "dossier-needs-more-info",
        "record-locked",
        "service-busy",
        "slow-answer",
    ]
    assert one_stop["dossier-needs-more-info"]["status"] is None
    for service in services.values():  # every back end has at least the shared two
        names = {s["name"] for s in service["scenarios"]}
        assert {"service-busy", "slow-answer"} <= names, service["code"]


async def test_sandbox_namespace_lists_the_scenarios_of_every_service_it_routes(
    sandbox: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> None:
    """/_sandbox/scenarios: the same lists as the catalog, for all services, admin only."""
    for platform, expected in ((LGSP, 12), (NGSP, 9)):
        admin = next(c.id for c in topology_2022.consumers_at(platform) if "admin" in c.roles)
        headers = await bearer(client, sandbox.url(platform), topology_2022, admin)
        response = await client.get(f"{sandbox.url(platform)}/_sandbox/scenarios", headers=headers)
        assert response.status_code == 200, response.text
        listed = {s["code"]: s for s in response.json()}
        assert len(listed) == expected
        population = listed["apiCSDLDC"]
        assert population["path"] == "/apiCSDLDC/1.0/"
        assert [s["name"] for s in population["scenarios"]] == POPULATION_SCENARIOS


def test_every_contract_documents_its_scenarios_statuses() -> None:
    """The committed OpenAPI documents (what the platforms check answers against) name
    each scenario's status on each operation it applies to, and the 400 of a bad header."""
    for ref in contracts().values():
        document = load_document(ref.id, ref.version)
        assert document is not None, ref.id
        for path, item in document["paths"].items():
            for method, operation in item.items():
                name = f"{method.upper()} {path}"
                listed = [s["name"] for s in operation["x-sandbox-scenarios"]]
                assert listed == [s.name for s in ref.scenarios if s.applies_to(name)], name
                assert "400" in operation["responses"], name
                for scenario in ref.scenarios:
                    if scenario.status is not None and scenario.applies_to(name):
                        documented = operation["responses"][str(scenario.status)]
                        assert scenario.name in documented["description"], (ref.id, name)
