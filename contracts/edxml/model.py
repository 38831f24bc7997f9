"""An official document package, edXML (QCVN 102:2016/BTTTT, amended 2022), as one model.

Field names are the standard's element names in camelCase (`From` -> `from`, `OrganId` ->
`organId`, `Bussiness` keeps the standard's spelling). The JSON form is this model dumped by
alias; contracts/edxml/xml.py reads and writes the same model as XML, so the JSON form is a
lossless projection of the package: the same fields, the same values, dates written
`yyyy/MM/dd` and timestamps `yyyy/MM/dd HH:mm:ss` (local time, no zone) in both.

The two parts of the XML that belong to one attachment (its `edXMLManifest/Reference` and
its `AttachmentEncoded/Attachment`) are one `attachments` item here. The message kind is
`bussiness.bussinessDocType` (0 new, 1 revocation, 2 update, 3 replacement), as in the
standard; there is no field of the sandbox's own in a package.

Every string is limited to characters XML 1.0 can carry: a package accepted as JSON is
always writable as XML, so no later read of it can fail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import UTC, date, datetime, timedelta, timezone
from enum import IntEnum, StrEnum
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

CONTRACT_ID = "vn.gov.edxml.package"
CONTRACT_VERSION = "2.0"
NAMESPACE = "http://www.mic.gov.vn/TBT/QCVN_102_2016"

MAX_ATTACHMENTS = 20
# Per attachment, decoded. The request as a whole is capped by the platform's settings.
MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024
# Trace entries a sender may write itself: its own, and those of organs the package passed
# before (an update or replacement carries the trail of the document it concerns, as the
# vendor's samples and Bkav's hub do). They are the sender's claim, kept and forwarded as
# written and never trusted. Every platform on the way appends one more (three on the
# longest path, LGSP -> NGSP -> LGSP), so a package never holds more than MAX_TRACE_HEADERS.
MAX_SENDER_TRACE_HEADERS = 12
MAX_TRACE_HEADERS = 16

# Vietnam keeps one offset all year; edXML timestamps are its local time without a zone.
VIETNAM = timezone(timedelta(hours=7), "ICT")

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_chars(value: str) -> str:
    found = _NOT_XML.search(value)
    if found:
        raise ValueError(f"character U+{ord(found.group()):04X} cannot be carried in XML 1.0")
    return value


# Lengths are set per field (Field(max_length=...)); the character check is the type's.
XmlText = Annotated[str, AfterValidator(_xml_chars)]
ListItem = Annotated[str, StringConstraints(max_length=1000), AfterValidator(_xml_chars)]


# Real packages use national agency codes (000.00.01.H04) but also older and system codes
# (G12, 020100107370, vxp.saas.03); routing, not the format, decides who is known.
OrganId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"),
    Field(examples=["000.00.01.H04"]),
]

_DATE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_DAY_FIRST = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_TIMESTAMP = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?: (\d{1,2}):(\d{2}):(\d{2}))?$")


def _parse_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a date written yyyy/MM/dd")
    text = value.strip()
    if m := _DATE.match(text):
        year, month, day = m.groups()
    elif m := _DAY_FIRST.match(text):  # seen in a public sample package (30/10/2020)
        day, month, year = m.groups()
    else:
        raise ValueError(f"{text[:40]!r} is not a date written yyyy/MM/dd")
    return date(int(year), int(month), int(day))


def _parse_timestamp(value: object) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(VIETNAM).replace(tzinfo=None)
        return value.replace(microsecond=0)
    if not isinstance(value, str):
        raise ValueError("expected a timestamp written yyyy/MM/dd HH:mm:ss")
    m = _TIMESTAMP.match(value.strip())
    if m is None:
        raise ValueError(f"{value[:40]!r} is not a timestamp written yyyy/MM/dd HH:mm:ss")
    year, month, day, hour, minute, second = (int(p) if p is not None else 0 for p in m.groups())
    return datetime(year, month, day, hour, minute, second)


def format_date(value: date) -> str:
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}"


def format_timestamp(value: datetime) -> str:
    return f"{format_date(value)} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"


# What the schema promises is read (the reader also takes a few forms seen in the field, such
# as 30/10/2020): a year from 1900, a month 01-12, a day 01-31, hours 00-23.
_YMD = r"(19\d{2}|[2-9]\d{3})/(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])"
_DATE_PATTERN = rf"^{_YMD}$"
_TIMESTAMP_PATTERN = rf"^{_YMD} ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$"


def _in_range(value: date) -> date:
    if value.year < 1900:
        raise ValueError("year before 1900")
    return value


EdDate = Annotated[
    date,
    BeforeValidator(_parse_date),
    AfterValidator(_in_range),
    PlainSerializer(format_date, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _DATE_PATTERN,
            "examples": ["2026/11/20"],
            "description": "yyyy/MM/dd, a real calendar date from 1900 (2026/02/30 is refused)",
        }
    ),
]
EdTimestamp = Annotated[
    datetime,
    BeforeValidator(_parse_timestamp),
    AfterValidator(_in_range),
    PlainSerializer(format_timestamp, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _TIMESTAMP_PATTERN,
            "examples": ["2026/11/20 08:30:00"],
            "description": "Local time in Vietnam (UTC+7), no zone",
        }
    ),
]


def now_local() -> datetime:
    return datetime.now(UTC).astimezone(VIETNAM).replace(tzinfo=None, microsecond=0)


class StatusCode(StrEnum):
    """The standard's status packet codes."""

    ARRIVED = "01"
    REJECTED = "02"
    ACCEPTED = "03"
    ASSIGNED = "04"
    PROCESSING = "05"
    DONE = "06"
    RECALLED = "13"
    UPDATE_ACCEPTED = "15"
    UPDATE_REJECTED = "16"


class BussinessDocType(IntEnum):
    """TraceHeaderList/Bussiness/BussinessDocType: what this package does."""

    NEW = 0
    REVOCATION = 1
    UPDATE = 2
    REPLACEMENT = 3


class MessageKind(StrEnum):
    """The same four kinds as words, as the platforms store and show them."""

    NEW = "new"
    REVOCATION = "revocation"
    UPDATE = "update"
    REPLACEMENT = "replacement"


KIND_OF = {
    BussinessDocType.NEW: MessageKind.NEW,
    BussinessDocType.REVOCATION: MessageKind.REVOCATION,
    BussinessDocType.UPDATE: MessageKind.UPDATE,
    BussinessDocType.REPLACEMENT: MessageKind.REPLACEMENT,
}


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Organization(_Part):
    """From and each To: OrganId, OrganizationInCharge, OrganName, OrganAdd, Email, ..."""

    organId: OrganId
    organizationInCharge: XmlText = Field(default="", max_length=300)
    organName: XmlText = Field(default="", max_length=300)
    organAdd: XmlText = Field(default="", max_length=500)
    email: XmlText = Field(default="", max_length=200)
    telephone: XmlText = Field(default="", max_length=100)
    fax: XmlText = Field(default="", max_length=100)
    website: XmlText = Field(default="", max_length=200)


class Code(_Part):
    codeNumber: XmlText = Field(min_length=1, max_length=30)
    codeNotation: XmlText = Field(default="", max_length=100)


class PromulgationInfo(_Part):
    place: XmlText = Field(default="", max_length=200)
    promulgationDate: EdDate


class DocumentType(_Part):
    type: int = Field(ge=0, le=999, description="Document type number (1 = Công văn, ...)")
    typeDetail: int = Field(default=0, ge=0, le=999)
    typeName: XmlText = Field(default="", max_length=200)


class SignerInfo(_Part):
    competence: XmlText = Field(default="", max_length=200)
    position: XmlText = Field(default="", max_length=200)
    fullName: XmlText = Field(default="", max_length=200)


class OtherInfo(_Part):
    priority: int = Field(default=0, ge=0, le=4, description="0 normal ... 4 timed fire-urgent")
    sphereOfPromulgation: XmlText = Field(default="", max_length=300)
    typerNotation: XmlText = Field(default="", max_length=100)
    promulgationAmount: int = Field(default=0, ge=0, le=1_000_000)
    pageAmount: int = Field(default=0, ge=0, le=1_000_000)
    direction: bool = False
    appendixes: list[ListItem] = Field(default_factory=list, max_length=100)


class ResponseFor(_Part):
    """The document this one answers (or, in a status packet, the one the status is about)."""

    organId: OrganId
    code: XmlText = Field(
        max_length=200, default="", description="Number/notation, e.g. 7816/VPCP-TTĐT"
    )
    promulgationDate: EdDate | None = None
    documentId: XmlText = Field(default="", max_length=300)


class StaffInfo(_Part):
    department: XmlText = Field(default="", max_length=300)
    staff: XmlText = Field(default="", max_length=200)
    email: XmlText = Field(default="", max_length=200)
    mobile: XmlText = Field(default="", max_length=50)


class TraceHeader(_Part):
    """One organ the package passed: the sender writes what it claims, every platform
    appends its own."""

    organId: OrganId
    timestamp: EdTimestamp


class Receiver(_Part):
    organId: OrganId
    receiverType: int = Field(default=0, ge=0, le=9)


class BussinessDocumentInfo(_Part):
    """For an update: what changed (DocumentInfo, DocumentReceiver) and for whom."""

    documentInfo: int = Field(default=0, ge=0, le=9)
    documentReceiver: int = Field(default=0, ge=0, le=9)
    receiverList: list[Receiver] = Field(default_factory=list, max_length=200)


class ReplacementInfo(_Part):
    """For a replacement: a document it replaces and the organs that had received it."""

    documentId: XmlText = Field(min_length=1, max_length=300)
    organIdList: list[OrganId] = Field(default_factory=list, max_length=200)


class Bussiness(_Part):
    documentId: XmlText = Field(
        max_length=300,
        default="",
        description="For a revocation or update: the document it concerns",
    )
    bussinessDocType: BussinessDocType = BussinessDocType.NEW
    bussinessDocReason: XmlText = Field(default="", max_length=1000)
    paper: int = Field(default=0, ge=0, le=1)
    bussinessDocumentInfo: BussinessDocumentInfo | None = None
    staffInfo: StaffInfo | None = None
    replacementInfoList: list[ReplacementInfo] = Field(default_factory=list, max_length=50)


def _base64_size(value: str) -> int:
    return len(value) // 4 * 3 - value[-2:].count("=") if value else 0


def _attachment_content(value: str) -> str:
    # The size first, from the length alone: an oversized value is refused before decoding.
    if _base64_size(value) > MAX_ATTACHMENT_BYTES:
        raise ValueError(f"attachment over {MAX_ATTACHMENT_BYTES} bytes once decoded")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64") from None
    return value


class Attachment(_Part):
    """One attachment: its manifest Reference and its AttachmentEncoded/Attachment as one."""

    contentId: Annotated[str, StringConstraints(pattern=r"^[^\s<>&\"']{1,200}$")] = Field(
        examples=["cid:1"]
    )
    contentType: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9.+-]{1,60}/[A-Za-z0-9.+-]{1,100}$")
    ]
    attachmentName: XmlText = Field(min_length=1, max_length=255)
    description: XmlText = Field(default="", max_length=1000)
    value: Annotated[str, AfterValidator(_attachment_content)] = Field(
        description="ContentTransferEncoded: the content, base64 (no line breaks)"
    )

    def content(self) -> bytes:
        return base64.b64decode(self.value)

    def sha256(self) -> str:
        return hashlib.sha256(self.content()).hexdigest()


class DocumentPackage(_Part):
    """One official document: MessageHeader, TraceHeaderList and the attachments."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "from": {"organId": "000.00.01.H04", "organName": "Văn phòng UBND tỉnh"},
                    "to": [{"organId": "000.00.12.H04", "organName": "Sở TT&TT"}],
                    "code": {"codeNumber": "1234", "codeNotation": "UBND-KGVX"},
                    "promulgationInfo": {"place": "Bắc Giang", "promulgationDate": "2026/11/20"},
                    "documentType": {"type": 1, "typeName": "Công văn"},
                    "subject": "Về việc triển khai kết nối LGSP",
                    "signerInfo": {"position": "Chủ tịch", "fullName": "Nguyễn Văn Gấu"},
                }
            ]
        },
    )

    from_: Organization = Field(alias="from")
    to: list[Organization] = Field(min_length=1, max_length=50)
    documentId: XmlText = Field(
        max_length=300,
        default="",
        description="{organ id},{yyyy/MM/dd},{number/notation}; made from the header if empty",
    )
    code: Code
    promulgationInfo: PromulgationInfo
    documentType: DocumentType
    subject: XmlText = Field(min_length=1, max_length=2000, description="Trích yếu")
    content: XmlText = Field(default="", max_length=20_000)
    signerInfo: SignerInfo = Field(default_factory=SignerInfo)
    dueDate: EdDate | None = None
    otherInfo: OtherInfo = Field(default_factory=OtherInfo)
    steeringType: int = Field(default=0, ge=0, le=9)
    toPlaces: list[ListItem] = Field(default_factory=list, max_length=100)
    responseFor: list[ResponseFor] = Field(default_factory=list, max_length=20)
    traceHeaderList: list[TraceHeader] = Field(default_factory=list, max_length=MAX_TRACE_HEADERS)
    bussiness: Bussiness = Field(default_factory=Bussiness)
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        receivers = [o.organId for o in self.to]
        if len(set(receivers)) != len(receivers):
            raise ValueError("to: the same receiver is named twice")
        kind = self.bussiness.bussinessDocType
        # A revocation without Bussiness/DocumentId names the MessageHeader's DocumentId, as
        # the vendor's revocation sample writes it (PVN-Organization/API-Gateway-iOffice
        # `JDK 1.8/SDKVXP_Example/resources/edoc_revocation.edxml`); an update names it there.
        if kind is BussinessDocType.UPDATE and not self.bussiness.documentId:
            raise ValueError(
                "bussiness.documentId: required for an update "
                "(the DocumentId of the document it concerns)"
            )
        if kind is BussinessDocType.REPLACEMENT and not self.bussiness.replacementInfoList:
            raise ValueError(
                "bussiness.replacementInfoList: required for a replacement "
                "(the DocumentId of the document it replaces)"
            )
        ids = [a.contentId for a in self.attachments]
        if len(set(ids)) != len(ids):
            raise ValueError("attachments: contentId values must be unique")
        if not self.documentId:
            day = format_date(self.promulgationInfo.promulgationDate)
            code = self.code.codeNumber + (
                f"/{self.code.codeNotation}" if self.code.codeNotation else ""
            )
            self.documentId = f"{self.from_.organId},{day},{code}"
        return self

    @property
    def kind(self) -> MessageKind:
        return KIND_OF[self.bussiness.bussinessDocType]

    @property
    def related_document(self) -> str | None:
        """The edXML DocumentId this package revokes, updates or replaces."""
        kind = self.bussiness.bussinessDocType
        if kind is BussinessDocType.REPLACEMENT:
            return self.bussiness.replacementInfoList[0].documentId
        if kind is BussinessDocType.NEW:
            return None
        if kind is BussinessDocType.REVOCATION:
            return self.bussiness.documentId or self.documentId
        return self.bussiness.documentId or None
