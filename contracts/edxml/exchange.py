"""What the platforms say about documents: receipts, trails, inbox pages, hand-overs.

These are the sandbox platforms' own API shapes around the standard's package and status
packet (contracts/edxml/model.py, status.py); they are JSON only.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from contracts.edxml.model import (
    MAX_TRACE_HEADERS,
    DocumentPackage,
    MessageKind,
    StatusCode,
    TraceHeader,
)
from contracts.edxml.status import StatusPacket

DocumentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,63}$")]


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
    event: Literal["accepted", "claimed", "forwarded", "delivered", "retry", "failed", "status"]
    statusCode: StatusCode | None = None
    detail: str = ""
    status: StatusPacket | None = Field(
        default=None, description="The receiver's status packet, for a status event"
    )


class SignedBy(BaseModel):
    """Who signed a package, as the platform that verified its XML-DSig signature saw it."""

    agency: str | None = Field(description="The signer's agency: its certificate subject's UID")
    subject: str = Field(description="The signing certificate's subject (RFC 4514)")
    issuer: str = Field(description="Who certified the signer (the sandbox CA)")
    serial: str = Field(description="The certificate's serial number, hex")
    algorithm: str = Field(description="The SignatureMethod, e.g. …xmldsig-more#rsa-sha256")
    verifiedAt: str = Field(description="The platform that verified the signature")
    verified: datetime


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
    signedBy: SignedBy | None = Field(
        default=None, description="The verified signer, when the package is signed"
    )
    final: bool = Field(description="Every receiver is delivered or failed")
    claimedTrace: list[TraceHeader] = Field(
        default_factory=list,
        description="The TraceHeader entries the sender wrote itself (its own, and organs it "
        "says the document passed before): its claim, kept and forwarded as written, never "
        "checked and never used for routing or identity. The platforms' own entries follow "
        "them in the package's traceHeaderList",
    )
    trail: list[TrailEvent]


class DocumentWithPackage(BaseModel):
    id: DocumentId
    kind: MessageKind
    relatedDocument: str | None = Field(
        description="The edXML DocumentId it revokes, updates or replaces"
    )
    signedBy: SignedBy | None = None
    package: DocumentPackage


class InboxPage(BaseModel):
    documents: list[DocumentWithPackage]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")


class Delivery(BaseModel):
    """What a platform hands to a push receiver's endpoint (and relays to the next platform)."""

    id: DocumentId
    kind: MessageKind
    relatedDocument: str | None = Field(
        default=None, description="The edXML DocumentId it revokes, updates or replaces"
    )
    receivers: list[str] = Field(description="The agencies this delivery is for")
    originPlatform: str
    fromPlatform: str = Field(description="The platform handing it over (the previous hop)")
    messageId: str
    package: DocumentPackage
    claimedTraces: int = Field(
        default=0,
        ge=0,
        le=MAX_TRACE_HEADERS,
        description="How many leading entries of package.traceHeaderList the sender wrote "
        "(its claim); the platforms' own entries follow",
    )
    senderAgency: str | None = Field(
        default=None,
        max_length=64,
        description="The sending agency as the first platform identified it (a document-axis "
        "systemId in From/OrganId stands for its agency); none: From/OrganId itself",
    )
    packageXml: str | None = Field(
        default=None,
        description="The package as XML, base64: to a receiver's back end always, what "
        "GET /documents/{id}/package answers as XML; between platforms only for a signed "
        "package. A signed package is exactly as its sender wrote it, the bytes its XML-DSig "
        "signature covers (the platforms' own TraceHeaders are then in `package` only)",
    )


class StatusRelay(BaseModel):
    """A trail event travelling back towards the sender's platform."""

    documentId: DocumentId
    eventId: str = Field(min_length=8, max_length=64, description="Same at every hop: dedup")
    fromPlatform: str
    event: TrailEvent
    receiverState: ReceiverState | None = None
