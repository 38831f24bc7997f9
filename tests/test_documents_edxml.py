"""Real-shaped edXML through the platforms: every kind, status packets, hostile input.

Packages are the fixtures in tests/data/edxml (written from the standard's structure, shaped
like the public sample packages), sent as XML to the LGSP over real sockets; receivers read
them back as XML and compare attachments byte for byte.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from contracts.edxml import (
    MAX_ATTACHMENT_BYTES,
    MAX_SENDER_TRACE_HEADERS,
    MAX_TRACE_HEADERS,
    NAMESPACE,
    DocumentPackage,
    DocumentView,
)
from contracts.edxml.xml import package_from_xml, package_to_xml
from sandbox.testing.harness import RunningTopology, run_topology
from tests.document_topology import (
    BG_NOIVU,
    BG_OFFICE,
    BG_STTTT,
    delivery_settings,
    document_topology,
)
from tests.helpers import assert_problem, audit_records, bearer

pytestmark = pytest.mark.sockets

LGSP = "lgsp-bac-giang"
LGSP_ORGAN = "000.00.12.H04"
SENDER = "qlvb-bac-giang"
PULL_RECEIVER = "noivu-bac-giang"
PUSH_MAILBOX = "e-office-stttt"
FIXTURES = Path(__file__).parent / "data" / "edxml"
XML = {"Content-Type": "application/xml"}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def renumbered(package: DocumentPackage, number: str) -> DocumentPackage:
    """The same package as another document: its own number, so its own DocumentId."""
    data = package.model_dump(by_alias=True)
    data["code"]["codeNumber"] = number
    data["documentId"] = ""
    return DocumentPackage.model_validate(data)


def digests(package: DocumentPackage) -> dict[str, str]:
    return {a.contentId: hashlib.sha256(a.content()).hexdigest() for a in package.attachments}


@pytest.fixture(scope="module")
async def docs(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningTopology]:
    data = tmp_path_factory.mktemp("edxml")
    async with run_topology(document_topology(), data, settings=delivery_settings(data)) as run:
        yield run


async def auth(client: httpx.AsyncClient, run: RunningTopology, consumer: str) -> dict[str, str]:
    return await bearer(client, run.url(LGSP), run.topology, consumer)


async def send_xml(
    client: httpx.AsyncClient, run: RunningTopology, body: bytes, consumer: str = SENDER
) -> httpx.Response:
    headers = {**await auth(client, run, consumer), **XML}
    return await client.post(f"{run.url(LGSP)}/documents", content=body, headers=headers)


async def view(client: httpx.AsyncClient, run: RunningTopology, doc_id: str) -> DocumentView:
    response = await client.get(
        f"{run.url(LGSP)}/documents/{doc_id}", headers=await auth(client, run, SENDER)
    )
    assert response.status_code == 200, response.text
    return DocumentView.model_validate(response.json())


async def until(
    client: httpx.AsyncClient, run: RunningTopology, doc_id: str, test: Any
) -> DocumentView:
    deadline = time.monotonic() + 15
    while True:
        current = await view(client, run, doc_id)
        if test(current):
            return current
        assert time.monotonic() < deadline, current.model_dump_json(indent=1)
        await asyncio.sleep(0.05)


def delivered_to(*organs: str) -> Any:
    return lambda v: {r.organId for r in v.receivers if r.state == "delivered"} >= set(organs)


async def mailbox_xml(client: httpx.AsyncClient, run: RunningTopology, doc_id: str) -> bytes:
    response = await client.get(
        f"{run.url(PUSH_MAILBOX)}/nhanVanBan/{doc_id}", headers={"Accept": "application/xml"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return response.content


async def test_each_kind_of_package_travels_as_real_edxml(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    original = package_from_xml(fixture("new-with-attachments.edxml"))
    response = await send_xml(client, docs, fixture("new-with-attachments.edxml"))
    assert response.status_code == 202, response.text
    new_id = response.json()["id"]
    assert response.json()["edxmlDocumentId"] == original.documentId
    assert response.json()["kind"] == "new"
    await until(client, docs, new_id, delivered_to(BG_STTTT))

    # the push receiver's e-office holds the package, as edXML, attachments byte-identical
    pushed = await mailbox_xml(client, docs, new_id)
    assert etree.fromstring(pushed).tag == f"{{{NAMESPACE}}}edXML"
    received = package_from_xml(pushed)
    assert digests(received) == digests(original)
    assert [t.organId for t in received.traceHeaderList] == [BG_OFFICE, LGSP_ORGAN]
    assert received.model_copy(update={"traceHeaderList": []}) == original.model_copy(
        update={"traceHeaderList": []}
    )

    # the pull receiver takes it from its inbox and reads it as edXML
    noivu = await auth(client, docs, PULL_RECEIVER)
    inbox = await client.get(f"{docs.url(LGSP)}/documents/inbox", headers=noivu)
    assert inbox.status_code == 200, inbox.text
    assert new_id in [d["id"] for d in inbox.json()["documents"]]
    as_xml = await client.get(
        f"{docs.url(LGSP)}/documents/{new_id}/package",
        headers={**noivu, "Accept": "application/xml"},
    )
    assert as_xml.status_code == 200
    assert digests(package_from_xml(as_xml.content)) == digests(original)

    # update, replacement and revocation: the kind is BussinessDocType, the document they
    # concern is named by its edXML DocumentId
    for name, kind in (("update.edxml", "update"), ("replacement.edxml", "replacement")):
        response = await send_xml(client, docs, fixture(name))
        assert response.status_code == 202, f"{name}: {response.text}"
        assert response.json()["kind"] == kind
        await until(client, docs, response.json()["id"], delivered_to(BG_STTTT))
    revocation = await send_xml(client, docs, fixture("revocation.edxml"))
    assert revocation.status_code == 202, revocation.text
    await until(client, docs, revocation.json()["id"], delivered_to(BG_STTTT))
    recalled = await client.get(f"{docs.url(PUSH_MAILBOX)}/nhanVanBan/{new_id}")
    assert recalled.json()["status"] == "13"


async def test_a_revocation_of_a_document_never_sent_is_refused(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    revocation = package_from_xml(fixture("revocation.edxml"))
    stranger = revocation.model_copy(
        update={
            "bussiness": revocation.bussiness.model_copy(
                update={"documentId": "000.00.01.H04,2026/11/20,9999/UBND-KGVX"}
            )
        }
    )
    headers = {**await auth(client, docs, SENDER), **XML, "Idempotency-Key": "revoke-unknown"}
    response = await client.post(
        f"{docs.url(LGSP)}/documents", content=package_to_xml(stranger), headers=headers
    )
    problem = assert_problem(response, 422, "unknown-related-document")
    assert [e["field"] for e in problem["errors"]] == ["$.bussiness.documentId"]


async def test_odd_prefixes_and_stray_namespaces_are_read(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    response = await send_xml(client, docs, fixture("odd-prefixes.edxml"))
    assert response.status_code == 202, response.text
    doc_id = response.json()["id"]
    await until(client, docs, doc_id, delivered_to(BG_STTTT))
    received = package_from_xml(await mailbox_xml(client, docs, doc_id))
    assert received.attachments[0].content() == "Lịch họp giao ban tháng 12\n".encode()
    assert received.promulgationInfo.promulgationDate.isoformat() == "2026-11-21"


async def test_a_status_packet_travels_back_to_the_sender_and_shows_in_the_trail(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    package = renumbered(package_from_xml(fixture("reply-with-response-for.edxml")), "1310")
    body = package.model_copy(
        update={"to": [package.to[0].model_copy(update={"organId": BG_NOIVU})]}
    )
    response = await send_xml(client, docs, package_to_xml(body))
    assert response.status_code == 202, response.text
    doc_id = response.json()["id"]
    status = fixture("status-03.edxml").replace(
        b"000.00.01.H04,2026/11/20,1234/UBND-KGVX", body.documentId.encode()
    )
    noivu = await auth(client, docs, PULL_RECEIVER)
    answered = await client.post(
        f"{docs.url(LGSP)}/documents/{doc_id}/status", content=status, headers={**noivu, **XML}
    )
    assert answered.status_code == 202, answered.text
    seen = await until(client, docs, doc_id, lambda v: v.receivers[0].statusCode == "03")
    event = next(e for e in seen.trail if e.event == "status")
    assert event.status is not None
    assert event.status.from_.organId == BG_NOIVU
    assert event.status.responseFor.documentId == body.documentId
    assert event.status.staffInfo.staff == "Lê Văn Cường"
    assert event.status.timestamp is not None

    # a status about another document, or from another organ, is refused naming the field
    wrong = await client.post(
        f"{docs.url(LGSP)}/documents/{doc_id}/status",
        content=fixture("status-03.edxml"),
        headers={**noivu, **XML},
    )
    problem = assert_problem(wrong, 422, "status-mismatch")
    assert [e["field"] for e in problem["errors"]] == ["$.responseFor.documentId"]
    forged = status.replace(b"<edXML:OrganId>000.00.05.H04", b"<edXML:OrganId>000.00.12.H04")
    problem = assert_problem(
        await client.post(
            f"{docs.url(LGSP)}/documents/{doc_id}/status", content=forged, headers={**noivu, **XML}
        ),
        422,
        "status-mismatch",
    )
    assert [e["field"] for e in problem["errors"]] == ["$.from.organId"]


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("hostile-billion-laughs.edxml", "invalid-xml"),
        ("hostile-external-entity.edxml", "invalid-xml"),
        ("hostile-deep-nesting.edxml", "xml-limit-exceeded"),
    ],
)
async def test_hostile_xml_gets_an_audited_4xx(
    docs: RunningTopology, client: httpx.AsyncClient, name: str, slug: str
) -> None:
    response = await send_xml(client, docs, fixture(name))
    problem = assert_problem(response, 400, slug)
    records = await audit_records(
        client, docs.url(LGSP), docs.topology, LGSP, message_id=problem["message_id"]
    )
    assert [(r.status, r.outcome) for r in records] == [(400, slug)]


async def test_deep_json_gets_a_4xx_not_a_500(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    deep = b'{"subject": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = await client.post(
        f"{docs.url(LGSP)}/documents",
        content=deep,
        headers={**await auth(client, docs, SENDER), "Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500, response.text


async def test_trace_entries_over_the_bound_are_refused_and_cannot_break_a_receiver(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    # twenty entries naming another organ: over the bound, refused at the door
    twenty = await send_xml(client, docs, fixture("hostile-forged-trace.edxml"))
    problem = assert_problem(twenty, 422, "validation-error")
    assert "$.traceHeaderList" in [e["field"] for e in problem["errors"]]

    # within the model's bound but more than a sender may write (the platforms need room
    # for theirs): refused at the door, naming the list. Entries naming other organs are the
    # sender's claim, kept (tests/test_real_clients.py)
    forged = renumbered(package_from_xml(fixture("reply-with-response-for.edxml")), "1320")
    own = forged.traceHeaderList[0]
    over = forged.model_copy(update={"traceHeaderList": [own] * (MAX_SENDER_TRACE_HEADERS + 1)})
    problem = assert_problem(
        await send_xml(client, docs, package_to_xml(over)), 422, "too-many-trace-headers"
    )
    assert [e["field"] for e in problem["errors"]] == ["$.traceHeaderList"]

    # as many as a sender may write: every read at the receiver answers 200
    allowed = forged.model_copy(
        update={
            "to": [forged.to[0], forged.to[0].model_copy(update={"organId": BG_NOIVU})],
            "traceHeaderList": [own] * MAX_SENDER_TRACE_HEADERS,
        }
    )
    response = await send_xml(client, docs, package_to_xml(allowed))
    assert response.status_code == 202, response.text
    doc_id = response.json()["id"]
    await until(client, docs, doc_id, delivered_to(BG_STTTT))
    noivu = await auth(client, docs, PULL_RECEIVER)
    for path in ("/documents/inbox", f"/documents/{doc_id}", f"/documents/{doc_id}/package"):
        read = await client.get(f"{docs.url(LGSP)}{path}", headers=noivu)
        assert read.status_code == 200, f"{path}: {read.text}"
    ack = await client.post(f"{docs.url(LGSP)}/documents/{doc_id}/ack", headers=noivu)
    assert ack.status_code == 200, ack.text
    final = await until(client, docs, doc_id, lambda v: v.final)
    assert {r.state for r in final.receivers} == {"delivered"}
    received = package_from_xml(await mailbox_xml(client, docs, doc_id))
    assert [t.organId for t in received.traceHeaderList] == [
        BG_OFFICE
    ] * MAX_SENDER_TRACE_HEADERS + [LGSP_ORGAN]


async def test_an_attachment_at_the_limit_arrives_byte_identical_and_one_over_is_refused(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    package = renumbered(package_from_xml(fixture("reply-with-response-for.edxml")), "1500")
    content = hashlib.sha256(b"seed").digest() * (MAX_ATTACHMENT_BYTES // 32)
    assert len(content) == MAX_ATTACHMENT_BYTES
    attachment = {
        "contentId": "cid:big",
        "contentType": "application/zip",
        "attachmentName": "ho-so-lon.zip",
        "value": base64.b64encode(content).decode(),
    }
    big = DocumentPackage.model_validate(
        {**package.model_dump(by_alias=True), "attachments": [attachment]}
    )
    response = await send_xml(client, docs, package_to_xml(big))
    assert response.status_code == 202, response.text
    doc_id = response.json()["id"]
    await until(client, docs, doc_id, delivered_to(BG_STTTT))
    received = package_from_xml(await mailbox_xml(client, docs, doc_id))
    assert received.attachments[0].sha256() == hashlib.sha256(content).hexdigest()

    over = package_to_xml(big).replace(
        attachment["value"].encode(), base64.b64encode(content + b"!")
    )
    problem = assert_problem(await send_xml(client, docs, over), 422, "validation-error")
    assert "$.attachments[0].value" in [e["field"] for e in problem["errors"]]


async def test_a_neighbour_handing_over_a_package_that_passed_too_many_organs_is_refused(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    package = renumbered(package_from_xml(fixture("reply-with-response-for.edxml")), "1600")
    hop = package.traceHeaderList[0].model_copy(update={"organId": "000.00.00.G10"})
    full = package.model_copy(update={"traceHeaderList": [hop] * MAX_TRACE_HEADERS})
    delivery = {
        "id": "doc-relay-too-long-1",
        "kind": "new",
        "receivers": [BG_STTTT],
        "originPlatform": "ngsp",
        "fromPlatform": "ngsp",
        "messageId": "m-relay-too-long",
        "package": full.model_dump(mode="json", by_alias=True),
    }
    # NGSP's own credential at the LGSP: the hand-over is refused for good (a 4xx), so the
    # sending platform gives up and tells its sender, instead of retrying for ever
    ngsp = await bearer(client, docs.url(LGSP), docs.topology, "ngsp")
    response = await client.post(f"{docs.url(LGSP)}/documents/relay", json=delivery, headers=ngsp)
    problem = assert_problem(response, 422, "too-many-trace-headers")
    assert [e["field"] for e in problem["errors"]] == ["$.traceHeaderList"]


async def test_an_outbox_item_that_always_fails_stops_after_the_last_attempt(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    # An item whose document cannot be read fails inside the platform on every attempt (as
    # the forged-trace documents of issue 13 did); it must stop, not be retried for ever.
    path = docs.settings.data_dir / f"{LGSP}.documents.sqlite3"
    with sqlite3.connect(path) as db:
        item = db.execute(
            "INSERT INTO outbox (kind, document_id, hop, receivers, next_at, state) "
            "VALUES ('deliver', 'doc-missing-000001', 'push:000.00.12.H04', '[\"x\"]', 0, "
            "'pending')"
        ).lastrowid
    # A bound for waiting, not a timing under test: each failed attempt waits its backoff and
    # the worker's next look, which a loaded machine stretches.
    deadline = time.monotonic() + 120
    while True:
        with sqlite3.connect(path) as db:
            state, attempts = db.execute(
                "SELECT state, attempts FROM outbox WHERE id = ?", (item,)
            ).fetchone()
        if state == "failed":
            break
        assert time.monotonic() < deadline, (state, attempts)
        await asyncio.sleep(0.1)
    assert attempts == docs.settings.delivery_max_attempts - 1
