"""Documents and the axis as real e-office systems send them (issue 21, items 2 and 3).

Each feature is what a public client or sample writes, reproduced in packages of our own:
- an undeclared prefix (`xlink:href` on a manifest Reference, no xmlns:xlink), as the vendor's
  sample package writes it (PVN-Organization/API-Gateway-iOffice `JDK 1.8/SDKVXP_Example/.../
  edoc.edxml`) and namespace-unaware parsers read it (QuangChuIT/edoc-integrator `XmlUtil.java`);
- trace entries of earlier organs in an update (`000.00.00.G22`, the vendor's `edoc_update.edxml`;
  Bkav's hub stores and forwards sender traces);
- From/OrganId and `from` = the system id with no TraceHeaderList (PVN's gateway,
  `EdxmlAggregateBuilder.java`), and every kind sent as `messagetype: edoc` (Bkav's
  `ServiceVPCP.java`);
- document ids of 24 lowercase hex characters, as the axis gives them.
Each goes through `/documents` and `/vxp`, within Bắc Giang and across NGSP to Bắc Ninh.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from contracts.edxml import (
    MAX_SENDER_TRACE_HEADERS,
    NAMESPACE,
    DocumentPackage,
    DocumentView,
    TraceHeader,
)
from contracts.edxml.xml import XmlRefused, package_from_xml, package_to_xml, parse
from contracts.topology import Topology
from gateway.documents.store import new_document_id
from sandbox.testing.harness import RunningTopology, run_topology
from tests.document_topology import BG_NOIVU, BG_OFFICE, GOV_OFFICE, OTHER_LGSP, delivery_settings
from tests.helpers import assert_problem, bearer
from tests.node_processes import node_processes, wait_healthy
from tests.test_axis_sdk import (
    BN_NOIVU,
    BN_SNV,
    MAX_DOCUMENT,
    SNV,
    VPUBND,
    SdkClient,
    axis_topology,
    eventually,
    fail,
    ok,
    package_to,
    received_ids,
    sdk,
)

pytestmark = pytest.mark.sockets

LGSP = "lgsp-bac-giang"
LGSP_ORGAN = "000.00.12.H04"  # the organ Bắc Giang's LGSP writes into TraceHeader
SENDER = "qlvb-bac-giang"  # /documents consumer of BG_OFFICE
BG_READER = "noivu-bac-giang"  # /documents consumer of BG_NOIVU (an inbox)
BN_READER = "noivu-bac-ninh"  # /documents consumer of BN_NOIVU (an inbox at Bắc Ninh)
AXIS_ID = re.compile(r"^[0-9a-f]{24}$")


def topology() -> Topology:
    raw = axis_topology().model_dump(mode="json", exclude_none=True)
    raw["consumers"].append(
        {
            "id": BN_READER,
            "name": "Sở Nội vụ tỉnh Bắc Ninh",
            "platform": OTHER_LGSP,
            "agency": BN_NOIVU,
            "client_id": "noivu-bac-ninh-key",
            "client_secret": "noivu-bac-ninh-secret",
        }
    )
    return Topology.model_validate(raw)


@pytest.fixture(scope="module")
async def run(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningTopology]:
    data = tmp_path_factory.mktemp("real-clients")
    settings = delivery_settings(data, document_max_bytes=MAX_DOCUMENT)
    async with run_topology(topology(), data, settings=settings) as running:
        yield running


async def post_xml(
    client: httpx.AsyncClient, run: RunningTopology, body: bytes, consumer: str = SENDER
) -> httpx.Response:
    headers = {**await bearer(client, run.url(LGSP), run.topology, consumer)}
    headers["Content-Type"] = "application/xml"
    return await client.post(f"{run.url(LGSP)}/documents", content=body, headers=headers)


async def view_at(
    client: httpx.AsyncClient, run: RunningTopology, platform: str, consumer: str, doc_id: str
) -> DocumentView:
    headers = await bearer(client, run.url(platform), run.topology, consumer)
    response = await client.get(f"{run.url(platform)}/documents/{doc_id}", headers=headers)
    assert response.status_code == 200, response.text
    return DocumentView.model_validate(response.json())


async def in_bn_inbox(client: httpx.AsyncClient, run: RunningTopology, doc_id: str) -> bool:
    """Across NGSP: Bắc Ninh's Home Affairs holds it, read both through the SDK and /documents."""
    reader = sdk(run, client, BN_SNV)

    async def listed() -> bool:
        return doc_id in await received_ids(reader)

    await eventually(listed, f"{doc_id} in Bắc Ninh's axis list")
    headers = await bearer(client, run.url(OTHER_LGSP), run.topology, BN_READER)
    inbox = await client.get(f"{run.url(OTHER_LGSP)}/documents/inbox", headers=headers)
    assert doc_id in [d["id"] for d in inbox.json()["documents"]], inbox.text
    return True


async def in_bg_inbox(client: httpx.AsyncClient, run: RunningTopology, doc_id: str) -> None:
    """Within the province: Bắc Giang's Home Affairs holds it, through the SDK and /documents."""
    assert doc_id in await received_ids(sdk(run, client, SNV))
    headers = await bearer(client, run.url(LGSP), run.topology, BG_READER)
    inbox = await client.get(f"{run.url(LGSP)}/documents/inbox", headers=headers)
    assert doc_id in [d["id"] for d in inbox.json()["documents"]], inbox.text


def with_xlink(edxml: bytes) -> bytes:
    """Every manifest Reference with `xlink:href=""` and no xmlns:xlink anywhere."""
    marked = edxml.replace(b"<edXML:Reference>", b'<edXML:Reference xlink:href="">')
    assert marked != edxml and b"xmlns:xlink" not in marked
    return marked


# -- an undeclared prefix ------------------------------------------------------------------


def test_the_reader_takes_undeclared_prefixes_and_nothing_else_malformed() -> None:
    edxml = with_xlink(package_to_xml(package_to("3001", BG_NOIVU)))
    with pytest.raises(etree.XMLSyntaxError):  # what a namespace-aware parser says
        etree.fromstring(edxml)
    package = package_from_xml(edxml)
    assert package.code.codeNumber == "3001" and len(package.attachments) == 2
    # an element under an undeclared prefix is read by its local name, as the field does
    renamed = edxml.replace(b"edXML:Subject>", b"v:Subject>")
    assert package_from_xml(renamed).subject == package.subject

    refused = {
        "a stray text before the declaration": b"edxml " + edxml,
        "an unclosed element beside the prefix": edxml.replace(b"</edXML:Subject>", b"", 1),
        "a repeated attribute beside the prefix": edxml.replace(
            b'xlink:href=""', b'xlink:href="" xlink:href="x"', 1
        ),
        "an undefined entity beside the prefix": edxml.replace(b"<edXML:Content>", b"&x;", 1),
        "a DOCTYPE beside the prefix": edxml.replace(
            b"?>\n", b'?>\n<!DOCTYPE edXML [<!ENTITY a "a">]>\n', 1
        ),
    }
    for what, body in refused.items():
        with pytest.raises(XmlRefused) as caught:
            parse(body)
        assert caught.value.slug == "invalid-xml", what
    deep = b"<a>" * 40 + b"<x:b/>" + b"</a>" * 40  # bounds hold in the lenient reading too
    with pytest.raises(XmlRefused) as caught:
        parse(deep)
    assert caught.value.slug == "xml-limit-exceeded"


async def test_an_undeclared_prefix_travels_through_documents_and_the_axis(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    edxml = with_xlink(package_to_xml(package_to("3101", BG_NOIVU, BN_NOIVU)))
    sent = await post_xml(client, run, edxml)
    assert sent.status_code == 202, sent.text
    await in_bg_inbox(client, run, sent.json()["id"])
    await in_bn_inbox(client, run, sent.json()["id"])

    edxml = with_xlink(package_to_xml(package_to("3102", BG_NOIVU, BN_NOIVU)))
    doc_id = ok(await sdk(run, client, VPUBND).send(edxml))["DocId"]
    await in_bg_inbox(client, run, doc_id)
    await in_bn_inbox(client, run, doc_id)
    data = (await sdk(run, client, BN_SNV).call("getEdoc", {"docId": doc_id}))["data"]
    assert package_from_xml(base64.b64decode(data)).code.codeNumber == "3102"

    # what the vendor's parser cannot read either stays refused, at both doors
    for body in (b"edxml " + edxml, edxml.replace(b"</edXML:Subject>", b"", 1)):
        assert_problem(await post_xml(client, run, body), 400, "invalid-xml")
        fail(await sdk(run, client, VPUBND).send(body), 400, "well-formed")


# -- trace entries of earlier organs: the sender's claim -----------------------------------


def update_of(original: DocumentPackage, number: str, traces: list[TraceHeader]) -> bytes:
    """An update of `original`, carrying the trail the sender says it has (as the vendor's
    update sample carries the Government Office's entry)."""
    data = original.model_dump(by_alias=True)
    data["code"]["codeNumber"] = number
    data["documentId"] = ""
    data["traceHeaderList"] = [t.model_dump() for t in traces]
    data["bussiness"] = {
        "documentId": original.documentId,
        "bussinessDocType": 2,
        "bussinessDocReason": "Cập nhật nơi nhận",
        "bussinessDocumentInfo": {"documentInfo": 1, "documentReceiver": 0},
    }
    return package_to_xml(DocumentPackage.model_validate(data))


CLAIMS = [
    TraceHeader(organId=GOV_OFFICE, timestamp=datetime(2026, 11, 18, 9, 0)),
    TraceHeader(organId="000.00.00.G10", timestamp=datetime(2026, 11, 18, 9, 5)),
    TraceHeader(organId=BG_OFFICE, timestamp=datetime(2026, 11, 20, 8, 0)),
]


def claims_shown(view: DocumentView) -> None:
    assert view.claimedTrace == CLAIMS
    claimed = [e.detail for e in view.trail if e.event == "claimed"]
    assert [d.split(" ")[1] for d in claimed] == [c.organId for c in CLAIMS]
    assert all("claim" in d for d in claimed)
    # never identity nor routing: the sender is the caller's agency, receivers are `to`
    assert view.sender == BG_OFFICE
    assert GOV_OFFICE not in {r.organId for r in view.receivers}


async def test_trace_entries_of_earlier_organs_are_kept_as_the_senders_claim(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    original = package_to("3201", BG_NOIVU, BN_NOIVU)
    first = await post_xml(client, run, package_to_xml(original))
    assert first.status_code == 202, first.text

    # through /documents, within the province and across NGSP
    response = await post_xml(client, run, update_of(original, "3202", CLAIMS))
    assert response.status_code == 202, response.text
    doc_id = response.json()["id"]
    assert response.json()["kind"] == "update"
    claims_shown(await view_at(client, run, LGSP, SENDER, doc_id))
    claims_shown(await view_at(client, run, LGSP, BG_READER, doc_id))
    await in_bn_inbox(client, run, doc_id)
    at_bn = await view_at(client, run, OTHER_LGSP, BN_READER, doc_id)
    claims_shown(at_bn)
    # the receiver's package: the claims as written, then each platform's own entry
    data = (await sdk(run, client, BN_SNV).call("getEdoc", {"docId": doc_id}))["data"]
    trail = package_from_xml(base64.b64decode(data)).traceHeaderList
    assert trail[: len(CLAIMS)] == CLAIMS
    platforms = [LGSP_ORGAN, "000.00.00.G10", "000.00.12.H06"]  # LGSP, NGSP, LGSP Bắc Ninh
    assert [t.organId for t in trail[len(CLAIMS) :]] == platforms

    # through the axis, as Bkav's hub forwards what senders wrote
    axis_update = update_of(original, "3203", CLAIMS)
    via_axis = ok(await sdk(run, client, VPUBND).send(axis_update, "update"))["DocId"]
    claims_shown(await view_at(client, run, LGSP, BG_READER, via_axis))
    await in_bn_inbox(client, run, via_axis)
    claims_shown(await view_at(client, run, OTHER_LGSP, BN_READER, via_axis))

    # a claim is data, not trust: bounded, so every platform on the way has room for its own
    too_many = update_of(original, "3204", [CLAIMS[0]] * (MAX_SENDER_TRACE_HEADERS + 1))
    problem = assert_problem(await post_xml(client, run, too_many), 422, "too-many-trace-headers")
    assert [e["field"] for e in problem["errors"]] == ["$.traceHeaderList"]
    fail(await sdk(run, client, VPUBND).send(too_many, "update"), 422, "at most")


# -- the axis as public gateways call it ---------------------------------------------------


def as_pvn_gateway(package: DocumentPackage, systemid: str) -> bytes:
    """From/OrganId = the system id and no TraceHeaderList, as EdxmlAggregateBuilder builds it."""
    data = package.model_dump(by_alias=True)
    data["from"]["organId"] = systemid
    data["documentId"] = ""
    root = etree.fromstring(package_to_xml(DocumentPackage.model_validate(data)))
    header = root.find(f".//{{{NAMESPACE}}}edXMLHeader")
    assert header is not None
    traces = header.find(f"{{{NAMESPACE}}}TraceHeaderList")
    assert traces is not None
    header.remove(traces)
    edxml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return edxml


async def test_a_system_id_sender_without_trace_headers_is_its_systems_agency(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    edxml = as_pvn_gateway(package_to("3301", BG_NOIVU, BN_NOIVU), VPUBND)
    doc_id = ok(await sdk(run, client, VPUBND).send(edxml, sender=VPUBND))["DocId"]
    await in_bg_inbox(client, run, doc_id)
    await in_bn_inbox(client, run, doc_id)
    listed = await sdk(run, client, BN_SNV).call("getReceivedEdocList", {"messagetype": "edoc"})
    assert next(i for i in listed["data"] if i["docId"] == doc_id)["from"] == BG_OFFICE
    assert (await view_at(client, run, OTHER_LGSP, BN_READER, doc_id)).sender == BG_OFFICE
    # the package itself stays as its sender wrote it
    data = (await sdk(run, client, BN_SNV).call("getEdoc", {"docId": doc_id}))["data"]
    assert package_from_xml(base64.b64decode(data)).from_.organId == VPUBND

    # /documents takes the same package from a consumer of that agency, no other
    same = as_pvn_gateway(package_to("3302", BG_NOIVU, BN_NOIVU), VPUBND)
    sent = await post_xml(client, run, same)
    assert sent.status_code == 202, sent.text
    assert (await view_at(client, run, LGSP, BG_READER, sent.json()["id"])).sender == BG_OFFICE
    await in_bn_inbox(client, run, sent.json()["id"])
    at_bn = await view_at(client, run, OTHER_LGSP, BN_READER, sent.json()["id"])
    assert at_bn.sender == BG_OFFICE
    assert_problem(await post_xml(client, run, same, BG_READER), 403, "sender-mismatch")
    # another system's id is not this system's agency
    fail(await sdk(run, client, SNV).send(same, sender=SNV), 403, "belongs to agency")
    fail(await sdk(run, client, SNV).send(same, sender=VPUBND), 403, "sends as")


async def test_every_kind_sent_as_edoc_is_what_its_bussinessdoctype_says(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    sender = sdk(run, client, VPUBND)
    original = package_to("3401", BG_NOIVU, BN_NOIVU)
    first = ok(await sender.send(package_to_xml(original)))["DocId"]
    await in_bn_inbox(client, run, first)

    def kind(number: str, bussiness: dict[str, Any]) -> bytes:
        data = original.model_dump(by_alias=True)
        data["code"]["codeNumber"] = number
        data["documentId"] = ""
        data["bussiness"] = bussiness
        return package_to_xml(DocumentPackage.model_validate(data))

    target = original.documentId
    kinds = {
        "update": kind("3402", {"documentId": target, "bussinessDocType": 2}),
        "replacement": kind(
            "3403",
            {
                "bussinessDocType": 3,
                "replacementInfoList": [{"documentId": target, "organIdList": [BG_NOIVU]}],
            },
        ),
        "revocation": kind("3404", {"documentId": target, "bussinessDocType": 1}),
    }
    for word, edxml in kinds.items():
        doc_id = ok(await sender.send(edxml, "edoc"))["DocId"]
        for reader in (sdk(run, client, SNV), sdk(run, client, BN_SNV)):
            item = await eventually(listed(reader, doc_id), f"the {word} at {reader.endpoint}")
            assert item["messageType"] == word
        # a specific word still has to agree with the package
        other = "replacement" if word != "replacement" else "update"
        fail(await sender.send(edxml, other), 422, "bussinessdoctype")


def listed(reader: SdkClient, doc_id: str) -> Callable[[], Awaitable[dict[str, str] | None]]:
    async def check() -> dict[str, str] | None:
        data = (await reader.call("getReceivedEdocList", {"messagetype": "edoc"}))["data"]
        return next((i for i in data if i["docId"] == doc_id), None)

    return check


# -- document ids as the axis gives them ---------------------------------------------------


async def test_document_ids_are_24_lowercase_hex_everywhere(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    sent = await post_xml(client, run, package_to_xml(package_to("3501", BG_NOIVU, BN_NOIVU)))
    assert sent.status_code == 202, sent.text
    via_axis = ok(await sdk(run, client, VPUBND).send(package_to_xml(package_to("3502", BN_NOIVU))))
    for doc_id in (sent.json()["id"], via_axis["DocId"]):
        assert AXIS_ID.match(doc_id), doc_id
        await in_bn_inbox(client, run, doc_id)  # the same id at every platform on the way
    rows = (await sdk(run, client, VPUBND).call("getSentEdocList", {"docId": via_axis["DocId"]}))[
        "data"
    ]
    assert {r["senderDocId"] for r in rows} == {via_axis["DocId"]}


@pytest.mark.processes
def test_document_ids_stay_unique_across_processes_and_restarts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    many = [new_document_id() for _ in range(50_000)]
    assert len(set(many)) == len(many)
    assert all(AXIS_ID.match(i) for i in many)
    seconds = [i[:8] for i in many]
    assert seconds == sorted(seconds)  # ids sort by the second they were made

    # another process (another platform, or this one restarted) draws its own bytes
    code = "from gateway.documents.store import new_document_id; print(new_document_id())"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    others = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        ).stdout.strip()
        for _ in range(2)
    }
    assert all(AXIS_ID.match(i) for i in others)
    assert len({i[8:18] for i in others} | {many[0][8:18]}) == 3

    # a forked worker (--nodes-per-worker) is another process id: it draws its own bytes
    monkeypatch.setattr(os, "getpid", lambda: -2)
    assert new_document_id()[8:18] != many[0][8:18]


@pytest.mark.processes
async def test_ids_and_claims_survive_a_sigkill_and_the_restart_makes_new_ids(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    async with node_processes(tmp_path) as launcher:
        await launcher.start([LGSP])
        lgsp = launcher.addresses.url(LGSP)
        await wait_healthy(client, lgsp)

        async def send(number: str) -> str:
            """An original, then an update of it carrying claims: the update's id."""
            headers = await bearer(client, lgsp, launcher.topology, SENDER)
            headers["Content-Type"] = "application/xml"
            original = package_to(number, BG_NOIVU)
            for body in (package_to_xml(original), update_of(original, f"{number}1", CLAIMS)):
                response = await client.post(f"{lgsp}/documents", content=body, headers=headers)
                assert response.status_code == 202, response.text
            return str(response.json()["id"])

        before = await send("3601")
        launcher.processes[LGSP].process.send_signal(signal.SIGKILL)
        await launcher.processes[LGSP].process.wait()
        await launcher.start_node(LGSP)
        await wait_healthy(client, lgsp)

        headers = await bearer(client, lgsp, launcher.topology, BG_READER)
        response = await client.get(f"{lgsp}/documents/{before}", headers=headers)
        assert response.status_code == 200, response.text
        claims_shown(DocumentView.model_validate(response.json()))
        after = await send("3602")
        assert AXIS_ID.match(before) and AXIS_ID.match(after)
        assert before[8:18] != after[8:18]  # the restarted process drew its own bytes
