"""Who may name, recall and answer an official document (issue 20, items 2 and 3).

A DocumentId is `{organ},{date},{number}`: its organ is the sender's. A revocation, update or
replacement comes from the sender of the document it names and reaches only that document's
receivers. A status lands on the document its ResponseFor names by DocumentId *and* sender,
and only from a receiver of it. Each reproduction of the issue is run here over real sockets,
through the axis (`/vxp`, as the SDK calls it) and `/documents`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from contracts.edxml import DocumentPackage, DocumentView
from contracts.edxml.xml import package_to_xml
from sandbox.testing.harness import RunningTopology, run_topology
from sandbox.topology.loading import DEFAULT_TOPOLOGY, load_topology
from tests.document_topology import BG_NOIVU, BG_OFFICE, BG_STTTT, BN_OFFICE, delivery_settings
from tests.helpers import assert_problem, bearer
from tests.test_axis_sdk import (
    LGSP,
    SNV,
    VPUBND,
    axis_topology,
    eventually,
    fail,
    ok,
    package_to,
    sdk,
)
from tests.test_documents_edxml import fixture

pytestmark = pytest.mark.sockets

PUSH_MAILBOX = "e-office-stttt"  # BG_STTTT's back end, pushed to


@pytest.fixture(scope="module")
async def axis(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningTopology]:
    data = tmp_path_factory.mktemp("trust")
    async with run_topology(axis_topology(), data, settings=delivery_settings(data)) as run:
        yield run


def with_document_id(package: DocumentPackage, document_id: str) -> DocumentPackage:
    return package.model_copy(update={"documentId": document_id})


def revocation(sender: str, target: str, *receivers: str, in_bussiness: bool) -> bytes:
    """A revocation of `target`: named in Bussiness/DocumentId (its own DocumentId then its
    sender's next number), or, as the vendor's sample writes it, only as the MessageHeader's
    DocumentId with BussinessDocType 1."""
    base = package_to(str(time.time_ns() % 10**9), *receivers, sender=sender)
    data = base.model_dump(by_alias=True)
    data["bussiness"] = {"bussinessDocType": 1, "bussinessDocReason": "Thu hồi"}
    if in_bussiness:
        data["bussiness"]["documentId"] = target
    else:
        data["documentId"] = target
    return package_to_xml(DocumentPackage.model_validate(data))


async def mailbox_status(client: httpx.AsyncClient, run: RunningTopology, doc_id: str) -> Any:
    response = await client.get(f"{run.url(PUSH_MAILBOX)}/nhanVanBan/{doc_id}")
    return response.json()["status"] if response.status_code == 200 else None


async def test_a_document_id_names_its_senders_organ(
    axis: RunningTopology, client: httpx.AsyncClient
) -> None:
    genuine = package_to("3101", BG_STTTT)
    # Home Affairs (000.00.05.H04) sends as itself, with the provincial office's DocumentId
    decoy = with_document_id(package_to("3102", BG_STTTT, sender=BG_NOIVU), genuine.documentId)
    reply = fail(await sdk(axis, client, SNV).send(package_to_xml(decoy)), 422, "organ")
    assert BG_OFFICE in reply["ErrorDesc"]
    noivu = await bearer(client, axis.url(LGSP), axis.topology, "noivu-bac-giang")
    response = await client.post(
        f"{axis.url(LGSP)}/documents",
        content=package_to_xml(decoy),
        headers={**noivu, "Content-Type": "application/xml"},
    )
    problem = assert_problem(response, 422, "document-id-not-senders")
    assert [e["field"] for e in problem["errors"]] == ["$.documentId"]


async def test_only_the_sender_recalls_its_document_and_only_at_its_receivers(
    axis: RunningTopology, client: httpx.AsyncClient
) -> None:
    office = sdk(axis, client, VPUBND)
    genuine = package_to("3201", BG_STTTT)
    doc_id = ok(await office.send(package_to_xml(genuine)))["DocId"]
    assert await eventually(lambda: mailbox_status(client, axis, doc_id), "the push") == "01"

    # another agency's revocation naming it: not a document it sent
    snv = sdk(axis, client, SNV)
    forged = revocation(BG_NOIVU, genuine.documentId, BG_STTTT, in_bussiness=True)
    fail(await snv.send(forged, "revocation"), 422, "sent by")
    # the same through /documents
    noivu = await bearer(client, axis.url(LGSP), axis.topology, "noivu-bac-giang")
    response = await client.post(
        f"{axis.url(LGSP)}/documents",
        content=forged,
        headers={**noivu, "Content-Type": "application/xml"},
    )
    assert_problem(response, 422, "unknown-related-document")

    # the sender's revocation addressed to an agency that never received the document
    stranger = revocation(BG_OFFICE, genuine.documentId, BG_NOIVU, in_bussiness=True)
    fail(await office.send(stranger, "revocation"), 422, "did not receive")

    assert await mailbox_status(client, axis, doc_id) == "01"  # nothing recalled it

    # the sender's own revocation, written as the vendor sample writes it: BussinessDocType 1
    # and no Bussiness/DocumentId, the target being the MessageHeader's DocumentId
    real = revocation(BG_OFFICE, genuine.documentId, BG_STTTT, in_bussiness=False)
    ok(await office.send(real, "revocation"))
    assert await eventually(lambda: _recalled(client, axis, doc_id), "the recall at the receiver")


async def _recalled(client: httpx.AsyncClient, run: RunningTopology, doc_id: str) -> bool:
    return await mailbox_status(client, run, doc_id) == "13"


async def test_a_revocation_without_any_document_id_names_the_field_never_the_root(
    axis: RunningTopology, client: httpx.AsyncClient
) -> None:
    qlvb = await bearer(client, axis.url(LGSP), axis.topology, "qlvb-bac-giang")
    body = package_to("3301", BG_STTTT).model_dump(mode="json", by_alias=True)
    body["bussiness"] = {"bussinessDocType": 2}  # an update names its document in Bussiness
    response = await client.post(
        f"{axis.url(LGSP)}/documents",
        content=json.dumps(body),
        headers={**qlvb, "Content-Type": "application/json"},
    )
    problem = assert_problem(response, 422, "validation-error")
    assert [e["field"] for e in problem["errors"]] == ["$.bussiness.documentId"]


async def test_a_status_lands_on_the_document_of_the_sender_it_names(
    axis: RunningTopology, client: httpx.AsyncClient
) -> None:
    # the genuine document E, from the provincial office to Home Affairs' inbox
    office = sdk(axis, client, VPUBND)
    genuine = package_to("3401", BG_NOIVU)
    genuine_id = ok(await office.send(package_to_xml(genuine)))["DocId"]
    # a decoy with the same DocumentId E from another organ, handed over by NGSP afterwards
    # (a platform's hand-over is trusted for routing, not for whom a status belongs to)
    decoy = with_document_id(package_to("3402", BG_NOIVU, sender=BN_OFFICE), genuine.documentId)
    topology = axis.topology
    ngsp_agency = topology.platforms["ngsp"].agency
    peer = next(c for c in topology.consumers if c.platform == LGSP and c.agency == ngsp_agency)
    decoy_id = f"doc-decoy-{time.time_ns():x}"
    handover = {
        "id": decoy_id,
        "kind": "new",
        "receivers": [BG_NOIVU],
        "originPlatform": "lgsp-bac-ninh",
        "fromPlatform": "ngsp",
        "messageId": "decoy",
        "package": decoy.model_dump(mode="json", by_alias=True),
    }
    headers = await bearer(client, axis.url(LGSP), topology, peer.id)
    relayed = await client.post(
        f"{axis.url(LGSP)}/documents/relay",
        content=json.dumps(handover),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert relayed.status_code == 202, relayed.text

    # Home Affairs rejects (02) the provincial office's document E, through sendEdoc
    status = fixture("status-03.edxml").replace(
        b"000.00.01.H04,2026/11/20,1234/UBND-KGVX", genuine.documentId.encode()
    )
    status = status.replace(b"<edXML:StatusCode>03", b"<edXML:StatusCode>02")
    assert ok(await sdk(axis, client, SNV).send(status, messagetype="status"))["DocId"] == (
        genuine_id
    )

    async def rejected() -> bool:
        rows = (await office.call("getSentEdocList", {"docId": genuine_id}))["data"]
        return [r["receiveStatus"] for r in rows] == ["rejection"]

    await eventually(rejected, "the rejection at the real sender")
    noivu = await bearer(client, axis.url(LGSP), topology, "noivu-bac-giang")
    decoy_view = await client.get(f"{axis.url(LGSP)}/documents/{decoy_id}", headers=noivu)
    assert decoy_view.status_code == 200, decoy_view.text
    assert all(
        r.statusCode != "02" for r in DocumentView.model_validate(decoy_view.json()).receivers
    )

    # posted on the decoy's id, the status names another sender than the decoy's
    response = await client.post(
        f"{axis.url(LGSP)}/documents/{decoy_id}/status",
        content=status,
        headers={**noivu, "Content-Type": "application/xml"},
    )
    problem = assert_problem(response, 422, "status-mismatch")
    assert "$.responseFor.organId" in [e["field"] for e in problem["errors"]]

    # and only a receiver answers: the sender itself cannot post a status on its document
    qlvb = await bearer(client, axis.url(LGSP), topology, "qlvb-bac-giang")
    response = await client.post(
        f"{axis.url(LGSP)}/documents/{genuine_id}/status",
        content=status,
        headers={**qlvb, "Content-Type": "application/xml"},
    )
    assert_problem(response, 404, "document-not-found")


async def test_one_package_through_both_channels_of_one_agency_is_one_document(
    axis: RunningTopology, client: httpx.AsyncClient
) -> None:
    package = package_to_xml(package_to("3501", BG_STTTT))
    via_axis = ok(await sdk(axis, client, VPUBND).send(package))["DocId"]
    qlvb = await bearer(client, axis.url(LGSP), axis.topology, "qlvb-bac-giang")
    again = await client.post(
        f"{axis.url(LGSP)}/documents",
        content=package,
        headers={**qlvb, "Content-Type": "application/xml"},
    )
    assert again.status_code == 202, again.text
    assert again.json()["id"] == via_axis
    assert again.headers["Idempotent-Replayed"] == "true"
    # the other way round as well
    package = package_to_xml(package_to("3502", BG_STTTT))
    first = await client.post(
        f"{axis.url(LGSP)}/documents",
        content=package,
        headers={**qlvb, "Content-Type": "application/xml"},
    )
    assert first.status_code == 202, first.text
    assert ok(await sdk(axis, client, VPUBND).send(package))["DocId"] == first.json()["id"]


# -- the axis's signature (item 4) ----------------------------------------------------------


async def test_captured_headers_do_not_serve_an_operation_the_sdk_signs_otherwise(
    axis: RunningTopology, client: httpx.AsyncClient
) -> None:
    base = f"{axis.url(LGSP)}/vxp"
    # getAgenciesList headers of a system not entitled to register: no registration
    snv = sdk(axis, client, SNV)
    snv.headers["Content-Type"] = "application/json"
    captured = snv.signed_headers()
    ok(await client.post(f"{base}/getAgenciesList", headers=captured))
    registration = json.dumps({"code": "000.09.09.H04", "name": "Phòng giả"}).encode()
    fail(
        await client.post(f"{base}/registerAgency", headers=captured, content=registration),
        403,
        "registers_agencies",
    )
    fail(await client.post(f"{base}/deleteAgency", headers=captured), 403, "entitle")
    codes = [a["code"] for a in (await sdk(axis, client, VPUBND).call("getAgenciesList"))["data"]]
    assert "000.09.09.H04" not in codes

    # sendEdoc as GET: a method the SDK never uses for it
    office = sdk(axis, client, VPUBND)
    package = package_to_xml(package_to("3601", BG_STTTT))
    sent = await office.send(package)
    ok(sent)
    # what an eavesdropper keeps: the signed headers, not the framing of that one request
    send_headers = {
        k: v for k, v in sent.request.headers.items() if k.lower().startswith("xroadvnpt-")
    }
    response = await client.request(
        "GET", f"{base}/sendEdoc", headers=send_headers, content=package + b"\r\n"
    )
    fail(response, 405, "post")

    # sendEdoc's headers (octet-stream signed) on a JSON operation, and a JSON call's on sendEdoc
    send_headers["XroadVnpt-docId"] = "whatever"
    fail(await client.post(f"{base}/getEdoc", headers=send_headers), 403, "another operation")
    fail(
        await client.post(f"{base}/sendEdoc", headers=captured, content=package),
        403,
        "another operation",
    )


async def test_the_timestamp_is_bounded_in_days(
    axis: RunningTopology, client: httpx.AsyncClient
) -> None:
    for stamp in ("01010001T000000+0000", "31129999T235959+0999", "01012020T080000+0000"):
        old = sdk(axis, client, VPUBND)
        old.headers["timestamp"] = stamp
        fail(await old.raw("getAgenciesList", {}), 403, "window")
    # what the SDK writes: the time its service object was made, days ago included
    week_old = sdk(axis, client, VPUBND)
    then = datetime.now() - timedelta(days=7)
    week_old.headers["timestamp"] = then.strftime("%d%m%YT%H%M%S") + "+0000"
    ok(await week_old.raw("getAgenciesList", {}))


async def test_the_platform_operators_credential_reads_no_agencys_documents(
    axis: RunningTopology, client: httpx.AsyncClient
) -> None:
    admin = next(c for c in axis.topology.consumers if c.id == "lgsp-bac-giang-admin")
    assert admin.agency is None
    doc_id = ok(await sdk(axis, client, VPUBND).send(package_to_xml(package_to("3701", BG_STTTT))))[
        "DocId"
    ]
    headers = await bearer(client, axis.url(LGSP), axis.topology, admin.id)
    for path in (f"/documents/{doc_id}", f"/documents/{doc_id}/package", "/documents/inbox"):
        assert_problem(
            await client.get(f"{axis.url(LGSP)}{path}", headers=headers), 403, "no-agency"
        )
    # it still administers
    listed = await client.get(f"{axis.url(LGSP)}/admin/consumers", headers=headers)
    assert listed.status_code == 200, listed.text
    assert next(c for c in listed.json() if c["id"] == admin.id)["agency"] is None


def test_a_shipped_preset_requires_signatures_and_the_default_verifies_them_if_present() -> None:
    signed = load_topology("bac-giang-2022-signed")
    assert signed.platforms[LGSP].document_signatures == "required"
    assert signed.platforms["ngsp"].document_signatures == "verify-if-present"
    default = load_topology(DEFAULT_TOPOLOGY)
    assert {p.document_signatures for p in default.platforms.values()} == {"verify-if-present"}
    # the same nodes as the default, so Compose serves it too
    assert set(signed.platforms) == set(default.platforms)
    assert set(signed.backends) == set(default.backends)
