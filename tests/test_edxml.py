"""edXML as XML: the shape written, what is read, what is refused (no network, no platform)."""

from __future__ import annotations

import base64
import hashlib
import string
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic import ValidationError

from contracts.edxml import (
    MAX_ATTACHMENT_BYTES,
    NAMESPACE,
    BussinessDocType,
    DocumentPackage,
    MessageKind,
    StatusCode,
    StatusPacket,
)
from contracts.edxml.xml import (
    MAX_DEPTH,
    MAX_ELEMENTS,
    XmlRefused,
    package_from_xml,
    package_to_xml,
    status_from_xml,
    status_to_xml,
)

FIXTURES = Path(__file__).parent / "data" / "edxml"
NEW_ID = "000.00.01.H04,2026/11/20,1234/UBND-KGVX"
MESSAGE_HEADER_ORDER = [
    "From",
    "To",
    "DocumentId",
    "Code",
    "PromulgationInfo",
    "DocumentType",
    "Subject",
    "Content",
    "SignerInfo",
    "DueDate",
    "OtherInfo",
    "SteeringType",
    "ToPlaces",
    "ResponseFor",
]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def test_a_written_package_has_the_real_shape() -> None:
    package = package_from_xml(fixture("reply-with-response-for.edxml"))
    xml = package_to_xml(package)
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="')
    root = etree.fromstring(xml)
    assert root.tag == f"{{{NAMESPACE}}}edXML" and root.prefix is None
    envelope = root[0]
    assert local(envelope) == "edXMLEnvelope" and envelope.prefix == "edXML"
    assert all(e.prefix == "edXML" for e in envelope.iter())
    assert [local(e) for e in envelope] == ["edXMLHeader", "edXMLBody"]
    header = envelope[0]
    assert [local(e) for e in header] == ["MessageHeader", "TraceHeaderList"]
    names = [local(e) for e in header[0]]
    assert names == sorted(names, key=MESSAGE_HEADER_ORDER.index) and set(names) == set(
        MESSAGE_HEADER_ORDER
    )
    sender = header[0][0]
    assert [local(e) for e in sender] == [
        "OrganId",
        "OrganizationInCharge",
        "OrganName",
        "OrganAdd",
        "Email",
        "Telephone",
        "Fax",
        "Website",
    ]
    other = header[0].find(f"{{{NAMESPACE}}}OtherInfo")
    assert [local(e) for e in other] == [
        "Priority",
        "SphereOfPromulgation",
        "TyperNotation",
        "PromulgationAmount",
        "PageAmount",
        "Direction",
        "Appendixes",
    ]
    ns = {"e": NAMESPACE}
    assert header.findtext("e:MessageHeader/e:PromulgationInfo/e:PromulgationDate", None, ns) == (
        "2026/11/20"
    )
    assert header.findtext("e:TraceHeaderList/e:TraceHeader/e:Timestamp", None, ns) == (
        "2026/11/20 08:30:00"
    )
    assert header.findtext("e:TraceHeaderList/e:Bussiness/e:BussinessDocType", None, ns) == "0"
    assert [local(e) for e in header[1]] == ["TraceHeader", "Bussiness"]


def test_attachments_travel_outside_the_envelope_base64_encoded() -> None:
    package = package_from_xml(fixture("new-with-attachments.edxml"))
    xml = package_to_xml(package)
    root = etree.fromstring(xml)
    assert [local(e) for e in root] == ["edXMLEnvelope", "AttachmentEncoded"]
    encoded = root[1]
    assert encoded.prefix is None
    for attachment, original in zip(encoded, package.attachments, strict=True):
        assert [local(e) for e in attachment] == [
            "ContentId",
            "AttachmentName",
            "Description",
            "ContentType",
            "ContentTransferEncoded",
        ]
        content = attachment[-1]
        assert content.prefix == "edXML" and content.nsmap["edXML"] == NAMESPACE
        assert base64.b64decode(content.text) == original.content()
    assert b'<edXML:ContentTransferEncoded xmlns:edXML="' in xml
    manifest = root[0][1][0]
    assert local(manifest) == "edXMLManifest" and manifest.get("version") == "1.0"
    assert [r[0].text for r in manifest] == ["cid:1", "cid:2"]


@pytest.mark.parametrize(
    ("name", "kind", "related"),
    [
        ("new-with-attachments.edxml", MessageKind.NEW, None),
        ("revocation.edxml", MessageKind.REVOCATION, NEW_ID),
        ("update.edxml", MessageKind.UPDATE, NEW_ID),
        ("replacement.edxml", MessageKind.REPLACEMENT, NEW_ID),
    ],
)
def test_the_kind_is_the_bussiness_doc_type(
    name: str, kind: MessageKind, related: str | None
) -> None:
    package = package_from_xml(fixture(name))
    assert package.kind is kind
    assert package.related_document == related
    assert package_from_xml(package_to_xml(package)) == package


def test_an_update_names_its_receivers_and_a_replacement_what_it_replaces() -> None:
    update = package_from_xml(fixture("update.edxml"))
    info = update.bussiness.bussinessDocumentInfo
    assert info is not None and (info.documentInfo, info.documentReceiver) == (1, 1)
    assert [(r.organId, r.receiverType) for r in info.receiverList] == [
        ("000.00.12.H04", 0),
        ("000.00.05.H04", 1),
    ]
    replacement = package_from_xml(fixture("replacement.edxml")).bussiness
    assert replacement.bussinessDocType is BussinessDocType.REPLACEMENT
    assert replacement.replacementInfoList[0].organIdList == ["000.00.12.H04", "000.00.05.H04"]


def test_every_header_field_is_read() -> None:
    package = package_from_xml(fixture("reply-with-response-for.edxml"))
    assert package.from_.organizationInCharge == "UBND tỉnh Bắc Giang"
    assert package.from_.telephone == "0204 3854 352"
    assert package.from_.website == "bacgiang.gov.vn"
    assert package.documentType.typeDetail == 0
    assert package.signerInfo.competence == "TL. CHỦ TỊCH"
    assert package.dueDate == date(2026, 12, 5)
    other = package.otherInfo
    assert (other.priority, other.promulgationAmount, other.pageAmount) == (1, 3, 2)
    assert (other.typerNotation, other.direction) == ("TTB", False)
    assert other.appendixes == ["Danh sách cơ quan kết nối"]
    assert package.toPlaces == ["Các sở, ban, ngành tỉnh", "Lưu: VT, KGVX"]
    assert [(r.organId, r.code, r.documentId) for r in package.responseFor] == [
        ("000.00.01.H04", "1234/UBND-KGVX", NEW_ID)
    ]
    assert package.traceHeaderList[0].timestamp == datetime(2026, 11, 20, 8, 30)


def test_readers_match_local_names_whatever_the_prefixes() -> None:
    package = package_from_xml(fixture("odd-prefixes.edxml"))
    assert package.from_.organId == "000.00.01.H04"  # padded in the file
    assert package.from_.organName == "Văn phòng UBND tỉnh Bắc Giang"
    assert package.to[0].organId == "000.00.12.H04"  # unprefixed in the file
    assert package.promulgationInfo.promulgationDate == date(2026, 11, 21)  # dd/MM/yyyy
    assert package.documentType.type == 5
    assert package.dueDate is None  # an empty DueDate
    assert package.otherInfo.direction is True
    assert [t.organId for t in package.traceHeaderList] == ["000.00.01.H04"]  # after Bussiness
    assert package.bussiness.staffInfo is not None
    assert package.bussiness.staffInfo.staff == "Nguyễn Thị Hoa"
    # base64 wrapped in lines: the same bytes
    assert package.attachments[0].content() == "Lịch họp giao ban tháng 12\n".encode()
    assert package.attachments[0].description == ""


def test_a_status_packet_has_the_real_shape_and_reads_back() -> None:
    packet = status_from_xml(fixture("status-03.edxml"))
    assert packet.statusCode is StatusCode.ACCEPTED
    assert packet.from_.organId == "000.00.05.H04"
    assert packet.responseFor.documentId == NEW_ID
    assert packet.responseFor.promulgationDate == date(2026, 11, 20)
    assert packet.staffInfo.staff == "Lê Văn Cường"
    assert packet.timestamp == datetime(2026, 11, 20, 9, 15)
    xml = status_to_xml(packet)
    root = etree.fromstring(xml)
    assert local(root) == "edXML" and root[0].prefix == "edXML"
    message = root[0][0][0]
    assert [local(e) for e in message] == [
        "From",
        "ResponseFor",
        "StaffInfo",
        "StatusCode",
        "Description",
        "Timestamp",
    ]
    assert [local(e) for e in message[1]] == ["OrganId", "Code", "PromulgationDate", "DocumentId"]
    assert status_from_xml(xml) == packet
    with pytest.raises(XmlRefused):
        package_from_xml(xml)  # a status is not a package
    with pytest.raises(XmlRefused):
        status_from_xml(fixture("new-with-attachments.edxml"))


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("hostile-billion-laughs.edxml", "invalid-xml"),
        ("hostile-external-entity.edxml", "invalid-xml"),
        ("hostile-deep-nesting.edxml", "xml-limit-exceeded"),
    ],
)
def test_hostile_xml_is_refused_before_anything_is_built(name: str, slug: str) -> None:
    with pytest.raises(XmlRefused) as refused:
        package_from_xml(fixture(name))
    assert refused.value.slug == slug


def test_nesting_and_element_count_are_bounded() -> None:
    deep = b"<edXML>" + b"<a>" * MAX_DEPTH + b"</a>" * MAX_DEPTH + b"</edXML>"
    with pytest.raises(XmlRefused, match=f"deeper than {MAX_DEPTH}"):
        package_from_xml(deep)
    wide = b"<edXML>" + b"<a/>" * MAX_ELEMENTS + b"</edXML>"
    with pytest.raises(XmlRefused, match=f"more than {MAX_ELEMENTS} elements"):
        package_from_xml(wide)
    with pytest.raises(XmlRefused) as refused:
        package_from_xml(b"<edXML><oops>")
    assert refused.value.slug == "invalid-xml"


def test_forged_trace_entries_beyond_the_bound_are_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        package_from_xml(fixture("hostile-forged-trace.edxml"))
    assert refused.value.errors()[0]["loc"] == ("traceHeaderList",)


def test_an_oversized_attachment_is_refused_and_one_at_the_limit_kept() -> None:
    data = package_from_xml(fixture("new-with-attachments.edxml")).model_dump(by_alias=True)
    exact = bytes(range(256)) * (MAX_ATTACHMENT_BYTES // 256)
    data["attachments"][0]["value"] = base64.b64encode(exact).decode()
    package = DocumentPackage.model_validate(data)
    again = package_from_xml(package_to_xml(package))
    assert hashlib.sha256(again.attachments[0].content()).digest() == hashlib.sha256(exact).digest()
    data["attachments"][0]["value"] = base64.b64encode(exact + b"!").decode()
    with pytest.raises(ValidationError, match=f"over {MAX_ATTACHMENT_BYTES} bytes"):
        DocumentPackage.model_validate(data)


def test_text_xml_cannot_carry_is_refused_by_the_model() -> None:
    data = package_from_xml(fixture("new-with-attachments.edxml")).model_dump(by_alias=True)
    data["subject"] = "bell \x07"
    with pytest.raises(ValidationError, match="U\\+0007"):
        DocumentPackage.model_validate(data)
    data["subject"] = "ok"
    data["promulgationInfo"]["promulgationDate"] = "2026-11-20"
    with pytest.raises(ValidationError, match="yyyy/MM/dd"):
        DocumentPackage.model_validate(data)


# -- property: what the sandbox writes, its own reader reads back identically --------------

_XML_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters=[chr(c) for c in range(32) if c not in (9, 10, 13)]
        + ["\ufffe", "\uffff"],
    ),
    max_size=40,
)
_ORGAN_ID = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,20}\Z")
_CID = st.from_regex(r"\A[A-Za-z0-9._@-]{0,12}\Z")
_DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31))
_TIMESTAMPS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)


def _organ() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"organId": _ORGAN_ID},
        optional={
            k: _XML_TEXT
            for k in (
                "organizationInCharge",
                "organName",
                "organAdd",
                "email",
                "telephone",
                "fax",
                "website",
            )
        },
    )


def _response_for() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"organId": _ORGAN_ID},
        optional={"code": _XML_TEXT, "promulgationDate": _DATES, "documentId": _XML_TEXT},
    )


_STAFF = st.fixed_dictionaries(
    {}, optional={k: _XML_TEXT for k in ("department", "staff", "email", "mobile")}
)


@st.composite
def packages(draw: st.DrawFn) -> DocumentPackage:
    to = draw(st.lists(_organ(), min_size=1, max_size=3, unique_by=lambda o: o["organId"]))
    kind = draw(st.sampled_from(list(BussinessDocType)))
    bussiness: dict[str, Any] = {
        "bussinessDocType": kind,
        "documentId": draw(_XML_TEXT.filter(bool) if kind in (1, 2) else _XML_TEXT),
        "bussinessDocReason": draw(_XML_TEXT),
        "paper": draw(st.integers(0, 1)),
        "staffInfo": draw(st.none() | _STAFF),
        "bussinessDocumentInfo": draw(
            st.none()
            | st.fixed_dictionaries(
                {
                    "documentInfo": st.integers(0, 9),
                    "documentReceiver": st.integers(0, 9),
                    "receiverList": st.lists(
                        st.fixed_dictionaries(
                            {"organId": _ORGAN_ID, "receiverType": st.integers(0, 9)}
                        ),
                        max_size=3,
                    ),
                }
            )
        ),
        "replacementInfoList": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "documentId": _XML_TEXT.filter(bool),
                        "organIdList": st.lists(_ORGAN_ID, max_size=3),
                    }
                ),
                min_size=1 if kind == 3 else 0,
                max_size=2,
            )
        ),
    }
    contents = draw(st.lists(st.binary(max_size=300), max_size=3))
    attachments = [
        {
            "contentId": f"cid:{i}-{draw(_CID)}",
            "contentType": draw(st.sampled_from(["application/pdf", "application/zip"])),
            "attachmentName": draw(_XML_TEXT.filter(bool)),
            "description": draw(_XML_TEXT),
            "value": base64.b64encode(content).decode(),
        }
        for i, content in enumerate(contents)
    ]
    data = {
        "from": draw(_organ()),
        "to": to,
        "documentId": draw(st.one_of(st.just(""), _XML_TEXT)),
        "code": {
            "codeNumber": draw(
                st.text(string.ascii_letters + string.digits, min_size=1, max_size=8)
            ),
            "codeNotation": draw(_XML_TEXT),
        },
        "promulgationInfo": {"place": draw(_XML_TEXT), "promulgationDate": draw(_DATES)},
        "documentType": {
            "type": draw(st.integers(0, 999)),
            "typeDetail": draw(st.integers(0, 999)),
            "typeName": draw(_XML_TEXT),
        },
        "subject": draw(_XML_TEXT.filter(bool)),
        "content": draw(_XML_TEXT),
        "signerInfo": {
            "competence": draw(_XML_TEXT),
            "position": draw(_XML_TEXT),
            "fullName": draw(_XML_TEXT),
        },
        "dueDate": draw(st.none() | _DATES),
        "otherInfo": {
            "priority": draw(st.integers(0, 4)),
            "sphereOfPromulgation": draw(_XML_TEXT),
            "typerNotation": draw(_XML_TEXT),
            "promulgationAmount": draw(st.integers(0, 1000)),
            "pageAmount": draw(st.integers(0, 1000)),
            "direction": draw(st.booleans()),
            "appendixes": draw(st.lists(_XML_TEXT, max_size=3)),
        },
        "steeringType": draw(st.integers(0, 9)),
        "toPlaces": draw(st.lists(_XML_TEXT, max_size=3)),
        "responseFor": draw(st.lists(_response_for(), max_size=2)),
        "traceHeaderList": draw(
            st.lists(
                st.fixed_dictionaries({"organId": _ORGAN_ID, "timestamp": _TIMESTAMPS}),
                max_size=4,
            )
        ),
        "bussiness": bussiness,
        "attachments": attachments,
    }
    return DocumentPackage.model_validate(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packages())
def test_a_written_package_reads_back_identically(package: DocumentPackage) -> None:
    assert package_from_xml(package_to_xml(package)) == package
    # the JSON form is a projection of the same model: it reads back identically too
    assert DocumentPackage.model_validate_json(package.model_dump_json(by_alias=True)) == package


@settings(max_examples=100, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "from": _organ(),
            "responseFor": _response_for(),
            "staffInfo": _STAFF,
            "statusCode": st.sampled_from(list(StatusCode)),
            "description": _XML_TEXT,
            "timestamp": st.none() | _TIMESTAMPS,
        }
    )
)
def test_a_written_status_packet_reads_back_identically(data: dict[str, Any]) -> None:
    packet = StatusPacket.model_validate(data)
    assert status_from_xml(status_to_xml(packet)) == packet
    assert StatusPacket.model_validate_json(packet.model_dump_json(by_alias=True)) == packet
