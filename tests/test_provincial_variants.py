"""Provincial variants, per platform in the topology: unversioned paths, and the Hậu Giang
LGSP's `lgspaccesstoken` header in place of a bearer token. Off by default (WSO2's shape)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from contracts.services.civil_status import NhanHoSoDKHT
from contracts.topology import Topology
from sandbox.testing.harness import RunningTopology, run_topology
from services.common.sampledata import citizens
from tests.helpers import assert_fault, audit_records, bearer, credentials

pytestmark = pytest.mark.sockets

LGSP = "lgsp-bac-giang"
MOTCUA = "motcua-bac-giang"


def _with_variants(topology: Topology) -> Topology:
    lgsp = topology.platforms[LGSP].model_copy(
        update={
            "unversioned_paths": True,
            "lgsp_access_token": True,
            "context_aliases": {
                "hotich": "apiHoTichTuPhap",
                "apiLienThongKSKT": "apiHoTichTuPhap",
            },
        }
    )
    return topology.model_copy(update={"platforms": {**topology.platforms, LGSP: lgsp}})


@pytest.fixture(scope="module")
async def variants(
    topology_2022: Topology, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningTopology]:
    data = tmp_path_factory.mktemp("variants")
    async with run_topology(_with_variants(topology_2022), data) as running:
        yield running


def _lgsp_access_token(key: str, secret: str) -> str:
    fields = {
        "AccessKey": key,
        "SecretKey": secret,
        "AppName": "motcua",
        "PartnerCode": "000.00.01.H04",
        "PartnerCodeCus": "000.00.01.H04",
    }
    return base64.b64encode(json.dumps(fields).encode()).decode()


async def test_a_service_answers_with_and_without_its_version(
    variants: RunningTopology, client: httpx.AsyncClient
) -> None:
    lgsp = variants.url(LGSP)
    headers = await bearer(client, lgsp, variants.topology, MOTCUA)
    citizen = citizens(variants.topology.seed, 1)[0].so_dinh_danh
    versioned = await client.get(
        f"{lgsp}/apiCSDLDC/1.0/congDan", params={"soDinhDanh": citizen}, headers=headers
    )
    unversioned = await client.get(
        f"{lgsp}/apiCSDLDC/congDan", params={"soDinhDanh": citizen}, headers=headers
    )
    assert versioned.status_code == unversioned.status_code == 200, unversioned.text
    assert unversioned.json() == versioned.json()
    [record] = await audit_records(
        client, lgsp, variants.topology, LGSP, message_id=unversioned.headers["X-Message-Id"]
    )
    assert (record.service, record.version) == ("apiCSDLDC", "1.0")


async def test_the_lgspaccesstoken_header_authenticates_each_call(
    variants: RunningTopology, client: httpx.AsyncClient
) -> None:
    lgsp = variants.url(LGSP)
    key, secret = credentials(variants.topology, MOTCUA)
    citizen = citizens(variants.topology.seed, 1)[0].so_dinh_danh
    url = f"{lgsp}/apiCSDLDC/1.0/congDan"
    good = await client.get(
        url,
        params={"soDinhDanh": citizen},
        headers={"lgspaccesstoken": _lgsp_access_token(key, secret)},
    )
    assert good.status_code == 200, good.text
    [record] = await audit_records(
        client, lgsp, variants.topology, LGSP, message_id=good.headers["X-Message-Id"]
    )
    assert record.consumer == MOTCUA
    wrong = await client.get(
        url,
        params={"soDinhDanh": citizen},
        headers={"lgspaccesstoken": _lgsp_access_token(key, "not-the-secret")},
    )
    assert_fault(wrong, 401, 900901)
    garbled = await client.get(url, headers={"lgspaccesstoken": "%%% not base64"})
    assert_fault(garbled, 401, 900901)


async def test_without_the_options_the_platform_answers_as_wso2_does(
    sandbox: RunningTopology, client: httpx.AsyncClient
) -> None:
    lgsp = sandbox.url(LGSP)
    key, secret = credentials(sandbox.topology, MOTCUA)
    headers = await bearer(client, lgsp, sandbox.topology, MOTCUA)
    assert_fault(await client.get(f"{lgsp}/apiCSDLDC/congDan", headers=headers), 404, 404)
    only_lgsp_token = await client.get(
        f"{lgsp}/apiCSDLDC/1.0/congDan",
        headers={"lgspaccesstoken": _lgsp_access_token(key, secret)},
    )
    assert_fault(only_lgsp_token, 401, 900902)


async def test_a_province_s_own_context_answers_as_the_service(
    variants: RunningTopology, client: httpx.AsyncClient
) -> None:
    """Gia Lai's client posts civil status to /hotich/1.0/dangKyHoTich (its LGSP's context)."""
    lgsp = variants.url(LGSP)
    headers = await bearer(client, lgsp, variants.topology, MOTCUA)
    which = {"maDonVi": "7204", "maHoSo": "HT-ALIAS-1"}
    answer = await client.post(f"{lgsp}/hotich/1.0/traTrangThaiHoSo", json=which, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["errorCode"] == 201  # the registry's own answer: no such dossier
    [record] = await audit_records(
        client, lgsp, variants.topology, LGSP, message_id=answer.headers["X-Message-Id"]
    )
    assert (record.service, record.version) == ("apiHoTichTuPhap", "1.0")
    joint = NhanHoSoDKHT.model_json_schema()["examples"][0]
    received = await client.post(
        f"{lgsp}/apiLienThongKSKT/1.0/nhanHoSoDKHT", json=joint, headers=headers
    )
    assert received.status_code == 200 and received.json()["status"] == 1, received.text


def test_an_alias_must_name_a_service_and_not_shadow_one(topology_2022: Topology) -> None:
    raw = topology_2022.model_dump(mode="json")
    raw["platforms"][LGSP]["context_aliases"] = {"apiCSDLDC": "apiHoTichTuPhap", "hotich": "apiNo"}
    with pytest.raises(ValueError) as refused:
        Topology.model_validate(raw)
    assert "context_aliases.apiCSDLDC" in str(refused.value)
    assert "'apiNo' is no service" in str(refused.value)
