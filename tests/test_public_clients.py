"""National services as public client code calls them, through the LGSP and NGSP unchanged:
OpenCPS's portal integration (DVCQGIntegrationActionImpl), its postal client
(VNPostManagementImpl), and Gia Lai's civil-status tool (paths and bodies in the contracts)."""

from __future__ import annotations

import httpx

from sandbox.harness import RunningTopology
from tests.helpers import bearer

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
