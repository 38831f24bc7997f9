"""Official documents between agencies: store-and-forward through LGSP and NGSP."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.edxml import DocumentPackage, DocumentView
from contracts.edxml.xml import package_from_xml, package_to_xml
from sandbox.testing.harness import RunningTopology, run_topology
from tests.document_topology import (
    BG_NOIVU,
    BG_OFFICE,
    BG_STTTT,
    BN_OFFICE,
    GOV_OFFICE,
    OTHER_EOFFICE,
    OTHER_LGSP,
    delivery_settings,
    document_topology,
)
from tests.helpers import assert_problem, audit_records, bearer

pytestmark = pytest.mark.sockets

LGSP = "lgsp-bac-giang"
SENDER = "qlvb-bac-giang"
# The organs the platforms write into TraceHeader as they pass a package on.
LGSP_ORGAN = "000.00.12.H04"
NGSP_ORGAN = "000.00.00.G10"
OTHER_LGSP_ORGAN = "000.00.12.H06"


_NUMBERS: dict[str, int] = {}


def package(
    to: list[str],
    key: str,
    *,
    attachments: int = 0,
    kind: int = 0,
    related: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A package in the JSON projection of edXML; `key` picks its number and notation, so
    its DocumentId (the default idempotency key) is the same for the same key."""
    number = _NUMBERS.setdefault(key, len(_NUMBERS) + 1)
    files = [
        {
            "contentId": f"cid:{key}-{i}",
            "contentType": "application/pdf",
            "attachmentName": f"Tệp đính kèm {i}.pdf",
            "value": base64.b64encode(os.urandom(2048 + i)).decode(),
        }
        for i in range(attachments)
    ]
    bussiness: dict[str, Any] = {"bussinessDocType": kind}
    if kind in (1, 2) and related:
        bussiness["documentId"] = related
    if kind == 3 and related:
        bussiness["replacementInfoList"] = [{"documentId": related, "organIdList": to}]
    return {
        "from": {"organId": BG_OFFICE, "organName": "Văn phòng UBND tỉnh Bắc Giang"},
        "to": [{"organId": code, "organName": f"Cơ quan {code}"} for code in to],
        "code": {"codeNumber": str(number), "codeNotation": f"UBND-{key}"[:100]},
        "promulgationInfo": {"place": "Bắc Giang", "promulgationDate": "2026/11/20"},
        "documentType": {"type": 1, "typeName": "Công văn"},
        "subject": "Về việc thử nghiệm liên thông văn bản",
        "signerInfo": {"position": "Chánh Văn phòng", "fullName": "Trần Thị Bình"},
        "bussiness": bussiness,
        "attachments": files,
        **extra,
    }


def document_id(body: dict[str, Any]) -> str:
    code = body["code"]
    return f"{BG_OFFICE},2026/11/20,{code['codeNumber']}/{code['codeNotation']}"


@pytest.fixture(scope="module")
async def docs(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningTopology]:
    data = tmp_path_factory.mktemp("documents")
    async with run_topology(document_topology(), data, settings=delivery_settings(data)) as run:
        yield run


async def headers_for(
    client: httpx.AsyncClient, run: RunningTopology, consumer: str, platform: str = LGSP
) -> dict[str, str]:
    return await bearer(client, run.url(platform), run.topology, consumer)


async def send(
    client: httpx.AsyncClient, run: RunningTopology, body: dict[str, Any], **kw: Any
) -> httpx.Response:
    auth = await headers_for(client, run, SENDER)
    return await client.post(f"{run.url(LGSP)}/documents", json=body, headers=auth, **kw)


async def wait_final(
    client: httpx.AsyncClient,
    run: RunningTopology,
    doc_id: str,
    within: float = 15.0,
    consumer: str = SENDER,
) -> DocumentView:
    auth = await headers_for(client, run, consumer)
    deadline = time.monotonic() + within
    while True:
        response = await client.get(f"{run.url(LGSP)}/documents/{doc_id}", headers=auth)
        assert response.status_code == 200, response.text
        view = DocumentView.model_validate(response.json())
        if view.final and all(r.statusCode for r in view.receivers if r.state == "delivered"):
            return view
        assert time.monotonic() < deadline, f"not final: {view.model_dump_json(indent=1)}"
        await asyncio.sleep(0.05)


async def mailbox(client: httpx.AsyncClient, run: RunningTopology, node: str) -> dict[str, Any]:
    response = await client.get(f"{run.url(node)}/nhanVanBan")
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


async def test_intra_province_document_arrives_once_with_attachments_intact(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    body = package([BG_STTTT], "intra-1", attachments=2)
    response = await send(client, docs, body)
    assert response.status_code == 202, response.text
    doc_id = response.json()["id"]
    assert response.headers["Location"] == f"/documents/{doc_id}"

    view = await wait_final(client, docs, doc_id)
    assert [(r.organId, r.state, r.statusCode) for r in view.receivers] == [
        (BG_STTTT, "delivered", "01")
    ]
    stored = (await client.get(f"{docs.url('e-office-stttt')}/nhanVanBan/{doc_id}")).json()
    assert stored["deliveries"] == 1
    sent = {
        a["contentId"]: hashlib.sha256(base64.b64decode(a["value"])).hexdigest()
        for a in body["attachments"]
    }
    got = {
        a["contentId"]: hashlib.sha256(base64.b64decode(a["value"])).hexdigest()
        for a in stored["package"]["attachments"]
    }
    assert got == sent
    assert [t["organId"] for t in stored["package"]["traceHeaderList"]] == [LGSP_ORGAN]
    # the other agency's e-office and NGSP never saw it
    assert doc_id not in (await mailbox(client, docs, "e-office"))["documents"]
    ngsp_audit = await audit_records(client, docs.url("ngsp"), docs.topology, "ngsp")
    assert all(r.message_id != response.headers["X-Message-Id"] for r in ngsp_audit)


async def test_same_idempotency_key_twice_gives_one_document(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    body = package([BG_STTTT], "idem-7", attachments=1)
    first, second = await send(client, docs, body), await send(client, docs, body)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    await wait_final(client, docs, first.json()["id"])
    box = await mailbox(client, docs, "e-office-stttt")
    assert box["documents"].count(first.json()["id"]) == 1

    changed = {**body, "subject": "Một nội dung khác"}
    conflict = await send(client, docs, changed)
    problem = assert_problem(conflict, 409, "idempotency-key-reused")
    assert problem["document_id"] == first.json()["id"]


async def test_xml_envelope_in_and_out(docs: RunningTopology, client: httpx.AsyncClient) -> None:
    model = DocumentPackage.model_validate(package([BG_STTTT], "xml-3", attachments=1))
    xml = package_to_xml(model)
    assert b"<edXML:edXMLEnvelope" in xml and "Văn phòng".encode() in xml
    auth = await headers_for(client, docs, SENDER)
    response = await client.post(
        f"{docs.url(LGSP)}/documents",
        content=xml,
        headers={**auth, "Content-Type": "application/xml"},
    )
    assert response.status_code == 202, response.text
    doc_id = response.json()["id"]
    back = await client.get(
        f"{docs.url(LGSP)}/documents/{doc_id}/package",
        headers={**auth, "Accept": "application/xml"},
    )
    assert back.headers["content-type"].startswith("application/xml")
    again = package_from_xml(back.content)
    assert again.model_copy(update={"traceHeaderList": []}) == model
    assert [t.organId for t in again.traceHeaderList] == [LGSP_ORGAN]


async def test_document_to_another_province_passes_through_ngsp_and_statuses_flow_back(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    response = await send(client, docs, package([BN_OFFICE], "cross-11", attachments=1))
    assert response.status_code == 202, response.text
    doc_id, message_id = response.json()["id"], response.headers["X-Message-Id"]
    view = await wait_final(client, docs, doc_id)
    assert view.receivers[0].state == "delivered"
    stored = (await client.get(f"{docs.url(OTHER_EOFFICE)}/nhanVanBan/{doc_id}")).json()
    hops = [t["organId"] for t in stored["package"]["traceHeaderList"]]
    assert hops == [LGSP_ORGAN, NGSP_ORGAN, OTHER_LGSP_ORGAN]
    for platform in (LGSP, "ngsp", OTHER_LGSP):
        records = await audit_records(
            client, docs.url(platform), docs.topology, platform, message_id=message_id
        )
        assert records, f"no audit record at {platform}"

    # the receiver in Bắc Ninh accepts it; the sender in Bắc Giang sees that
    bn = await headers_for(client, docs, "qlvb-bac-ninh", OTHER_LGSP)
    status = await client.post(
        f"{docs.url(OTHER_LGSP)}/documents/{doc_id}/status",
        json={
            "from": {"organId": BN_OFFICE, "organName": "Văn phòng UBND tỉnh Bắc Ninh"},
            "responseFor": {
                "organId": BG_OFFICE,
                "code": stored["package"]["documentId"].split(",", 2)[2],
                "promulgationDate": "2026/11/20",
                "documentId": stored["package"]["documentId"],
            },
            "staffInfo": {"department": "Văn thư", "staff": "Lê Văn Cường"},
            "statusCode": "03",
            "description": "Đã tiếp nhận",
        },
        headers=bn,
    )
    assert status.status_code == 202, status.text
    auth = await headers_for(client, docs, SENDER)
    deadline = time.monotonic() + 10
    while True:
        view = DocumentView.model_validate(
            (await client.get(f"{docs.url(LGSP)}/documents/{doc_id}", headers=auth)).json()
        )
        if view.receivers[0].statusCode == "03":
            break
        assert time.monotonic() < deadline, view.model_dump_json(indent=1)
        await asyncio.sleep(0.05)
    events = [(e.platform, e.event, e.statusCode) for e in view.trail]
    assert ("ngsp", "forwarded", None) in events
    assert (OTHER_LGSP, "delivered", "01") in events
    assert (OTHER_LGSP, "status", "03") in events
    # the receiver's status packet itself came back through NGSP to the sender's trail
    packet = next(e.status for e in view.trail if e.event == "status")
    assert packet is not None and packet.from_.organId == BN_OFFICE
    assert packet.responseFor.documentId == stored["package"]["documentId"]
    assert packet.staffInfo.staff == "Lê Văn Cường"


async def test_document_to_a_ministry_behind_ngsp(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    response = await send(client, docs, package([GOV_OFFICE, BG_STTTT], "gov-5"))
    assert response.status_code == 202, response.text
    view = await wait_final(client, docs, response.json()["id"])
    assert {r.organId: r.state for r in view.receivers} == {
        GOV_OFFICE: "delivered",
        BG_STTTT: "delivered",
    }
    assert response.json()["id"] in (await mailbox(client, docs, "document-axis"))["documents"]


async def test_pull_receiver_takes_documents_from_its_inbox(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    response = await send(client, docs, package([BG_NOIVU], "pull-2", attachments=1))
    doc_id = response.json()["id"]
    assert response.json()["receivers"][0]["state"] == "awaiting-pickup"
    noivu = await headers_for(client, docs, "noivu-bac-giang")
    inbox = await client.get(f"{docs.url(LGSP)}/documents/inbox", headers=noivu)
    assert inbox.status_code == 200
    assert doc_id in [d["id"] for d in inbox.json()["documents"]]
    # another agency's inbox does not hold it
    other = await client.get(
        f"{docs.url(LGSP)}/documents/inbox",
        headers=await headers_for(client, docs, "motcua-bac-giang"),
    )
    assert doc_id not in [d["id"] for d in other.json()["documents"]]
    for _ in range(2):  # acknowledging twice is harmless
        ack = await client.post(f"{docs.url(LGSP)}/documents/{doc_id}/ack", headers=noivu)
        assert ack.status_code == 200, ack.text
        assert ack.json()[0]["state"] == "delivered"
    after = await client.get(f"{docs.url(LGSP)}/documents/inbox", headers=noivu)
    assert doc_id not in [d["id"] for d in after.json()["documents"]]
    view = await wait_final(client, docs, doc_id)
    assert view.receivers[0].statusCode == "01"


async def test_revocation_recalls_the_document_at_the_receiver(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    first = (await send(client, docs, package([BG_STTTT], "revoke-21"))).json()["id"]
    await wait_final(client, docs, first)
    first_body = package([BG_STTTT], "revoke-21")
    revoke = package([BG_STTTT], "revoke-21", kind=1, related=document_id(first_body))
    response = await send(client, docs, revoke)
    assert response.status_code == 202, response.text
    await wait_final(client, docs, response.json()["id"])
    stored = (await client.get(f"{docs.url('e-office-stttt')}/nhanVanBan/{first}")).json()
    assert stored["status"] == "13"


@pytest.mark.parametrize(
    ("change", "status", "slug", "field"),
    [
        (
            {"to": [{"organId": "000.00.99.H99", "organName": "X"}]},
            422,
            "unroutable-receiver",
            "$.to[0].organId",
        ),
        (
            {"from": {"organId": BG_STTTT, "organName": "X"}},
            403,
            "sender-mismatch",
            "$.from.organId",
        ),
        (
            {
                "attachments": [
                    {
                        "contentId": "a",
                        "contentType": "text/plain",
                        "attachmentName": "a.txt",
                        "value": "not base64!",
                    }
                ]
            },
            422,
            "validation-error",
            "$.attachments[0].value",
        ),
        # a revocation without Bussiness/DocumentId names the MessageHeader's DocumentId
        ({"bussiness": {"bussinessDocType": 1}}, 422, "unknown-related-document", "$.documentId"),
        ({"bussiness": {"bussinessDocType": 2}}, 422, "validation-error", "$.bussiness.documentId"),
        ({"to": []}, 422, "validation-error", "$.to"),
    ],
)
async def test_bad_documents_are_refused_naming_the_field(
    docs: RunningTopology,
    client: httpx.AsyncClient,
    change: dict[str, Any],
    status: int,
    slug: str,
    field: str,
) -> None:
    body = {**package([BG_STTTT], f"bad-{slug}-{len(str(change))}"), **change}
    problem = assert_problem(await send(client, docs, body), status, slug)
    assert field in [e["field"] for e in problem["errors"]]


async def test_malformed_bodies_and_strangers_are_refused(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    auth = await headers_for(client, docs, SENDER)
    base = f"{docs.url(LGSP)}/documents"
    xml = await client.post(
        base, content=b"<edXMLEnvelope><oops>", headers={**auth, "Content-Type": "application/xml"}
    )
    assert_problem(xml, 400, "invalid-xml")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><edXMLEnvelope>&a;</edXMLEnvelope>'
    )
    assert_problem(
        await client.post(base, content=bomb, headers={**auth, "Content-Type": "application/xml"}),
        400,
        "invalid-xml",
    )
    text = await client.post(base, content=b"hello", headers={**auth, "Content-Type": "text/plain"})
    assert_problem(text, 415, "unsupported-media-type")
    assert_problem(
        await client.post(base, json=package([BG_STTTT], "noauth")), 401, "missing-token"
    )

    doc_id = (await send(client, docs, package([BG_STTTT], "private-1"))).json()["id"]
    stranger = await headers_for(client, docs, "motcua-bac-giang")
    assert_problem(
        await client.get(f"{base}/{doc_id}", headers=stranger), 404, "document-not-found"
    )
    # only a neighbouring platform may hand documents over or relay statuses
    relay = await client.post(
        f"{base}/relay",
        headers=auth,
        json={
            "id": "doc-forged-0001",
            "kind": "new",
            "receivers": [BG_STTTT],
            "originPlatform": "ngsp",
            "fromPlatform": "ngsp",
            "messageId": "m1",
            "package": package([BG_STTTT], "forged"),
        },
    )
    assert_problem(relay, 403, "platform-only")


async def test_receiver_down_gets_the_document_when_it_comes_back(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    settings = delivery_settings(tmp_path)
    async with run_topology(document_topology(), tmp_path, settings=settings) as run:
        await run.stop("e-office-stttt")
        doc_id = (await send(client, run, package([BG_STTTT], "down-1", attachments=1))).json()[
            "id"
        ]
        auth = await headers_for(client, run, SENDER)
        deadline = time.monotonic() + 10
        while True:  # the platform keeps trying while the receiver is down
            view = DocumentView.model_validate(
                (await client.get(f"{run.url(LGSP)}/documents/{doc_id}", headers=auth)).json()
            )
            if any(e.event == "retry" for e in view.trail):
                break
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert view.receivers[0].state == "pending"
        await run.start("e-office-stttt")
        view = await wait_final(client, run, doc_id)
        assert view.receivers[0].state == "delivered"
        box = await mailbox(client, run, "e-office-stttt")
        assert box["total"] == 1


async def test_sender_is_told_when_delivery_gives_up(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    settings = delivery_settings(tmp_path, delivery_max_attempts=3)
    async with run_topology(document_topology(), tmp_path, settings=settings) as run:
        await run.stop("e-office-stttt")
        doc_id = (await send(client, run, package([BG_STTTT], "never-1"))).json()["id"]
        view = await wait_final(client, run, doc_id)
        assert view.receivers[0].state == "failed"
        failed = [e for e in view.trail if e.event == "failed"]
        assert failed and "gave up after 3 attempts" in failed[0].detail
