"""edXML envelopes as XML, to and from the JSON form of contracts/edxml.py.

The element names are the standard's (QCVN 102:2016); the JSON keys are the same names in
camelCase, so a package converts both ways without a table per field. What the standard does
not name (message kind, related document, idempotency key) rides in MessageHeader/OtherInfo.
Parsing goes through defusedxml: an envelope from another agency is untrusted input.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from apikit.problems import ProblemError
from contracts.edxml import DocumentPackage, StatusPacket
from contracts.problem import FieldError

NAMESPACE = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
XML_MEDIA_TYPES = ("application/xml", "text/xml")

# JSON key -> element name where the camelCase rule does not give it.
_OTHER_INFO = ("kind", "relatedDocument", "idempotencyKey")
_LISTS = {"to": "To", "traceHeaderList": "TraceHeader"}


def _element_name(key: str) -> str:
    return "From" if key == "from" else key[0].upper() + key[1:]


def _key(tag: str) -> str:
    local = tag.rsplit("}", 1)[-1]
    return "from" if local == "From" else local[0].lower() + local[1:]


def _fill(parent: Element, key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        node = SubElement(parent, _element_name(key))
        for k, v in value.items():
            _fill(node, k, v)
    elif isinstance(value, list):
        for item in value:
            _fill(parent, key, item)
    else:
        SubElement(parent, _element_name(key)).text = str(value)


def package_to_xml(package: DocumentPackage) -> bytes:
    data = package.model_dump(mode="json", by_alias=True, exclude_none=True)
    envelope = Element("edXMLEnvelope", xmlns=NAMESPACE)
    header = SubElement(envelope, "edXMLHeader")
    message = SubElement(header, "MessageHeader")
    for key in (
        "from",
        "to",
        "code",
        "promulgationInfo",
        "documentType",
        "subject",
        "content",
        "signerInfo",
        "dueDate",
        "priority",
        "pages",
        "responseFor",
    ):
        _fill(message, key, data.get(key))
    other = SubElement(message, "OtherInfo")
    for key in _OTHER_INFO:
        _fill(other, key, data.get(key))
    traces = SubElement(header, "TraceHeaderList")
    for trace in data.get("traceHeaderList", []):
        _fill(traces, "traceHeader", trace)
    manifest = SubElement(envelope, "edXMLManifest")
    attachments = SubElement(envelope, "Attachments")
    for attachment in data.get("attachments", []):
        reference = SubElement(manifest, "Reference")
        for key in ("contentId", "contentType", "attachmentName", "description"):
            _fill(reference, key, attachment.get(key))
        value = SubElement(attachments, "Attachment", ContentId=attachment["contentId"])
        value.text = attachment["value"]
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(envelope, encoding="utf-8")


def _parse(body: bytes) -> Element:
    try:
        root: Element = fromstring(body)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise ProblemError(
            400,
            "invalid-xml",
            "Malformed XML",
            f"The body is not well-formed, safe XML: {exc}",
            errors=[FieldError(field="$", reason=str(exc)[:200])],
        ) from None
    return root


def _to_value(node: Element) -> Any:
    children = list(node)
    if not children:
        return (node.text or "").strip()
    value: dict[str, Any] = {}
    for child in children:
        key = _key(child.tag)
        value[key] = _to_value(child)
    return value


def _children(node: Element | None, name: str) -> list[Element]:
    if node is None:
        return []
    return [c for c in node if _key(c.tag) == _key(name)]


def _child(node: Element | None, name: str) -> Element | None:
    found = _children(node, name)
    return found[0] if found else None


def _require_root(root: Element, name: str) -> None:
    if _key(root.tag) != _key(name):
        raise ProblemError(
            400,
            "invalid-xml",
            "Not an edXML document",
            f"The root element must be {name}, not {root.tag.rsplit('}', 1)[-1]}.",
            errors=[FieldError(field="$", reason=f"root element must be {name}")],
        )


def package_from_xml(body: bytes) -> dict[str, Any]:
    """The JSON form of an XML envelope, ready for DocumentPackage.model_validate."""
    root = _parse(body)
    _require_root(root, "edXMLEnvelope")
    header = _child(root, "edXMLHeader")
    message = _child(header, "MessageHeader")
    data: dict[str, Any] = {}
    if message is not None:
        for node in message:
            key = _key(node.tag)
            if key == "otherInfo":
                data.update({_key(n.tag): _to_value(n) for n in node})
            elif key in _LISTS:
                data.setdefault(key, []).append(_to_value(node))
            else:
                data[key] = _to_value(node)
    traces = _child(header, "TraceHeaderList")
    data["traceHeaderList"] = [_to_value(t) for t in _children(traces, "TraceHeader")]
    values = {
        a.get("ContentId", ""): (a.text or "").strip()
        for a in _children(_child(root, "Attachments"), "Attachment")
    }
    data["attachments"] = [
        {**(ref := _to_value(r)), "value": values.get(ref.get("contentId", ""), "")}
        for r in _children(_child(root, "edXMLManifest"), "Reference")
    ]
    return data


def status_from_xml(body: bytes) -> dict[str, Any]:
    root = _parse(body)
    _require_root(root, "Status")
    value = _to_value(root)
    return value if isinstance(value, dict) else {}


def status_to_xml(packet: StatusPacket) -> bytes:
    root = Element("Status", xmlns=NAMESPACE)
    for key, value in packet.model_dump(mode="json").items():
        _fill(root, key, value)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8")


def is_xml(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in XML_MEDIA_TYPES or bool(re.fullmatch(r"application/[\w.+-]+\+xml", media))
