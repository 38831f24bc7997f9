"""The shipped Bắc Giang topologies, end to end through the sample back ends."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from contracts.platform import TopologyReport
from contracts.problem import PROBLEM_MEDIA_TYPE
from contracts.topology import Topology
from sandbox.testing.harness import RunningTopology, run_topology
from sandbox.topology.loading import load_topology
from services.common.sampledata import citizens
from tests.helpers import assert_problem, audit_records, bearer, full_name

pytestmark = pytest.mark.sockets

LGSP = "lgsp-bac-giang"
NGSP = "ngsp"
MOTCUA = "motcua-bac-giang"


async def test_default_topology_counts_9_through_ngsp_and_3_intra_from_the_registry(
    sandbox: RunningTopology,
) -> None:
    lgsp = await sandbox.report(LGSP)
    assert (lgsp.national.registered, lgsp.national.reachable) == (9, 9)
    assert lgsp.intra is not None
    assert (lgsp.intra.registered, lgsp.intra.reachable) == (3, 3)
    assert lgsp.summary == "LGSP bac-giang: 9 services connected through NGSP, 3 intra-province"
    assert {s.route for s in lgsp.national.services} == {"upstream"}
    assert lgsp.upstream is not None and lgsp.upstream.healthy
    ngsp = await sandbox.report(NGSP)
    assert ngsp.downstream is not None
    assert [p.name for p in ngsp.downstream.platforms] == [LGSP]
    assert (ngsp.national.registered, ngsp.national.reachable) == (9, 9)


async def test_2023_topology_counts_13_through_ngsp_and_26_intra(tmp_path: Path) -> None:
    async with run_topology(load_topology("bac-giang-2023"), tmp_path) as running:
        lgsp = await running.report(LGSP)
    assert lgsp.summary == "LGSP bac-giang: 13 services connected through NGSP, 26 intra-province"
    assert lgsp.intra is not None
    assert (lgsp.national.reachable, lgsp.intra.reachable) == (13, 26)


async def test_citizen_lookup_goes_lgsp_ngsp_population_with_one_message_id(
    sandbox: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> None:
    citizen = citizens(topology_2022.seed, 10)[0]
    lgsp = sandbox.url(LGSP)
    headers = await bearer(client, lgsp, topology_2022, MOTCUA)
    response = await client.get(
        f"{lgsp}/apiCSDLDC/1.0/congDan",
        params={"soDinhDanh": citizen.so_dinh_danh},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert full_name(response.json()) == citizen.ho_ten
    message_id = response.headers["X-Message-Id"]
    for platform in (LGSP, NGSP):
        records = await audit_records(
            client, sandbox.url(platform), topology_2022, platform, message_id=message_id
        )
        assert [(r.service, r.status) for r in records] == [("apiCSDLDC", 200)], platform

    verify = await client.post(
        f"{lgsp}/apiCSDLDC/1.0/xacThucCongDan",
        json={
            "soDinhDanh": citizen.so_dinh_danh,
            "hoTen": citizen.ho_ten,
            "ngaySinh": citizen.ngay_sinh.isoformat(),
        },
        headers=headers,
    )
    assert verify.status_code == 200, verify.text
    assert verify.json()["khop"] is True


async def test_intra_province_dossier_never_reaches_ngsp(
    sandbox: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> None:
    lgsp = sandbox.url(LGSP)
    headers = await bearer(client, lgsp, topology_2022, MOTCUA)
    response = await client.get(f"{lgsp}/apiKhoDuLieu/1.0/danhMucDuLieu", headers=headers)
    assert response.status_code == 200, response.text
    message_id = response.headers["X-Message-Id"]
    here = await audit_records(client, lgsp, topology_2022, LGSP, message_id=message_id)
    there = await audit_records(
        client, sandbox.url(NGSP), topology_2022, NGSP, message_id=message_id
    )
    assert len(here) == 1 and there == []


@pytest.fixture
async def own_sandbox(topology_2022: Topology, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A sandbox of this test's own, free to stop nodes in."""
    async with run_topology(topology_2022, tmp_path) as running:
        yield running


def _counts(report: TopologyReport) -> tuple[int, int, int, int]:
    assert report.intra is not None
    return (
        report.national.registered,
        report.national.reachable,
        report.intra.registered,
        report.intra.reachable,
    )


async def test_stopped_back_ends_show_unhealthy_and_calls_fail_fast_with_problems(
    own_sandbox: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> None:
    lgsp = own_sandbox.url(LGSP)
    headers = await bearer(client, lgsp, topology_2022, MOTCUA)

    await own_sandbox.stop("e-office")
    report = await own_sandbox.wait_until(LGSP, lambda r: _counts(r)[3] == 2)
    assert report.summary == (
        "LGSP bac-giang: 9 services connected through NGSP, 2 intra-province (3 registered)"
    )
    assert report.intra is not None
    down = next(s for s in report.intra.services if s.code == "apiQLVB")
    assert down.healthy is False and down.detail
    body = assert_problem(
        await client.get(
            f"{lgsp}/apiQLVB/1.0/vanBanDen", params={"maDonVi": "000.00.01.H04"}, headers=headers
        ),
        502,
        "backend-unreachable",
    )
    assert "apiQLVB" in body["detail"]

    await own_sandbox.stop("tax")
    report = await own_sandbox.wait_until(LGSP, lambda r: _counts(r)[1] == 8)
    assert report.summary == (
        "LGSP bac-giang: 8 services connected through NGSP (9 registered), "
        "2 intra-province (3 registered)"
    )
    # NGSP's own problem reaches the caller through the LGSP unchanged.
    assert_problem(
        await client.get(
            f"{lgsp}/apiThue/1.0/trangThaiNNT", params={"mst": "0100000001"}, headers=headers
        ),
        502,
        "backend-unreachable",
    )

    await own_sandbox.start("e-office")
    await own_sandbox.start("tax")
    report = await own_sandbox.wait_until(LGSP, lambda r: _counts(r) == (9, 9, 3, 3))
    assert report.summary.endswith("9 services connected through NGSP, 3 intra-province")


async def test_ngsp_down_makes_every_national_service_unreachable_from_the_lgsp(
    own_sandbox: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> None:
    lgsp = own_sandbox.url(LGSP)
    headers = await bearer(client, lgsp, topology_2022, MOTCUA)
    await own_sandbox.stop(NGSP)
    report = await own_sandbox.wait_until(LGSP, lambda r: _counts(r) == (9, 0, 3, 3))
    assert report.upstream is not None and report.upstream.healthy is False
    response = await client.get(
        f"{lgsp}/apiCSDLDC/1.0/congDan", params={"soDinhDanh": "024090000001"}, headers=headers
    )
    assert response.status_code == 502
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
