"""The document axis as the vendor SDK (SDKVXP) speaks it, over real sockets.

`SdkClient` below calls the platforms exactly as the SDK's `VnptService` does: one header map
that lives as long as the service object (timestamp fixed at construction, parameters of
earlier calls kept), each entry sent as `XroadVnpt-<key>`, the sign-header a compact JSON of
those headers, the hash its HMAC-SHA256 in lowercase hex; sendEdoc's body is the file and a
CRLF, its `hash-file` the SHA-256 written without zero padding. Documents go both ways between
the SDK and `/documents`, within a province and across platforms.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from contracts.edxml import DocumentPackage, DocumentView
from contracts.edxml.signature import sign_package
from contracts.edxml.xml import package_from_xml, package_to_xml, status_from_xml
from contracts.topology import Topology
from sandbox.pki import authority as pki
from sandbox.testing.harness import RunningTopology, run_topology
from tests.document_topology import (
    BG_NOIVU,
    BG_OFFICE,
    BG_STTTT,
    OTHER_LGSP,
    delivery_settings,
    document_topology,
)
from tests.helpers import audit_records, bearer
from tests.test_documents_edxml import fixture, renumbered

pytestmark = pytest.mark.sockets

LGSP = "lgsp-bac-giang"
BN_NOIVU = "000.00.05.H06"  # Sở Nội vụ Bắc Ninh: an inbox, read by an SDK system
MOJ = "000.00.00.G14"  # Bộ Tư pháp: an inbox at NGSP, read by an SDK system
VPUBND = "vxp.bacgiang.vpubnd"  # Bắc Giang's provincial office (000.00.01.H04)
SNV = "vxp.bacgiang.snv"  # Bắc Giang's Home Affairs (000.00.05.H04), an inbox
BN_SNV = "vxp.bacninh.snv"
MOJ_SYSTEM = "vxp.botuphap"
MAX_DOCUMENT = 2 * 1024 * 1024


def axis_topology() -> Topology:
    raw = document_topology().model_dump(mode="json", exclude_none=True)
    raw["agencies"] += [{"code": BN_NOIVU, "name": "Sở Nội vụ tỉnh Bắc Ninh"}]
    raw["mailboxes"] += [
        {"agency": BN_NOIVU, "platform": OTHER_LGSP},
        {"agency": MOJ, "platform": "ngsp"},
    ]
    raw["axis_systems"] += [
        {
            "systemid": BN_SNV,
            "secret": "vxp-bacninh-snv-secret",
            "agency": BN_NOIVU,
            "platform": OTHER_LGSP,
            "name": "QLVB Sở Nội vụ Bắc Ninh",
        },
        {
            "systemid": MOJ_SYSTEM,
            "secret": "A7TKG/r2gOKTEpe1MhWx6zw8O4JfzN0KkCRS6HZY81Ve",
            "agency": MOJ,
            "platform": "ngsp",
            "name": "QLVB Bộ Tư pháp",
        },
    ]
    return Topology.model_validate(raw)


class SdkClient:
    """What SDKVXP's KnobstickServiceImp/AgencyServiceImp put on the wire."""

    def __init__(self, http: httpx.AsyncClient, endpoint: str, systemid: str, secret: str) -> None:
        self.http = http
        self.endpoint = endpoint
        self.secret = secret
        # VnptService's constructor: the timestamp is fixed for the object's life.
        now = datetime.now()
        stamp = now.strftime("%d%m%YT%H%M%S") + f"+{now.microsecond // 1000:04d}"
        self.headers: dict[str, str] = {"timestamp": stamp, "systemid": systemid}

    def signed_headers(self) -> dict[str, bytes]:
        sign = json.dumps(
            {f"XroadVnpt-{k}": v for k, v in self.headers.items()},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        out = {f"XroadVnpt-{k}": v.encode() for k, v in self.headers.items()}
        out["Content-Type"] = self.headers["Content-Type"].encode()
        out["XroadVnpt-sign-header-key"] = ";".join(self.headers).encode()
        out["XroadVnpt-sign-header"] = sign.encode()
        out["XroadVnpt-hash-header"] = (
            hmac.new(self.secret.encode(), sign.encode(), hashlib.sha256).hexdigest().encode()
        )
        out["User-Agent"] = b"JAVASDKAgent/1.0.0 XRoad/VPCP"
        out["XroadVnpt-version"] = b"3.0.201608"
        return out

    async def raw(
        self, operation: str, params: dict[str, str], body: bytes = b"", media: str = ""
    ) -> httpx.Response:
        self.headers["Content-Type"] = media or "application/json"
        self.headers.update(params)
        return await self.http.post(
            f"{self.endpoint}/{operation}", content=body, headers=self.signed_headers()
        )

    async def call(self, operation: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.raw(operation, params or {})
        return ok(response)

    async def send(self, edxml: bytes, messagetype: str = "edoc", **extra: str) -> httpx.Response:
        digest = hashlib.sha256(edxml).digest()
        params = {
            "from": extra.pop("sender", self.agency_hint),
            "servicetype": "eDoc",
            "messagetype": messagetype,
            "hash-file": "".join(f"{b:x}" for b in digest),  # the SDK's unpadded hex
            **extra,
        }
        return await self.raw("sendEdoc", params, edxml + b"\r\n", media="application/octet-stream")

    agency_hint = ""


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    assert reply["status"] == "OK", reply
    assert reply["ErrorCode"] == "0"
    assert isinstance(reply["ErrorDesc"], str)
    return reply


def fail(response: httpx.Response, status: int, slug_word: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.content.isascii()
    reply: dict[str, Any] = response.json()
    # sendEdoc's FAIL names an empty DocId: the SDK reads it before the rest
    sent = response.request.url.path.endswith("/sendEdoc")
    assert set(reply) == {"status", "ErrorCode", "ErrorDesc", *(["DocId"] if sent else [])}, reply
    assert reply.get("DocId", "") == ""
    assert reply["status"] == "FAIL"
    assert reply["ErrorCode"] == str(status)
    assert slug_word.lower() in reply["ErrorDesc"].lower(), reply["ErrorDesc"]
    return reply


@pytest.fixture(scope="module")
async def axis(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningTopology]:
    data = tmp_path_factory.mktemp("axis")
    settings = delivery_settings(data, document_max_bytes=MAX_DOCUMENT)
    async with run_topology(axis_topology(), data, settings=settings) as run:
        yield run


def sdk(run: RunningTopology, http: httpx.AsyncClient, systemid: str) -> SdkClient:
    system = next(s for s in run.topology.axis_systems if s.systemid == systemid)
    client = SdkClient(http, f"{run.url(system.platform)}/vxp", systemid, system.secret)
    client.agency_hint = system.agency
    return client


def package_to(number: str, *receivers: str, sender: str = BG_OFFICE) -> DocumentPackage:
    base = renumbered(package_from_xml(fixture("new-with-attachments.edxml")), number)
    to = [base.to[0].model_copy(update={"organId": r}) for r in receivers]
    sender_org = base.from_.model_copy(update={"organId": sender})
    data = base.model_copy(update={"to": to, "from_": sender_org}).model_dump(by_alias=True)
    data["documentId"] = ""
    data["traceHeaderList"] = []
    return DocumentPackage.model_validate(data)


async def eventually(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    deadline = time.monotonic() + 15
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def received_ids(client: SdkClient, messagetype: str = "edoc") -> list[str]:
    reply = await client.call(
        "getReceivedEdocList", {"servicetype": "eDoc", "messagetype": messagetype}
    )
    return [item["docId"] for item in reply["data"]]


async def test_the_sdk_sends_and_documents_reach_an_inbox_across_platforms(
    axis: RunningTopology, client: httpx.AsyncClient
) -> None:
    sender = sdk(axis, client, VPUBND)
    package = package_to("2101", BG_NOIVU, BN_NOIVU, BG_STTTT)
    response = await sender.send(package_to_xml(package))
    reply = ok(response)
    assert set(reply) == {"status", "ErrorCode", "ErrorDesc", "DocId"}
    doc_id = reply["DocId"]

    # committed and audited before the answer: the audit holds the 200 under its message id
    records = await audit_records(
        client, axis.url(LGSP), axis.topology, LGSP, message_id=response.headers["X-Message-Id"]
    )
    assert [(r.status, r.consumer, r.path) for r in records] == [
        (200, f"vxp:{VPUBND}", "/vxp/sendEdoc")
    ]

    # a retry of the same file is the same document (idempotent by the edXML DocumentId)
    again = ok(await sender.send(package_to_xml(package)))
    assert again["DocId"] == doc_id

    # Bắc Giang's Department of Information and Communications has it pushed to its e-office
    async def pushed() -> httpx.Response | None:
        response = await client.get(f"{axis.url('e-office-stttt')}/nhanVanBan/{doc_id}")
        return response if response.status_code == 200 else None

    await eventually(pushed, "the push to e-office-stttt")

    # Bắc Giang's Home Affairs reads it from /documents/inbox, as a /documents consumer
    noivu = await bearer(client, axis.url(LGSP), axis.topology, "noivu-bac-giang")
    inbox = await client.get(f"{axis.url(LGSP)}/documents/inbox", headers=noivu)
    assert doc_id in [d["id"] for d in inbox.json()["documents"]]
    acked = await client.post(f"{axis.url(LGSP)}/documents/{doc_id}/ack", headers=noivu)
    assert acked.status_code == 200, acked.text

    # Bắc Ninh's Home Affairs reads it through the SDK, LGSP -> NGSP -> LGSP Bắc Ninh
    reader = sdk(axis, client, BN_SNV)
    assert doc_id in await eventually(lambda: received_ids(reader), "the document in Bắc Ninh")
    listed = await reader.call(
        "getReceivedEdocList", {"servicetype": "eDoc", "messagetype": "edoc"}
    )
    item = next(i for i in listed["data"] if i["docId"] == doc_id)
    assert set(item) == {
        "docId",
        "serviceType",
        "messageType",
        "created_time",
        "updated_time",
        "from",
        "to",
        "status",
        "status_desc",
    }
    assert (item["from"], item["to"], item["messageType"], item["status"]) == (
        BG_OFFICE,
        BN_NOIVU,
        "edoc",
        "inbox",
    )
    got = await reader.call("getEdoc", {"filePath": "xml", "docId": doc_id})
    received = package_from_xml(base64.b64decode(got["data"]))
    assert received.documentId == package.documentId
    assert [a.content() for a in received.attachments] == [a.content() for a in package.attachments]
    reader.headers.update({"Content-Type": "application/json", "docId": doc_id})
    download = await client.get(f"{reader.endpoint}/downloadEdoc", headers=reader.signed_headers())
    assert download.status_code == 200, download.text
    assert package_from_xml(download.content).documentId == package.documentId
    assert ok(await reader.raw("updateStatus", {"status": "done", "docId": doc_id}))
    assert doc_id not in await received_ids(reader)
    ok(await reader.raw("updateStatus", {"status": "processing", "docId": doc_id}))

    # the sender follows both receivers, and hears their statuses as status items
    async def both_moved() -> list[dict[str, Any]] | None:
        rows = (await sender.call("getSentEdocList", {"docId": doc_id}))["data"]
        words = {r["toCode"]: r["receiveStatus"] for r in rows}
        wanted = {BG_NOIVU: "done", BN_NOIVU: "processing", BG_STTTT: "done"}
        return rows if words == wanted else None

    rows = await eventually(both_moved, "both receivers' statuses at the sender")
    assert set(rows[0]) == {
        "senderDocId",
        "receiverDocId",
        "fromCode",
        "toCode",
        "title",
        "notation",
        "messageType",
        "serviceType",
        "sentTime",
        "receivedTime",
        "sendStatus",
        "sendStatusDesc",
        "receiveStatus",
        "receiveStatusDesc",
    }
    assert {r["sendStatus"] for r in rows} == {"done"}
    assert rows[0]["title"] == package.subject
    assert rows[0]["notation"] == f"{package.code.codeNumber}/{package.code.codeNotation}"

    statuses = (await sender.call("getReceivedEdocList", {"messagetype": "status"}))["data"]
    processing = next(s for s in statuses if (s["from"], s["status"]) == (BN_NOIVU, "processing"))
    packet = status_from_xml(
        base64.b64decode((await sender.call("getEdoc", {"docId": processing["docId"]}))["data"])
    )
    assert packet.responseFor.documentId == package.documentId
    assert packet.statusCode == "05"
    for status in statuses:
        ok(await sender.raw("updateStatus", {"status": "done", "docId": status["docId"]}))
    assert await received_ids(sender, "status") == []


async def test_documents_sent_to_documents_reach_sdk_systems_and_their_status_travels_back(
    axis: RunningTopology, client: httpx.AsyncClient
) -> None:
    qlvb = await bearer(client, axis.url(LGSP), axis.topology, "qlvb-bac-giang")
    package = package_to("2201", BG_NOIVU, MOJ)
    sent = await client.post(
        f"{axis.url(LGSP)}/documents",
        content=package_to_xml(package),
        headers={**qlvb, "Content-Type": "application/xml"},
    )
    assert sent.status_code == 202, sent.text
    doc_id = sent.json()["id"]

    snv = sdk(axis, client, SNV)
    moj = sdk(axis, client, MOJ_SYSTEM)  # at NGSP: another platform serves the same protocol
    assert doc_id in await received_ids(snv)
    assert doc_id in await eventually(lambda: received_ids(moj), "the document at NGSP")
    assert (await snv.call("countReceiveEdoc", {"messagetype": "edoc"}))["count"] >= 1
    for reader in (snv, moj):
        data = (await reader.call("getEdoc", {"docId": doc_id}))["data"]
        assert package_from_xml(base64.b64decode(data)).documentId == package.documentId
        ok(await reader.raw("updateStatus", {"status": "done", "docId": doc_id}))
    ok(await snv.raw("updateStatus", {"status": "acceptance", "docId": doc_id}))

    # the sender at /documents sees 01 from NGSP's receiver and 03 from the LGSP's
    async def seen() -> DocumentView | None:
        response = await client.get(f"{axis.url(LGSP)}/documents/{doc_id}", headers=qlvb)
        view = DocumentView.model_validate(response.json())
        codes = {r.organId: r.statusCode for r in view.receivers}
        return view if codes == {BG_NOIVU: "03", MOJ: "01"} else None

    view = await eventually(seen, "the receivers' statuses at the /documents sender")
    accepted = next(e for e in view.trail if e.statusCode == "03")
    assert accepted.status is not None and accepted.status.from_.organId == BG_NOIVU

    # a status packet sent through sendEdoc (messagetype status) travels back the same way
    status = fixture("status-03.edxml").replace(
        b"000.00.01.H04,2026/11/20,1234/UBND-KGVX", package.documentId.encode()
    )
    status = status.replace(b"<edXML:StatusCode>03", b"<edXML:StatusCode>06")
    done = ok(await snv.send(status, messagetype="status"))
    assert done["DocId"] == doc_id

    async def finished() -> bool:
        response = await client.get(f"{axis.url(LGSP)}/documents/{doc_id}", headers=qlvb)
        receivers = DocumentView.model_validate(response.json()).receivers
        return any(r.organId == BG_NOIVU and r.statusCode == "06" for r in receivers)

    await eventually(finished, "status 06 at the sender")


async def test_agencies_and_registration(axis: RunningTopology, client: httpx.AsyncClient) -> None:
    system = sdk(axis, client, VPUBND)
    agencies = (await system.call("getAgenciesList"))["data"]
    office = next(a for a in agencies if a["code"] == BG_OFFICE)
    assert set(office) == {"id", "code", "name", "mail", "pid", "oldCode"}
    assert office["pid"] == "000.00.00.H04"
    units = (await system.call("getSynchronizeUnit"))["data"]
    unit = next(u for u in units if u["code"] == BG_OFFICE)
    assert (unit["version"], unit["deleted"], unit["isAgency"]) == (1, False, True)
    registration = json.dumps(
        {"id": "", "pcode": BG_OFFICE, "code": "000.01.01.H04", "name": "Phòng Hành chính"}
    )
    ok(await system.raw("registerAgency", {}, registration.encode()))
    codes = [a["code"] for a in (await system.call("getAgenciesListQD20"))["data"]]
    assert "000.01.01.H04" in codes
    other = sdk(axis, client, SNV)
    fail(await other.raw("deleteAgency", {"AgencyCode": "000.01.01.H04"}), 403, "entitle")
    ok(await system.raw("deleteAgency", {"AgencyCode": "000.01.01.H04"}))
    fail(await system.raw("registerAgency", {}, b"{not json"), 400, "json")
    taken = json.dumps({"code": BG_OFFICE, "name": "x"}).encode()
    fail(await system.raw("registerAgency", {}, taken), 409, "already")


async def test_every_refusal_is_the_sdks_fail_reply_and_audited(
    axis: RunningTopology, client: httpx.AsyncClient
) -> None:
    system = sdk(axis, client, VPUBND)
    base = f"{axis.url(LGSP)}/vxp"

    # no signature at all, an unknown system, a wrong secret
    fail(await client.post(f"{base}/getAgenciesList"), 403, "missing")
    stranger = SdkClient(client, base, "vxp.nobody", "some-secret-value")
    fail(await stranger.raw("getAgenciesList", {}), 403, "no system")
    wrong = SdkClient(client, base, VPUBND, "not-the-secret-at-all")
    response = await wrong.raw("getAgenciesList", {})
    fail(response, 403, "hmac")
    records = await audit_records(
        client, axis.url(LGSP), axis.topology, LGSP, message_id=response.headers["X-Message-Id"]
    )
    assert [(r.status, r.outcome) for r in records] == [(403, "axis-bad-signature")]

    # a signature over other values than those sent
    system.headers["Content-Type"] = "application/json"
    system.headers["docId"] = "doc-a"
    headers = system.signed_headers()
    headers["XroadVnpt-docId"] = b"doc-b"
    fail(await client.post(f"{base}/getEdoc", headers=headers), 403, "differs")
    # an unsigned parameter beside a good signature is not read
    headers = system.signed_headers()
    headers["XroadVnpt-status"] = b"done"
    fail(await client.post(f"{base}/updateStatus", headers=headers), 400, "needs")
    # a key list that does not match the signed JSON
    headers = system.signed_headers()
    headers["XroadVnpt-sign-header-key"] = b"systemid;timestamp"
    fail(await client.post(f"{base}/getAgenciesList", headers=headers), 403, "sign-header-key")

    # malformed headers: timestamp, sign-header JSON, a repeated header
    odd = sdk(axis, client, VPUBND)
    odd.headers["timestamp"] = "2026-12-03T09:00:00"
    fail(await odd.raw("getAgenciesList", {}), 400, "ddMMyyyy")
    odd.headers["timestamp"] = "31022026T090000+0001"
    fail(await odd.raw("getAgenciesList", {}), 400, "real date")
    good = sdk(axis, client, VPUBND)
    good.headers["Content-Type"] = "application/json"
    headers = good.signed_headers()
    bad_json = b"[1, 2]"
    headers["XroadVnpt-sign-header"] = bad_json
    headers["XroadVnpt-hash-header"] = (
        hmac.new(good.secret.encode(), bad_json, hashlib.sha256).hexdigest().encode()
    )
    fail(await client.post(f"{base}/getAgenciesList", headers=headers), 400, "json object")
    twice = [*good.signed_headers().items(), ("XroadVnpt-systemid", VPUBND.encode())]
    fail(await client.post(f"{base}/getAgenciesList", headers=twice), 400, "twice")
    fail(await good.raw("noSuchOperation", {}), 404, "no operation")

    # sendEdoc: a sender that is not the system's agency, a wrong hash, a wrong messagetype,
    # a package from another agency, a body over the limit
    package = package_to_xml(package_to("2301", BG_NOIVU))
    fail(await sdk(axis, client, VPUBND).send(package, sender="000.00.12.H04"), 403, "sends as")
    tampered = sdk(axis, client, VPUBND)
    tampered.headers["hash-file"] = "00" * 32
    response = await tampered.raw("sendEdoc", {}, package, media="application/octet-stream")
    fail(response, 400, "sha-256")
    fail(await sdk(axis, client, VPUBND).send(package, "revocation"), 422, "bussinessdoctype")
    unknown_kind = await sdk(axis, client, VPUBND).send(package, "circular")
    fail(unknown_kind, 400, "one of")
    fail(await sdk(axis, client, SNV).send(package), 403, "belongs to agency")
    fail(await sdk(axis, client, VPUBND).send(b"<edXML", "edoc"), 400, "xml")
    huge = b"x" * (MAX_DOCUMENT + 1)
    fail(await sdk(axis, client, VPUBND).send(huge), 413, "limit")

    # unknown documents and documents the system may not see
    fail(await system.raw("getEdoc", {"docId": "doc-unknown"}), 404, "no document")
    fail(await system.raw("updateStatus", {"docId": "doc-unknown", "status": "done"}), 404, "")
    fail(await system.raw("getSentEdocList", {"docId": "doc-unknown"}), 404, "")
    mine = ok(await sdk(axis, client, VPUBND).send(package))["DocId"]
    outsider = sdk(axis, client, BN_SNV)
    fail(await outsider.raw("getEdoc", {"docId": mine}), 404, "no document")
    fail(await outsider.raw("updateStatus", {"docId": mine, "status": "done"}), 404, "")
    fail(await system.raw("updateStatus", {"docId": mine, "status": "done"}), 403, "receiver")
    snv = sdk(axis, client, SNV)
    fail(await snv.raw("updateStatus", {"docId": mine, "status": "finished"}), 400, "one of")
    fail(await snv.raw("getReceivedEdocList", {"messagetype": "fax"}), 400, "one of")

    # nothing answered a 500, and the refusals are in the audit log as FAIL exchanges
    records = await audit_records(
        client, axis.url(LGSP), axis.topology, LGSP, consumer=f"vxp:{VPUBND}", limit="200"
    )
    statuses = {r.status for r in records if r.path.startswith("/vxp/")}
    assert 500 not in statuses
    assert {400, 403, 404, 413, 422} <= statuses


async def test_a_receiver_that_fails_keeps_the_document_and_the_sender_hears_it(
    axis: RunningTopology, client: httpx.AsyncClient
) -> None:
    sender = sdk(axis, client, VPUBND)
    package = package_to("2401", BG_NOIVU)
    doc_id = ok(await sender.send(package_to_xml(package)))["DocId"]
    snv = sdk(axis, client, SNV)
    # a Vietnamese description travels as UTF-8 header bytes, signed as sent
    reason = {"docId": doc_id, "status": "fail", "description": "Không đọc được tệp"}
    ok(await snv.raw("updateStatus", reason))
    assert doc_id in await received_ids(snv)  # still waiting, for the next poll
    rows = (await sender.call("getSentEdocList", {"docId": doc_id}))["data"]
    assert rows[0]["receiveStatus"] == "inbox"
    qlvb_view = await client.get(
        f"{axis.url(LGSP)}/documents/{doc_id}",
        headers=await bearer(client, axis.url(LGSP), axis.topology, "noivu-bac-giang"),
    )
    trail = DocumentView.model_validate(qlvb_view.json()).trail
    assert any("could not take" in e.detail and "Không đọc được tệp" in e.detail for e in trail)
    ok(await snv.raw("updateStatus", {"docId": doc_id, "status": "inbox"}))
    assert doc_id not in await received_ids(snv)
    ok(await snv.raw("updateStatus", {"docId": doc_id, "status": "done"}))
    rows = (await sender.call("getSentEdocList", {"docId": doc_id}))["data"]
    assert (rows[0]["receiveStatus"], rows[0]["receiveStatusDesc"]) == ("done", "Đã hoàn thành")


def test_the_topology_refuses_axis_systems_it_cannot_serve() -> None:
    raw = axis_topology().model_dump(mode="json", exclude_none=True)
    first = raw["axis_systems"][0]
    raw["axis_systems"] += [
        {**first, "name": "a second system with the same id"},
        {**first, "systemid": "vxp.nowhere", "agency": "000.00.99.H04"},
        {**first, "systemid": "vxp.noplatform", "platform": "lgsp-atlantis"},
        {**first, "systemid": "vxp.elsewhere", "agency": BN_NOIVU},
    ]
    with pytest.raises(ValueError) as refused:
        Topology.model_validate(raw)
    message = str(refused.value)
    assert "axis_systems: systemid values must be unique" in message
    assert "(vxp.nowhere).agency: 000.00.99.H04 is not in agencies" in message
    assert "(vxp.noplatform).platform: 'lgsp-atlantis' is not a platform" in message
    assert f"(vxp.elsewhere).platform: {BN_NOIVU} receives documents at {OTHER_LGSP}" in message


async def test_one_sdk_object_keeps_every_key_it_was_given_and_is_still_understood(
    axis: RunningTopology, client: httpx.AsyncClient
) -> None:
    """edoc-integrator's flow on one KnobstickServiceImp: getEdoc with `docId`, updateStatus
    with `docid`; from then on both spellings are signed and sent on every call."""
    sender = sdk(axis, client, VPUBND)
    first = ok(await sender.send(package_to_xml(package_to("2501", BG_NOIVU))))["DocId"]
    second = ok(await sender.send(package_to_xml(package_to("2502", BG_NOIVU))))["DocId"]
    snv = sdk(axis, client, SNV)
    for doc_id in (first, second):
        got = await snv.call("getEdoc", {"filePath": "xml", "docId": doc_id})
        assert package_from_xml(base64.b64decode(got["data"])).to[0].organId == BG_NOIVU
        ok(await snv.raw("updateStatus", {"status": "done", "docid": doc_id}))
    assert {"docId", "docid", "filePath", "status"} <= set(snv.headers)
    waiting = await received_ids(snv)
    assert first not in waiting and second not in waiting
    # a stale `docid` beside the operation's own `docId`: the operation's spelling wins
    snv.headers["docid"] = "doc-stale"
    got = await snv.call("getEdoc", {"docId": first})
    assert package_from_xml(base64.b64decode(got["data"])).code.codeNumber == "2501"


async def test_without_a_messagetype_the_package_says_what_it_is(
    axis: RunningTopology, client: httpx.AsyncClient
) -> None:
    edxml = package_to_xml(package_to("2601", BG_NOIVU))
    bare = sdk(axis, client, VPUBND)
    params = {"hash-file": hashlib.sha256(edxml).hexdigest()}  # proper hex is taken too
    doc_id = ok(await bare.raw("sendEdoc", params, edxml, media="application/octet-stream"))[
        "DocId"
    ]
    rows = (await bare.call("getSentEdocList", {"docId": doc_id}))["data"]
    assert [(r["messageType"], r["toCode"]) for r in rows] == [("edoc", BG_NOIVU)]


async def test_a_signed_package_sent_through_the_sdk_reaches_an_sdk_reader_byte_identical(
    axis: RunningTopology, client: httpx.AsyncClient
) -> None:
    data_dir = axis.settings.data_dir
    mine = pki.ensure_agency(data_dir, BG_OFFICE, axis.topology.agency_name(BG_OFFICE))
    signed = sign_package(package_to_xml(package_to("2977", BN_NOIVU)), mine.key, mine.certificate)
    sender = sdk(axis, client, VPUBND)
    doc_id = ok(await sender.send(signed))["DocId"]

    # Bắc Ninh's Home Affairs gets the very bytes signed, LGSP -> NGSP -> LGSP Bắc Ninh
    reader = sdk(axis, client, BN_SNV)
    await eventually(lambda: received_ids(reader), "the signed document in Bắc Ninh")
    got = base64.b64decode((await reader.call("getEdoc", {"docId": doc_id}))["data"])
    assert got == signed

    # a package altered after signing is the SDK's FAIL, saying so
    altered = signed.replace(b"<edXML:Subject>", b"<edXML:Subject>[changed] ", 1)
    refused = fail(await sender.send(altered), 422, "changed after it was signed")
    assert refused["DocId"] == ""
