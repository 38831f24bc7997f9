"""Official document packages between agencies: edXML (QCVN 102:2016/BTTTT) as JSON.

The JSON form mirrors the standard's element names in camelCase (From -> from, OrganId ->
organId, ...); apikit/edxml_xml.py turns one into the other. The standard carries attachments
as MIME parts beside the envelope; the sandbox embeds them base64-encoded in the package so one
request carries one document. Status codes are the standard's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from contracts.services.common import AgencyCode

CONTRACT_ID = "vn.gov.edxml.package"
CONTRACT_VERSION = "1.0"
MAX_ATTACHMENTS = 20
# Per attachment, decoded. The request as a whole is capped by the platform's settings.
MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024

DocumentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,63}$")]
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]


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


class MessageKind(StrEnum):
    NEW = "new"
    REPLACEMENT = "replacement"
    REVOCATION = "revocation"
    UPDATE = "update"


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Organ(_Part):
    organId: AgencyCode
    organName: str = Field(min_length=1, max_length=200)


class Code(_Part):
    codeNumber: str = Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z]+$")
    codeNotation: str = Field(min_length=1, max_length=60)


class PromulgationInfo(_Part):
    place: str = Field(min_length=1, max_length=100)
    promulgationDate: date


class DocumentType(_Part):
    type: int = Field(ge=1, le=99, description="Document type number (1 = Công văn, ...)")
    typeName: str = Field(min_length=1, max_length=100)


class SignerInfo(_Part):
    competence: str = Field(default="", max_length=100)
    position: str = Field(min_length=1, max_length=100)
    fullName: str = Field(min_length=1, max_length=100)


class Attachment(_Part):
    contentId: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._@-]+$")
    contentType: str = Field(min_length=3, max_length=100, pattern=r"^[a-z0-9.+-]+/[a-z0-9.+-]+$")
    attachmentName: str = Field(min_length=1, max_length=255)
    description: str = Field(default="", max_length=500)
    value: str = Field(description="The content, base64-encoded")

    @field_validator("value")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not valid base64") from None
        if len(raw) > MAX_ATTACHMENT_BYTES:
            raise ValueError(f"attachment over {MAX_ATTACHMENT_BYTES} bytes once decoded")
        return value

    def content(self) -> bytes:
        return base64.b64decode(self.value)

    def sha256(self) -> str:
        return hashlib.sha256(self.content()).hexdigest()


class TraceHeader(_Part):
    """One hop the package passed: who handled it, when (appended by every platform)."""

    organId: AgencyCode
    platform: str = Field(default="", max_length=64)
    timestamp: datetime


class DocumentPackage(_Part):
    """One official document as sent: the edXML message header plus its attachments."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "from": {"organId": "000.00.01.H04", "organName": "Văn phòng UBND tỉnh"},
                    "to": [{"organId": "000.00.12.H04", "organName": "Sở TT&TT"}],
                    "code": {"codeNumber": "1234", "codeNotation": "UBND-KGVX"},
                    "promulgationInfo": {"place": "Bắc Giang", "promulgationDate": "2026-11-20"},
                    "documentType": {"type": 1, "typeName": "Công văn"},
                    "subject": "Về việc triển khai kết nối LGSP",
                    "signerInfo": {"position": "Chủ tịch", "fullName": "Nguyễn Văn Gấu"},
                    "idempotencyKey": "vp-ubnd-2026-1234",
                }
            ]
        },
    )

    kind: MessageKind = MessageKind.NEW
    from_: Organ = Field(alias="from")
    to: list[Organ] = Field(min_length=1, max_length=50)
    code: Code
    promulgationInfo: PromulgationInfo
    documentType: DocumentType
    subject: str = Field(min_length=1, max_length=1000, description="Trích yếu")
    content: str = Field(default="", max_length=10_000, description="Content summary")
    signerInfo: SignerInfo
    dueDate: date | None = None
    priority: int = Field(default=0, ge=0, le=4, description="0 normal ... 4 fire-urgent")
    pages: int | None = Field(default=None, ge=1, le=100_000)
    responseFor: str | None = Field(
        default=None, max_length=200, description="Id of the document this one answers"
    )
    relatedDocument: DocumentId | None = Field(
        default=None, description="For a replacement or revocation: the document it replaces"
    )
    idempotencyKey: IdempotencyKey | None = Field(
        default=None,
        description="Sender-chosen; a repeat send with the same key returns the first "
        "document. Default: the edXML document id (sender, date, number/notation).",
    )
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    traceHeaderList: list[TraceHeader] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        receivers = [o.organId for o in self.to]
        if len(set(receivers)) != len(receivers):
            raise ValueError("to: the same receiver is named twice")
        needs_related = self.kind in (MessageKind.REPLACEMENT, MessageKind.REVOCATION)
        if needs_related and self.relatedDocument is None:
            raise ValueError(f"relatedDocument: required for a {self.kind.value}")
        ids = [a.contentId for a in self.attachments]
        if len(set(ids)) != len(ids):
            raise ValueError("attachments: contentId values must be unique")
        return self

    @property
    def edxml_document_id(self) -> str:
        """The standard's document id: {agency code},{yyyy/MM/dd},{number/notation}."""
        day = self.promulgationInfo.promulgationDate.strftime("%Y/%m/%d")
        return f"{self.from_.organId},{day},{self.code.codeNumber}/{self.code.codeNotation}"

    @property
    def effective_idempotency_key(self) -> str:
        return self.idempotencyKey or self.edxml_document_id


class ReceiverState(StrEnum):
    """Where a document stands for one receiver, as its sender sees it."""

    PENDING = "pending"  # accepted, delivery under way (retrying if the receiver is down)
    AWAITING_PICKUP = "awaiting-pickup"  # in a pull receiver's inbox, not yet acknowledged
    DELIVERED = "delivered"  # the receiver has it (status 01 or later)
    FAILED = "failed"  # delivery gave up after the last attempt

    @property
    def final(self) -> bool:
        return self in (ReceiverState.DELIVERED, ReceiverState.FAILED)


class TrailEvent(BaseModel):
    """One thing that happened to a document: a hop, a delivery attempt, a status."""

    time: datetime
    platform: str
    receiver: str | None = Field(description="The receiving agency it concerns, if one")
    event: Literal["accepted", "forwarded", "delivered", "retry", "failed", "status"]
    statusCode: StatusCode | None = None
    detail: str = ""


class ReceiverView(BaseModel):
    organId: str
    state: ReceiverState
    statusCode: StatusCode | None = Field(description="The receiver's latest status packet")
    updated: datetime


class SendReceipt(BaseModel):
    """The answer to a send: the document is committed and will be delivered."""

    id: DocumentId
    edxmlDocumentId: str
    idempotencyKey: str
    kind: MessageKind
    receivers: list[ReceiverView]
    created: datetime


class DocumentView(SendReceipt):
    """A document as its sender or a receiver sees it, with its trail."""

    sender: str = Field(description="Sending agency code")
    final: bool = Field(description="Every receiver is delivered or failed")
    trail: list[TrailEvent]


class DocumentWithPackage(BaseModel):
    id: DocumentId
    kind: MessageKind
    relatedDocument: str | None
    package: DocumentPackage


class InboxPage(BaseModel):
    documents: list[DocumentWithPackage]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


class StatusPacket(_Part):
    """A receiver's status for a document (the standard's status packet)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"statusCode": "03", "description": "Đã tiếp nhận"}]},
    )

    statusCode: StatusCode
    description: str = Field(default="", max_length=500)
    staff: str = Field(default="", max_length=100, description="Who handled it")


class Delivery(BaseModel):
    """What a platform hands to a push receiver's endpoint (and relays to the next platform)."""

    id: DocumentId
    kind: MessageKind
    relatedDocument: str | None = None
    receivers: list[str] = Field(description="The agencies this delivery is for")
    originPlatform: str
    fromPlatform: str = Field(description="The platform handing it over (the previous hop)")
    messageId: str
    package: DocumentPackage


class StatusRelay(BaseModel):
    """A trail event travelling back towards the sender's platform."""

    documentId: DocumentId
    eventId: str = Field(min_length=8, max_length=64, description="Same at every hop: dedup")
    fromPlatform: str
    event: TrailEvent
    receiverState: ReceiverState | None = None
