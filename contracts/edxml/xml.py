"""edXML as XML: read and write packages and status packets exactly as real ones are written.

Writing follows the shape of the packages e-office systems exchange: root
`<edXML xmlns="NS">`, `<edXML:edXMLEnvelope xmlns:edXML="NS">` with every envelope element
prefixed, the header fields in the standard's order, and after the envelope
`<AttachmentEncoded>` with one `<Attachment>` per file whose content is
`<edXML:ContentTransferEncoded xmlns:edXML="NS">` base64.

Reading matches elements on their local names only, in any order, ignoring elements it does
not know: real packages differ in prefixes, carry stray namespace declarations and put
TraceHeader and Bussiness in either order. The parser is lxml with entity expansion, DTD
loading and network access off; a DOCTYPE is refused outright, and nesting depth, element
count and size are bounded while parsing, before anything is built from the tree.

A prefix used without its declaration (`xlink:href` on a manifest Reference, as the vendor's
sample package writes it) is read, as the namespace-unaware parsers of the field read it
(the vendor's EdXML102 library; Bkav's hub: `setNamespaceAware(false)`, XmlUtil.java): a
document whose only faults are undefined prefixes is parsed again in libxml2's recovery
mode, under the same bounds. Any other fault, alone or beside those, is refused as before.
"""

from __future__ import annotations

import io
from typing import Any

from lxml import etree

from contracts.edxml.model import (
    NAMESPACE,
    Attachment,
    Bussiness,
    DocumentPackage,
    Organization,
    ResponseFor,
    StaffInfo,
    format_date,
    format_timestamp,
)
from contracts.edxml.status import StatusPacket

# Real packages nest at most ten levels (edXML/.../ReceiverList/Receiver/OrganId) and hold a
# few hundred elements; these bounds leave room for that and refuse what only an attack needs.
MAX_DEPTH = 32
MAX_ELEMENTS = 20_000
MAX_XML_BYTES = 16 * 1024 * 1024
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_E = f"{{{NAMESPACE}}}"


class XmlRefused(ValueError):
    """The body is not XML this reader takes: malformed, unsafe, or over a limit."""

    def __init__(self, slug: str, detail: str) -> None:
        super().__init__(detail)
        self.slug = slug  # "invalid-xml" or "xml-limit-exceeded"
        self.detail = detail


# -- parsing -------------------------------------------------------------------------------


def parse(body: bytes) -> etree._Element:
    """The root element of a safe, bounded XML document, or XmlRefused."""
    if len(body) > MAX_XML_BYTES:
        raise XmlRefused("xml-limit-exceeded", f"XML over {MAX_XML_BYTES} bytes")
    try:
        return _parse(body, recover=False)
    except _UndeclaredPrefixes:
        return _parse(body, recover=True)


class _UndeclaredPrefixes(Exception):
    """The document is well-formed XML but for prefixes used without a declaration."""


_UNDECLARED = etree.ErrorTypes.NS_ERR_UNDEFINED_NAMESPACE


def _parse(body: bytes, *, recover: bool) -> etree._Element:
    events = etree.iterparse(
        io.BytesIO(body),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=recover,
    )
    depth = count = 0
    try:
        for event, element in events:
            if event == "end":
                depth -= 1
                continue
            if count == 0 and element.getroottree().docinfo.doctype:
                raise XmlRefused(
                    "invalid-xml", "A DOCTYPE is not allowed: edXML declares no entities"
                )
            depth += 1
            count += 1
            if recover and len(set(element.keys())) != len(element.keys()):
                # Unique attribute names are XML 1.0 well-formedness, which libxml2 leaves to
                # namespace processing for prefixed names; a namespace-unaware reader refuses.
                raise XmlRefused("invalid-xml", f"An attribute is repeated on {element.tag[:80]}")
            if depth > MAX_DEPTH:
                raise XmlRefused("xml-limit-exceeded", f"XML nested deeper than {MAX_DEPTH} levels")
            if count > MAX_ELEMENTS:
                raise XmlRefused(
                    "xml-limit-exceeded", f"XML with more than {MAX_ELEMENTS} elements"
                )
        root: etree._Element | None = events.root
    except etree.XMLSyntaxError as exc:
        if "excessive depth" in str(exc).lower():
            # libxml2 (2.14 on) stops at its own depth limit (256) inside a chunk, before
            # the events reach the count above: the same refusal, whoever noticed first.
            raise XmlRefused(
                "xml-limit-exceeded", f"XML over a parser limit (depth {MAX_DEPTH}): {exc}"
            ) from None
        # libxml2 reports an undefined prefix and reads on to the end; only when nothing
        # else went wrong is the document worth reading again, leniently.
        if not recover and _only_undeclared_prefixes(events.error_log):
            raise _UndeclaredPrefixes() from None
        # Name the fault that made it unreadable, not an undefined prefix read before it.
        fault = next((e for e in events.error_log if e.type != _UNDECLARED), None)
        reason = exc if fault is None else f"{fault.message}, line {fault.line}"
        raise XmlRefused("invalid-xml", f"The body is not well-formed XML: {reason}") from None
    if recover and (root is None or not _only_undeclared_prefixes(events.error_log)):
        raise XmlRefused("invalid-xml", "The body is not well-formed XML")
    assert root is not None
    return root


def _only_undeclared_prefixes(log: etree._ListErrorLog) -> bool:
    return len(log) > 0 and all(error.type == _UNDECLARED for error in log)


def _local(element: etree._Element) -> str:
    tag = element.tag
    # `prefix:name` without a namespace: a prefix its writer never declared (read leniently).
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1] if isinstance(tag, str) else ""


def _all(parent: etree._Element | None, name: str) -> list[etree._Element]:
    if parent is None:
        return []
    return [child for child in parent if _local(child) == name]


def _one(parent: etree._Element | None, name: str) -> etree._Element | None:
    found = _all(parent, name)
    return found[0] if found else None


def _all_text(element: etree._Element) -> str:
    return "".join(t for t in element.itertext() if isinstance(t, str))


def _text(parent: etree._Element | None, name: str) -> str | None:
    element = _one(parent, name)
    return None if element is None else _all_text(element)


def _token(parent: etree._Element | None, name: str) -> str | None:
    """A typed value (id, number, date, flag): surrounding whitespace is layout, not data."""
    text = _text(parent, name)
    return None if text is None else text.strip()


def _fields(parent: etree._Element | None, spec: dict[str, bool]) -> dict[str, Any]:
    """{key: text} for the elements present; spec maps each key to "typed" (strip) or not.

    Only values whose model type admits no surrounding whitespace (ids with a pattern,
    numbers, dates, flags) are stripped, so what the sandbox writes reads back unchanged.
    """
    found: dict[str, Any] = {}
    for key, typed in spec.items():
        value = (_token if typed else _text)(parent, key[0].upper() + key[1:])
        if value is not None:
            found[key] = value
    return found


def _optional_date(parent: etree._Element | None, name: str) -> str | None:
    value = _token(parent, name)
    return value or None  # real packages write an empty DueDate for "none"


_ORGANIZATION = {
    "organId": True,
    "organizationInCharge": False,
    "organName": False,
    "organAdd": False,
    "email": False,
    "telephone": False,
    "fax": False,
    "website": False,
}
_STAFF = {"department": False, "staff": False, "email": False, "mobile": False}


def _response_for(element: etree._Element) -> dict[str, Any]:
    found = _fields(element, {"organId": True, "code": False, "documentId": False})
    if (day := _optional_date(element, "PromulgationDate")) is not None:
        found["promulgationDate"] = day
    return found


def _envelope(root: etree._Element) -> etree._Element:
    if _local(root) == "edXMLEnvelope":
        return root  # an envelope on its own: read it, it can carry no attachments
    if _local(root) != "edXML":
        raise XmlRefused("invalid-xml", f"The root element must be edXML, not {_local(root)}")
    envelope = _one(root, "edXMLEnvelope")
    if envelope is None:
        raise XmlRefused("invalid-xml", "edXML holds no edXMLEnvelope")
    return envelope


def _message_header(root: etree._Element) -> etree._Element:
    header = _one(_envelope(root), "edXMLHeader")
    message = _one(header, "MessageHeader")
    if message is None:
        raise XmlRefused("invalid-xml", "edXMLEnvelope holds no edXMLHeader/MessageHeader")
    _only_in_place(root, message)
    return message


def _only_in_place(root: etree._Element, message: etree._Element) -> None:
    """One MessageHeader, the one in edXMLHeader, and Signatures only in XML-DSig (or, as the
    vendor's samples write a placeholder, the edXML namespace).

    This reader reads only the header in its place; receivers' namespace-unaware parsers (the
    vendor's EdXML102, Bkav's hub) may take the first MessageHeader anywhere. A second one, in
    a signature's `ds:Object` or `KeyInfo` or anywhere else, is a forgery's place to hide
    another sender. A `Signature` in no namespace or another one would be taken for "unsigned"
    here and for a signature by a reader matching local names: malformed either way.
    """
    for element in root.iter():
        name = _local(element)
        if name == "MessageHeader" and element is not message:
            parent = element.getparent()
            raise XmlRefused(
                "invalid-xml",
                "A package holds one MessageHeader, in edXMLEnvelope/edXMLHeader; another one "
                f"is inside {_local(parent) if parent is not None else 'nothing'}.",
            )
        if name == "Signature":
            namespace = etree.QName(element).namespace
            if namespace not in (DSIG, NAMESPACE):
                where = namespace[:80] if namespace else "no namespace"
                raise XmlRefused(
                    "invalid-xml",
                    f"A Signature element in {where}: an edXML signature is XML-DSig "
                    f"({DSIG}), declared on the element.",
                )


def package_data(body: bytes) -> dict[str, Any]:
    """The JSON form of a package, for DocumentPackage.model_validate (which names bad fields)."""
    root = parse(body)
    message = _message_header(root)
    if _one(message, "StatusCode") is not None:
        raise XmlRefused("invalid-xml", "This is a status packet, not a document package")
    data: dict[str, Any] = {}
    if (sender := _one(message, "From")) is not None:
        data["from"] = _fields(sender, _ORGANIZATION)
    data["to"] = [_fields(to, _ORGANIZATION) for to in _all(message, "To")]
    data.update(_fields(message, {"documentId": False, "subject": False, "content": False}))
    if (code := _one(message, "Code")) is not None:
        data["code"] = _fields(code, {"codeNumber": False, "codeNotation": False})
    if (info := _one(message, "PromulgationInfo")) is not None:
        data["promulgationInfo"] = _fields(info, {"place": False, "promulgationDate": True})
    if (kind := _one(message, "DocumentType")) is not None:
        data["documentType"] = _fields(kind, {"type": True, "typeDetail": True, "typeName": False})
    if (signer := _one(message, "SignerInfo")) is not None:
        data["signerInfo"] = _fields(
            signer, {"competence": False, "position": False, "fullName": False}
        )
    if (due := _optional_date(message, "DueDate")) is not None:
        data["dueDate"] = due
    if (other := _one(message, "OtherInfo")) is not None:
        data["otherInfo"] = {
            **_fields(
                other,
                {
                    "priority": True,
                    "sphereOfPromulgation": False,
                    "typerNotation": False,
                    "promulgationAmount": True,
                    "pageAmount": True,
                    "direction": True,
                },
            ),
            "appendixes": [_all_text(a) for a in _all(_one(other, "Appendixes"), "Appendix")],
        }
    if (steering := _token(message, "SteeringType")) is not None:
        data["steeringType"] = steering
    data["toPlaces"] = [_all_text(p) for p in _all(_one(message, "ToPlaces"), "Place")]
    data["responseFor"] = [_response_for(r) for r in _all(message, "ResponseFor")]
    traces = _one(_one(_envelope(root), "edXMLHeader"), "TraceHeaderList")
    data["traceHeaderList"] = [
        _fields(t, {"organId": True, "timestamp": True}) for t in _all(traces, "TraceHeader")
    ]
    if (bussiness := _one(traces, "Bussiness")) is not None:
        data["bussiness"] = _bussiness(bussiness)
    data["attachments"] = _attachments(root)
    return data


def _bussiness(element: etree._Element) -> dict[str, Any]:
    found = _fields(
        element,
        {
            "documentId": False,
            "bussinessDocType": True,
            "bussinessDocReason": False,
            "paper": True,
        },
    )
    if (info := _one(element, "BussinessDocumentInfo")) is not None:
        found["bussinessDocumentInfo"] = {
            **_fields(info, {"documentInfo": True, "documentReceiver": True}),
            "receiverList": [
                _fields(r, {"organId": True, "receiverType": True})
                for r in _all(_one(info, "ReceiverList"), "Receiver")
            ],
        }
    if (staff := _one(element, "StaffInfo")) is not None:
        found["staffInfo"] = _fields(staff, _STAFF)
    found["replacementInfoList"] = [
        {
            **_fields(r, {"documentId": False}),
            "organIdList": [_all_text(o).strip() for o in _all(_one(r, "OrganIdList"), "OrganId")],
        }
        for r in _all(_one(element, "ReplacementInfoList"), "ReplacementInfo")
    ]
    return found


_ATTACHMENT = {
    "contentId": True,
    "contentType": True,
    "attachmentName": False,
    "description": False,
}


def _attachments(root: etree._Element) -> list[dict[str, Any]]:
    manifest = _one(_one(_envelope(root), "edXMLBody"), "edXMLManifest")
    encoded = {
        (_token(a, "ContentId") or ""): a
        for a in _all(_one(root, "AttachmentEncoded"), "Attachment")
    }
    found = []
    for reference in _all(manifest, "Reference"):
        item = _fields(reference, _ATTACHMENT)
        attachment = encoded.pop(item.get("contentId", ""), None)
        if attachment is None:
            item["value"] = None  # the model names the missing content by its path
        else:
            for key, value in _fields(attachment, _ATTACHMENT).items():
                item.setdefault(key, value)
            # Base64 may be wrapped in lines; the bytes are the same without the breaks.
            item["value"] = "".join((_text(attachment, "ContentTransferEncoded") or "").split())
        found.append(item)
    if encoded:
        orphans = ", ".join(sorted(encoded)[:5])
        raise XmlRefused(
            "invalid-xml",
            f"AttachmentEncoded holds attachments no manifest Reference names: {orphans}",
        )
    return found


def status_data(body: bytes) -> dict[str, Any]:
    """The JSON form of a status packet, for StatusPacket.model_validate."""
    message = _message_header(parse(body))
    if _one(message, "StatusCode") is None:
        raise XmlRefused("invalid-xml", "A status packet's MessageHeader holds a StatusCode")
    data: dict[str, Any] = _fields(
        message, {"statusCode": True, "description": False, "timestamp": True}
    )
    if (sender := _one(message, "From")) is not None:
        data["from"] = _fields(sender, _ORGANIZATION)
    if (about := _one(message, "ResponseFor")) is not None:
        data["responseFor"] = _response_for(about)
    if (staff := _one(message, "StaffInfo")) is not None:
        data["staffInfo"] = _fields(staff, _STAFF)
    if not data.get("timestamp"):
        data.pop("timestamp", None)
    return data


def package_from_xml(body: bytes) -> DocumentPackage:
    return DocumentPackage.model_validate(package_data(body))


def status_from_xml(body: bytes) -> StatusPacket:
    return StatusPacket.model_validate(status_data(body))


# -- signatures (found here; checked in signature.py) --------------------------------------

DSIG = "http://www.w3.org/2000/09/xmldsig#"


def signatures_in(root: etree._Element) -> list[etree._Element]:
    """Every XML-DSig Signature element anywhere in the document."""
    return list(root.iter(f"{{{DSIG}}}Signature"))


def has_signature(body: bytes) -> bool:
    """The package carries an XML-DSig Signature (a refused or malformed body: False).

    Only lxml: a platform asks this of every XML package, and loads the signature library
    (signxml, cryptography) only for one that is signed.
    """
    try:
        return bool(signatures_in(parse(body)))
    except XmlRefused:
        return False


# -- writing -------------------------------------------------------------------------------


def _add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _E + name)
    if text is not None:
        element.text = text
    return element


def _organization(parent: etree._Element, name: str, organ: Organization) -> None:
    element = _add(parent, name)
    _add(element, "OrganId", organ.organId)
    _add(element, "OrganizationInCharge", organ.organizationInCharge)
    _add(element, "OrganName", organ.organName)
    _add(element, "OrganAdd", organ.organAdd)
    _add(element, "Email", organ.email)
    _add(element, "Telephone", organ.telephone)
    _add(element, "Fax", organ.fax)
    _add(element, "Website", organ.website)


def _write_response_for(parent: etree._Element, about: ResponseFor) -> None:
    element = _add(parent, "ResponseFor")
    _add(element, "OrganId", about.organId)
    _add(element, "Code", about.code)
    if about.promulgationDate is not None:
        _add(element, "PromulgationDate", format_date(about.promulgationDate))
    _add(element, "DocumentId", about.documentId)


def _staff(parent: etree._Element, staff: StaffInfo) -> None:
    element = _add(parent, "StaffInfo")
    _add(element, "Department", staff.department)
    _add(element, "Staff", staff.staff)
    _add(element, "Email", staff.email)
    _add(element, "Mobile", staff.mobile)


def _root() -> tuple[etree._Element, etree._Element]:
    # The default namespace's prefix is None in lxml; its stubs only know string prefixes.
    root = etree.Element(_E + "edXML", nsmap={None: NAMESPACE})  # type: ignore[dict-item]
    envelope = etree.SubElement(root, _E + "edXMLEnvelope", nsmap={"edXML": NAMESPACE})
    return root, envelope


def _bytes(root: etree._Element) -> bytes:
    written: bytes = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return _DECLARATION + written


def package_to_xml(package: DocumentPackage) -> bytes:
    root, envelope = _root()
    header = _add(envelope, "edXMLHeader")
    message = _add(header, "MessageHeader")
    _organization(message, "From", package.from_)
    for to in package.to:
        _organization(message, "To", to)
    _add(message, "DocumentId", package.documentId)
    code = _add(message, "Code")
    _add(code, "CodeNumber", package.code.codeNumber)
    _add(code, "CodeNotation", package.code.codeNotation)
    info = _add(message, "PromulgationInfo")
    _add(info, "Place", package.promulgationInfo.place)
    _add(info, "PromulgationDate", format_date(package.promulgationInfo.promulgationDate))
    kind = _add(message, "DocumentType")
    _add(kind, "Type", str(package.documentType.type))
    _add(kind, "TypeDetail", str(package.documentType.typeDetail))
    _add(kind, "TypeName", package.documentType.typeName)
    _add(message, "Subject", package.subject)
    _add(message, "Content", package.content)
    signer = _add(message, "SignerInfo")
    _add(signer, "Competence", package.signerInfo.competence)
    _add(signer, "Position", package.signerInfo.position)
    _add(signer, "FullName", package.signerInfo.fullName)
    if package.dueDate is not None:
        _add(message, "DueDate", format_date(package.dueDate))
    other = _add(message, "OtherInfo")
    o = package.otherInfo
    _add(other, "Priority", str(o.priority))
    _add(other, "SphereOfPromulgation", o.sphereOfPromulgation)
    _add(other, "TyperNotation", o.typerNotation)
    _add(other, "PromulgationAmount", str(o.promulgationAmount))
    _add(other, "PageAmount", str(o.pageAmount))
    _add(other, "Direction", "true" if o.direction else "false")
    appendixes = _add(other, "Appendixes")
    for appendix in o.appendixes:
        _add(appendixes, "Appendix", appendix)
    _add(message, "SteeringType", str(package.steeringType))
    places = _add(message, "ToPlaces")
    for place in package.toPlaces:
        _add(places, "Place", place)
    for about in package.responseFor:
        _write_response_for(message, about)
    traces = _add(header, "TraceHeaderList")
    for trace in package.traceHeaderList:
        element = _add(traces, "TraceHeader")
        _add(element, "OrganId", trace.organId)
        _add(element, "Timestamp", format_timestamp(trace.timestamp))
    _write_bussiness(traces, package.bussiness)
    manifest = _add(_add(envelope, "edXMLBody"), "edXMLManifest")
    manifest.set("version", "1.0")
    for attachment in package.attachments:
        reference = _add(manifest, "Reference")
        _add(reference, "ContentId", attachment.contentId)
        _add(reference, "ContentType", attachment.contentType)
        _add(reference, "Description", attachment.description)
        _add(reference, "AttachmentName", attachment.attachmentName)
    if package.attachments:
        _write_attachments(root, package.attachments)
    return _bytes(root)


def _write_bussiness(parent: etree._Element, bussiness: Bussiness) -> None:
    element = _add(parent, "Bussiness")
    _add(element, "DocumentId", bussiness.documentId)
    _add(element, "BussinessDocType", str(int(bussiness.bussinessDocType)))
    _add(element, "BussinessDocReason", bussiness.bussinessDocReason)
    _add(element, "Paper", str(bussiness.paper))
    if (info := bussiness.bussinessDocumentInfo) is not None:
        info_element = _add(element, "BussinessDocumentInfo")
        _add(info_element, "DocumentInfo", str(info.documentInfo))
        _add(info_element, "DocumentReceiver", str(info.documentReceiver))
        receivers = _add(info_element, "ReceiverList")
        for receiver in info.receiverList:
            receiver_element = _add(receivers, "Receiver")
            _add(receiver_element, "OrganId", receiver.organId)
            _add(receiver_element, "ReceiverType", str(receiver.receiverType))
    if bussiness.staffInfo is not None:
        _staff(element, bussiness.staffInfo)
    if bussiness.replacementInfoList:
        replacements = _add(element, "ReplacementInfoList")
        for replacement in bussiness.replacementInfoList:
            replacement_element = _add(replacements, "ReplacementInfo")
            _add(replacement_element, "DocumentId", replacement.documentId)
            organs = _add(replacement_element, "OrganIdList")
            for organ in replacement.organIdList:
                _add(organs, "OrganId", organ)


def _write_attachments(root: etree._Element, attachments: list[Attachment]) -> None:
    encoded = _add(root, "AttachmentEncoded")
    for attachment in attachments:
        element = _add(encoded, "Attachment")
        _add(element, "ContentId", attachment.contentId)
        _add(element, "AttachmentName", attachment.attachmentName)
        _add(element, "Description", attachment.description)
        _add(element, "ContentType", attachment.contentType)
        content = etree.SubElement(
            element, _E + "ContentTransferEncoded", nsmap={"edXML": NAMESPACE}
        )
        content.text = attachment.value


def status_to_xml(packet: StatusPacket) -> bytes:
    root, envelope = _root()
    message = _add(_add(envelope, "edXMLHeader"), "MessageHeader")
    _organization(message, "From", packet.from_)
    _write_response_for(message, packet.responseFor)
    _staff(message, packet.staffInfo)
    _add(message, "StatusCode", packet.statusCode.value)
    _add(message, "Description", packet.description)
    if packet.timestamp is not None:
        _add(message, "Timestamp", format_timestamp(packet.timestamp))
    return _bytes(root)
