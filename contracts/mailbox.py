"""What an agency back end's document mailbox shows: its listing and one stored delivery.

The mailbox is the platform-to-back-end delivery interface (the platform pushes official
documents to `POST /nhanVanBan`), not a published service, so these shapes belong to no
service contract and no OpenAPI document. They are the sandbox's own (`unverified` against
any real agency system): tests and agency developers read them to see what arrived.
"""

from __future__ import annotations

from pydantic import BaseModel

from contracts.edxml import DocumentPackage, MessageKind, StatusCode


class MailboxEntry(BaseModel):
    """One document as stored: delivered once however often the platform repeated it."""

    id: str
    kind: MessageKind
    relatedDocument: str | None
    receivers: list[str]
    status: StatusCode
    deliveries: int
    package: DocumentPackage


class MailboxPage(BaseModel):
    """The listing: how many documents, how many deliveries (repeats counted), their ids."""

    total: int
    deliveries: int
    documents: list[str]
