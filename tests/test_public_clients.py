"""National services as public client code calls them, through the LGSP and NGSP unchanged:
OpenCPS's portal integration (DVCQGIntegrationActionImpl), its postal client
(VNPostManagementImpl), and Gia Lai's civil-status tool (paths and bodies in the contracts)."""

from __future__ import annotations

import json

import httpx
import pytest

from contracts.services.postal import MOrder
from sandbox.testing.harness import RunningTopology
from tests.helpers import bearer

pytestmark = pytest.mark.sockets

LGSP = "lgsp-bac-giang"
NGSP = "ngsp"
MOTCUA = "motcua-bac-giang"
LGSP_AT_NGSP = "lgsp-bac-giang"


async def _headers(client: httpx.AsyncClient, sandbox: RunningTopology, at: str) -> dict[str, str]:
    consumer = MOTCUA if at == LGSP else LGSP_AT_NGSP
    return await bearer(client, sandbox.url(at), sandbox.topology, consumer)


async def test_opencps_logs_in_to_the_portal_then_reads_and_syncs(
    sandbox: RunningTopology, client: httpx.AsyncClient
) -> None:
    for at in (LGSP, NGSP):
        base = f"{sandbox.url(at)}/apiDVCQG/1.0"
        headers = await _headers(client, sandbox, at)
        login = {"username": "bacgiang.motcua", "password": "dvcqg-bac-giang-2022"}
        logged_in = await client.post(
            f"{base}/dangNhap", json=login, headers={**headers, "dstcode": "DVCQG"}
        )
        assert logged_in.status_code == 200, logged_in.text
        assert logged_in.json()["error_code"] == 0
        session = logged_in.json()["session"]
        envelope = {"session": session, "madonvi": "000.00.00.H04"}
        agencies = await client.post(
            f"{base}/chiaSeDanhMuc",
            json={**envelope, "service": "LayDanhMucCoQuan"},
            headers={**headers, "dstcode": "DVCQG"},
        )
        assert agencies.json()["error_code"] == "00" and agencies.json()["result"], agencies.text
        # The one conformance rule of issue 23 for the portal: isUpdating is a string.
        numeric = await client.post(
            f"{base}/dongBoHoSo",
            json={**envelope, "service": "DongBoHoSoMC", "isUpdating": 0, "data": []},
            headers=headers,
        )
        assert numeric.status_code == 422, numeric.text
        assert "$.body.isUpdating" in [e["field"] for e in numeric.json()["errors"]]
        without_session = await client.post(
            f"{base}/dongBoHoSo", json={"service": "LayDanhSachTTHC"}, headers=headers
        )
        assert without_session.json()["error_code"] != "00"


async def test_opencps_posts_cancels_and_tracks_vnpost_orders(
    sandbox: RunningTopology, client: httpx.AsyncClient
) -> None:
    order = MOrder.model_json_schema()["examples"][0]
    for at in (LGSP, NGSP):
        base = f"{sandbox.url(at)}/apiVNPostNGSP/p1.0"
        headers = await _headers(client, sandbox, at)
        number = f"OPENCPS-{at}"
        posted = await client.post(
            f"{base}/order/post", json={**order, "OrderNumber": number}, headers=headers
        )
        assert posted.status_code == 200, posted.text
        assert posted.json() == {"Status": "1", "Message": posted.json()["Message"]}
        # OpenCPS's getOrder: page by the last _id until its order shows up.
        last_id, found = None, None
        while found is None:
            params = {"pagesize": 1, **({"lastId": last_id} if last_id else {})}
            tracked = await client.get(f"{base}/order/tracking", params=params, headers=headers)
            assert tracked.status_code == 200, tracked.text
            page = tracked.json()
            assert {"_size", "_total_pages", "_returned", "_embedded"} <= set(page)
            docs = page["_embedded"]["rh:doc"]
            assert docs, f"{number} never showed up"
            found = next((d for d in docs if d["OrderNumber"] == number), None)
            last_id = docs[-1]["_id"]["$oid"]
        assert (found["StatusCode"], found["CustomerCode"]) == (1, order["CustomerCode"])
        cancel = {"CustomerCode": order["CustomerCode"], "OrderNumber": number}
        cancelled = await client.post(f"{base}/order/cancel", params=cancel, headers=headers)
        assert cancelled.json()["Status"] == "1", cancelled.text


async def test_gia_lai_s_civil_status_json_form_passes_both_platforms(
    sandbox: RunningTopology, client: httpx.AsyncClient
) -> None:
    data = {
        "cbsHoTen": {"Ho": "NGUYỄN", "ChuDem": "MINH", "Ten": "KHÔI"},
        "cbsNgaySinh": {"namSinh": "2021", "thangSinh": "06", "ngaySinh": "24"},
        "cbsGioiTinh": 1,
        "nycLoaiGiayToTuyThan": 4,
        "loaiBanSao": 0,
    }
    for at in (LGSP, NGSP):
        base = f"{sandbox.url(at)}/apiHoTichTuPhap/1.0"
        headers = await _headers(client, sandbox, at)
        record = {
            "maHoSoMCDT": f"H04.129-250812-{at}",
            "maHoSoLT": "BS",
            "module": "BS",
            "ngayTiepNhan": "12/08/2025 ",
            "maDonVi": "7204",
            "data": json.dumps(data, ensure_ascii=False),
        }
        answer = await client.post(f"{base}/dangKyHoTich", json=record, headers=headers)
        assert answer.status_code == 200 and answer.json()["status"] == 1, answer.text
        which = {"maDonVi": "7204", "maHoSo": record["maHoSoMCDT"]}
        status = await client.post(f"{base}/traTrangThaiHoSo", json=which, headers=headers)
        assert status.json()["status"] == 4, status.text
