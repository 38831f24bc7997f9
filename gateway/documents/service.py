"""What a platform does with documents: accept, route, record outcomes, relay statuses back.

Every method that changes something does it in one store transaction, so a document, its
receipts, its trail and the outbox rows that will move it on are committed together or not
at all. Statuses travel back hop by hop to the sender's platform, each carrying an event id
fixed where it happened, so a status relayed twice is recorded once.

A signed package (XML-DSig in edXMLHeader) travels as its sender wrote it: its bytes are kept
beside the model in the same row, handed to the next hop with it (Delivery.packageXml) and
served to receivers as they are (`package_xml`), so the signature verifies at the far end.
Each platform's own TraceHeader goes into the model (the JSON view) and the trail, never into
the signed bytes: rewriting them would break the sender's signature. Each platform checks the
signature on receipt by its own policy (gateway/trust/signatures.py).

The TraceHeader entries a sender writes (its own, and organs it says the document passed
before, as an update carries the trail of the document it concerns) are its claim: kept and
forwarded as written, counted (`claimed_traces`) and shown as claimed in the trail and the
document view, never used for routing, identity or anything counted.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
from pydantic import ValidationError

from apikit.problems import ProblemError, validation_problem
from contracts.edxml import (
    MAX_SENDER_TRACE_HEADERS,
    MAX_TRACE_HEADERS,
    BussinessDocType,
    Delivery,
    DocumentPackage,
    DocumentView,
    MessageKind,
    ReceiverState,
    ReceiverView,
    SendReceipt,
    SignedBy,
    StatusCode,
    StatusPacket,
    StatusRelay,
    TraceHeader,
    now_local,
)
from contracts.edxml.model import format_timestamp
from contracts.edxml.xml import XmlRefused, package_from_xml, package_to_xml
from contracts.problem import FieldError
from contracts.topology import Consumer
from gateway.documents.directory import Directory, Unroutable
from gateway.documents.senders import Senders, organ_of
from gateway.documents.store import DocumentStore, NewEvent, StoredDocument, new_document_id
from gateway.spec import PlatformSpec
from gateway.trust.signatures import SignaturePolicy


def _package_hash(package: DocumentPackage) -> str:
    canonical = package.model_copy(update={"traceHeaderList": []})
    return hashlib.sha256(canonical.model_dump_json(by_alias=True).encode()).hexdigest()


def _with_trace(package: DocumentPackage, trace: TraceHeader) -> DocumentPackage:
    """The package with one more trace entry, validated exactly as it will be stored and read.

    Stored packages are read back through the same model; validating the stored form here
    means a package that was accepted can always be read, whatever its sender wrote.
    """
    if len(package.traceHeaderList) >= MAX_TRACE_HEADERS:
        raise ProblemError(
            422,
            "too-many-trace-headers",
            "The package has passed too many organs",
            f"It already holds {len(package.traceHeaderList)} TraceHeader entries; "
            f"the limit is {MAX_TRACE_HEADERS}.",
            errors=[FieldError(field="$.traceHeaderList", reason="too many entries")],
        )
    data = package.model_dump(mode="json", by_alias=True)
    data["traceHeaderList"].append(trace.model_dump(mode="json"))
    try:
        return DocumentPackage.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc.errors()) from None


def default_idempotency_key(package: DocumentPackage) -> str:
    """The edXML DocumentId, and the kind for a revocation, update or replacement of it."""
    kind = package.bussiness.bussinessDocType
    if kind is BussinessDocType.NEW:
        return package.documentId
    return f"{package.documentId}#{package.kind.value}"


def _check_sender_traces(package: DocumentPackage) -> None:
    """A sender's trace entries are its claim, of any organ; their number leaves room for
    every platform on the longest path to append its own."""
    traces = package.traceHeaderList
    if len(traces) > MAX_SENDER_TRACE_HEADERS:
        reason = (
            f"{len(traces)} entries; a sender writes at most {MAX_SENDER_TRACE_HEADERS} "
            f"(the platforms append their own, up to {MAX_TRACE_HEADERS} in all)"
        )
        raise ProblemError(
            422,
            "too-many-trace-headers",
            "The package carries too many trace entries",
            f"$.traceHeaderList: {reason}",
            errors=[FieldError(field="$.traceHeaderList", reason=reason)],
        )


async def _record_claims(
    store: DocumentStore, db: aiosqlite.Connection, doc: StoredDocument
) -> None:
    """The sender's trace entries in this platform's trail, as what they are: its claim.

    Recorded here only, not sent back: each platform on the way shows them in its own trail.
    """
    for trace in doc.package.traceHeaderList[: doc.claimed_traces]:
        detail = (
            f"TraceHeader {trace.organId} {format_timestamp(trace.timestamp)}: written by the "
            "sender, kept as its claim (not checked, not used for routing or identity)"
        )
        await store.add_event(db, doc.id, NewEvent(None, "claimed", detail=detail))


def agency_of(consumer: Consumer) -> str:
    """The agency a consumer sends, receives and reads documents as; an operator's credential
    (an admin) has none, and so no documents."""
    if consumer.agency is None:
        raise ProblemError(
            403,
            "no-agency",
            "This credential acts for no agency",
            f"Consumer {consumer.id!r} is an operator's credential: official documents are "
            "sent, received and read with an agency's own consumer.",
        )
    return consumer.agency


def _signed_note(signed_by: SignedBy | None) -> str:
    if signed_by is None:
        return ""
    return f"; signature of {signed_by.agency} verified at {signed_by.verifiedAt}"


def _sent(signed_by: SignedBy | None) -> str:
    return "sent" + _signed_note(signed_by)


def _not_found(document_id: str) -> ProblemError:
    # The same answer whether the document does not exist or is not the caller's to see:
    # existence alone must not leak across agencies.
    return ProblemError(
        404,
        "document-not-found",
        "Document not found",
        f"No document {document_id} that this consumer may see.",
    )


def _relayed_xml(delivery: Delivery) -> bytes | None:
    if delivery.packageXml is None:
        return None
    try:
        return base64.b64decode(delivery.packageXml, validate=True)
    except (binascii.Error, ValueError):
        raise ProblemError(
            422,
            "invalid-package-xml",
            "packageXml is not base64",
            "A relayed Delivery carries the signed package as base64 in packageXml.",
            errors=[FieldError(field="$.packageXml", reason="not base64")],
        ) from None


def _same_package(xml: bytes, package: DocumentPackage) -> None:
    """The signed bytes and the model handed over with them say the same (traces aside)."""
    try:
        signed = package_from_xml(xml)
    except (XmlRefused, ValidationError):
        signed = None
    if signed is None or _package_hash(signed) != _package_hash(package):
        raise ProblemError(
            422,
            "package-mismatch",
            "The signed package and the package handed over differ",
            "packageXml must be the signed form of the same package as `package`.",
            errors=[FieldError(field="$.packageXml", reason="not the same package")],
        )


@dataclass(frozen=True)
class _Arrival:
    """What a document sent here and one relayed here differ in, before it is stored."""

    id: str
    message_id: str
    idempotency_key: str
    package_hash: str | None  # None: the stored package's (a relay's key is its id)
    sender_consumer: str
    sender_agency: str
    origin_platform: str
    previous_hop: str | None
    kind: MessageKind
    related: str | None
    claimed_traces: int
    detail: str  # of the "accepted" event


class DocumentService:
    def __init__(
        self,
        spec: PlatformSpec,
        store: DocumentStore,
        wake: Callable[[], None],
        signatures: SignaturePolicy | None = None,
    ) -> None:
        self.spec = spec
        self.store = store
        self.directory = Directory(spec)
        self.senders = Senders(spec)
        self._wake = wake
        # None: nothing verified, signed bytes still kept (a service built without settings).
        self.signatures = signatures or SignaturePolicy("off", Path("/nonexistent"), spec.name)

    def _trace(self) -> TraceHeader:
        return TraceHeader(organId=self.spec.agency, timestamp=now_local())

    def _hops(self, receivers: list[str]) -> dict[str, list[str]]:
        hops: dict[str, list[str]] = defaultdict(list)
        problems = []
        for i, agency in enumerate(receivers):
            hop = self.directory.hop(agency)
            if isinstance(hop, Unroutable):
                problems.append(FieldError(field=f"$.to[{i}].organId", reason=hop.reason))
            else:
                hops[hop].append(agency)
        if problems:
            raise ProblemError(
                422,
                "unroutable-receiver",
                "A receiver cannot be reached",
                "; ".join(f"{p.field}: {p.reason}" for p in problems),
                errors=problems,
            )
        return hops

    async def _route(
        self, db: aiosqlite.Connection, doc: StoredDocument, hops: dict[str, list[str]]
    ) -> None:
        for hop, agencies in hops.items():
            kind, _, agency = hop.partition(":")
            if kind == "inbox":
                await self.store.add_receipt(
                    db, doc.id, agency, ReceiverState.AWAITING_PICKUP, local=True
                )
                # The state goes back with the event: a sender in another province reads
                # awaiting-pickup as soon as one within the province does.
                await self._event(
                    db,
                    doc,
                    NewEvent(agency, "accepted", detail=f"in {agency}'s inbox"),
                    ReceiverState.AWAITING_PICKUP,
                )
                continue
            for receiver in agencies:
                await self.store.add_receipt(
                    db, doc.id, receiver, ReceiverState.PENDING, local=kind == "push"
                )
            await self.store.enqueue(db, "deliver", doc.id, hop, agencies)

    async def _event(
        self,
        db: aiosqlite.Connection,
        doc: StoredDocument,
        event: NewEvent,
        receiver_state: ReceiverState | None = None,
    ) -> None:
        """Record an event here and send it back towards the sender's platform."""
        event_id, trail_event = await self.store.add_event(db, doc.id, event)
        if doc.previous_hop is None or event.receiver is None:
            # A platform's own receipt of a hand-over concerns no receiver: the sender learns
            # the hop from the previous platform's "forwarded" and each receiver's events, so
            # only those cross back (README "Status fan-out across NGSP").
            return
        back = self.directory.back(doc.previous_hop)
        if back is None:
            return
        relay = StatusRelay(
            documentId=doc.id,
            eventId=event_id,
            fromPlatform=self.spec.name,
            event=trail_event,
            receiverState=receiver_state,
        )
        await self.store.enqueue(
            db, "status", doc.id, back, [event.receiver or ""], relay.model_dump_json(by_alias=True)
        )

    # -- sending -----------------------------------------------------------------------

    async def send(
        self,
        consumer: Consumer,
        package: DocumentPackage,
        message_id: str,
        idempotency_key: str | None = None,
        xml: bytes | None = None,
    ) -> tuple[SendReceipt, bool]:
        """(receipt, created). A repeat of an idempotency key returns the first document.

        `xml`: the package as the sender wrote it, when it came as edXML; its signature (if
        any) is checked by the platform's policy and a signed package is kept byte for byte.
        """
        agency = agency_of(consumer)
        if not self.senders.same(package.from_.organId, agency):
            raise ProblemError(
                403,
                "sender-mismatch",
                "A consumer sends only as its own agency",
                f"Consumer {consumer.id!r} belongs to agency {agency}, not "
                f"{package.from_.organId}.",
                errors=[FieldError(field="$.from.organId", reason="not the caller's agency")],
            )
        _check_sender_traces(package)
        self._check_document_id(consumer, package)
        signed_xml, signed_by = await self.signatures.check(xml, agency)
        key = idempotency_key or default_idempotency_key(package)
        digest = _package_hash(package)
        existing = await self.store.by_idempotency_key(agency, key)
        if existing is None:
            if package.related_document is not None:
                await self._check_related(consumer, package)
            hops = self._hops([o.organId for o in package.to])
            arrival = _Arrival(
                id=new_document_id(),
                message_id=message_id,
                idempotency_key=key,
                package_hash=digest,
                sender_consumer=consumer.id,
                sender_agency=agency,
                origin_platform=self.spec.name,
                previous_hop=None,
                kind=package.kind,
                related=package.related_document,
                claimed_traces=len(package.traceHeaderList),
                detail=_sent(signed_by),
            )
            try:
                doc = await self._accept(arrival, package, hops, signed_xml, signed_by)
            except aiosqlite.IntegrityError:
                # The same key raced in from a concurrent retry: the first one stands.
                existing = await self.store.by_idempotency_key(agency, key)
                if existing is None:
                    raise
            else:
                return await self.receipt(doc), True
        if existing.package_hash != digest:
            raise ProblemError(
                409,
                "idempotency-key-reused",
                "Idempotency key already used for another document",
                f"Key {key!r} was used for document {existing.id} with different content.",
                errors=[
                    FieldError(
                        field="$.headers.Idempotency-Key" if idempotency_key else "$.documentId",
                        reason="used for another document",
                    )
                ],
                document_id=existing.id,
            )
        return await self.receipt(existing), False

    def _check_document_id(self, consumer: Consumer, package: DocumentPackage) -> None:
        """A DocumentId is `{organ},{date},{number}` and its organ is the sender's: a package
        carrying another organ's DocumentId would be taken for that organ's document by every
        receiver (and by a later revocation, update or status naming it)."""
        organ = organ_of(package.documentId)
        if not self.senders.same(organ, agency_of(consumer)):
            raise ProblemError(
                422,
                "document-id-not-senders",
                "The DocumentId names another organ than the sender",
                f"DocumentId {package.documentId[:120]!r} names organ {organ[:64]!r}, but the "
                f"package is sent by {agency_of(consumer)}: a DocumentId is "
                "{organ},{yyyy/MM/dd},{number/notation} with the sending organ's own code.",
                errors=[FieldError(field="$.documentId", reason="names another organ")],
            )

    async def _check_related(self, consumer: Consumer, package: DocumentPackage) -> None:
        """A revocation, update or replacement names documents its sender sent from here, and
        goes only to receivers of those documents."""
        agency = agency_of(consumer)
        kind = package.bussiness.bussinessDocType
        if kind is BussinessDocType.REPLACEMENT:
            targets = [
                (f"$.bussiness.replacementInfoList[{i}].documentId", r.documentId)
                for i, r in enumerate(package.bussiness.replacementInfoList)
            ]
        else:
            # A revocation without Bussiness/DocumentId names the MessageHeader's.
            field = "$.bussiness.documentId" if package.bussiness.documentId else "$.documentId"
            targets = [(field, package.related_document or "")]
        receivers: set[str] = set()
        for field, edxml_id in targets:
            related = await self.store.by_edxml_id(agency, edxml_id)
            if related is None:
                raise ProblemError(
                    422,
                    "unknown-related-document",
                    f"The document to {package.kind.value.removesuffix('ment')} is not one of "
                    "the sender's",
                    f"No document with DocumentId {edxml_id[:120]} sent by {agency} here.",
                    errors=[FieldError(field=field, reason="not a document you sent")],
                )
            receivers.update(r.organId for r in await self.store.receipts(related.id))
        strangers = [
            FieldError(
                field=f"$.to[{i}].organId",
                reason=f"{o.organId} did not receive the document this {package.kind.value} "
                "concerns",
            )
            for i, o in enumerate(package.to)
            if o.organId not in receivers
        ]
        if strangers:
            raise ProblemError(
                422,
                "not-a-receiver-of-related-document",
                f"A {package.kind.value} goes only to the receivers of the document it concerns",
                "; ".join(f"{p.field}: {p.reason}" for p in strangers),
                errors=strangers,
            )

    async def relay_in(self, delivery: Delivery) -> None:
        """A neighbouring platform hands a document over; accepted once, by document id."""
        if await self.store.get(delivery.id) is not None:
            return
        hops = self._hops(delivery.receivers)
        relayed = _relayed_xml(delivery)
        sender = delivery.senderAgency or delivery.package.from_.organId
        signed_xml, signed_by = await self.signatures.check(relayed, sender)
        if signed_xml is not None:
            _same_package(signed_xml, delivery.package)
        arrival = _Arrival(
            id=delivery.id,
            message_id=delivery.messageId,
            idempotency_key=f"relay:{delivery.id}",
            package_hash=None,
            sender_consumer=f"{delivery.fromPlatform}",
            sender_agency=sender,
            origin_platform=delivery.originPlatform,
            previous_hop=delivery.fromPlatform,
            kind=delivery.kind,
            related=delivery.relatedDocument,
            claimed_traces=min(delivery.claimedTraces, len(delivery.package.traceHeaderList)),
            detail=f"from {delivery.fromPlatform}" + _signed_note(signed_by),
        )
        with contextlib.suppress(aiosqlite.IntegrityError):
            # On an IntegrityError a concurrent retry of the same hand-over got there first.
            await self._accept(arrival, delivery.package, hops, signed_xml, signed_by)

    async def _accept(
        self,
        arrival: _Arrival,
        package: DocumentPackage,
        hops: dict[str, list[str]],
        signed_xml: bytes | None,
        signed_by: SignedBy | None,
    ) -> StoredDocument:
        """Store a document sent or relayed here, with this platform's TraceHeader, its
        "accepted" event, the claims its sender made and its way on to each receiver: one
        transaction. aiosqlite.IntegrityError: a document of this id or key is already here."""
        package = _with_trace(package, self._trace())
        doc = StoredDocument(
            id=arrival.id,
            message_id=arrival.message_id,
            idempotency_key=arrival.idempotency_key,
            package_hash=arrival.package_hash or _package_hash(package),
            sender_consumer=arrival.sender_consumer,
            sender_agency=arrival.sender_agency,
            origin_platform=arrival.origin_platform,
            previous_hop=arrival.previous_hop,
            kind=arrival.kind,
            related=arrival.related,
            edxml_id=package.documentId,
            package=package,
            created=time.time(),
            rowid=0,
            package_xml=signed_xml,
            signed_by=signed_by,
            claimed_traces=arrival.claimed_traces,
        )
        async with self.store.transaction() as db:
            await self.store.insert_document(db, doc)
            await self._event(db, doc, NewEvent(None, "accepted", detail=arrival.detail))
            await _record_claims(self.store, db, doc)
            await self._route(db, doc, hops)
        self._wake()
        return doc

    # -- outcomes of delivery attempts (called by the worker) ---------------------------

    async def delivered(
        self, db: aiosqlite.Connection, document_id: str, hop: str, receivers: list[str]
    ) -> None:
        """Record a delivery, in the caller's transaction: the one that marks the outbox row
        done, so a crash leaves both or neither (never a receipt pending for a document the
        receiver already holds)."""
        doc = await self.store.get(document_id)
        if doc is None:  # nothing left to record against; the outbox row still finishes
            return
        if hop.startswith("push:"):
            for agency in receivers:
                await self.store.set_receipt(db, doc.id, agency, status_code=StatusCode.ARRIVED)
                await self._event(
                    db,
                    doc,
                    NewEvent(agency, "delivered", StatusCode.ARRIVED, "pushed to receiver"),
                    ReceiverState.DELIVERED,
                )
        else:
            for agency in receivers:
                await self._event(db, doc, NewEvent(agency, "forwarded", detail=f"handed to {hop}"))

    async def failed(
        self, db: aiosqlite.Connection, document_id: str, receivers: list[str], reason: str
    ) -> None:
        """Record that delivery was given up, in the caller's transaction (as `delivered`)."""
        doc = await self.store.get(document_id)
        if doc is None:  # an item whose document is unreadable or gone: it must still stop
            return
        for agency in receivers:
            await self.store.set_receipt(db, doc.id, agency, state=ReceiverState.FAILED)
            await self._event(
                db, doc, NewEvent(agency, "failed", detail=reason), ReceiverState.FAILED
            )

    async def retrying(self, document_id: str, receivers: list[str], detail: str) -> None:
        doc = await self.store.get(document_id)
        assert doc is not None
        async with self.store.transaction() as db:
            for agency in receivers:
                await self.store.add_event(db, doc.id, NewEvent(agency, "retry", detail=detail))

    # -- statuses ----------------------------------------------------------------------

    async def relay_status_in(self, relay: StatusRelay) -> None:
        doc = await self.store.get(relay.documentId)
        if doc is None:
            raise _not_found(relay.documentId)
        async with self.store.transaction() as db:
            fresh = await self.store.add_relayed_event(db, doc.id, relay.eventId, relay.event)
            if not fresh:
                return
            receiver = relay.event.receiver
            if receiver:
                await self.store.set_receipt(
                    db,
                    doc.id,
                    receiver,
                    state=relay.receiverState,
                    status_code=relay.event.statusCode,
                )
            if doc.previous_hop is not None and (back := self.directory.back(doc.previous_hop)):
                onward = relay.model_copy(update={"fromPlatform": self.spec.name})
                await self.store.enqueue(
                    db,
                    "status",
                    doc.id,
                    back,
                    [receiver or ""],
                    onward.model_dump_json(by_alias=True),
                )
        self._wake()

    async def receiver_status(
        self, consumer: Consumer, document_id: str, packet: StatusPacket
    ) -> None:
        doc = await self._receivable(consumer, document_id)
        problems = []
        if not self.senders.same(packet.from_.organId, agency_of(consumer)):
            problems.append(
                FieldError(
                    field="$.from.organId",
                    reason=f"a status comes from the receiving organ {agency_of(consumer)}",
                )
            )
        if packet.responseFor.documentId != doc.edxml_id:
            problems.append(
                FieldError(
                    field="$.responseFor.documentId",
                    reason=f"this status is posted for document {doc.edxml_id}",
                )
            )
        if not self.is_sender(packet.responseFor.organId, doc):
            # A DocumentId is one organ's: the status names that organ as the document's sender.
            problems.append(
                FieldError(
                    field="$.responseFor.organId",
                    reason=f"document {doc.edxml_id} was sent by {doc.sender_agency}",
                )
            )
        if problems:
            raise ProblemError(
                422,
                "status-mismatch",
                "The status packet is not this receiver's status for this document",
                "; ".join(f"{p.field}: {p.reason}" for p in problems),
                errors=problems,
            )
        if packet.timestamp is None:
            packet = packet.model_copy(update={"timestamp": now_local()})
        staff = packet.staffInfo.staff
        detail = packet.description + (f" ({staff})" if staff else "")
        async with self.store.transaction() as db:
            await self.store.set_receipt(
                db, doc.id, agency_of(consumer), status_code=packet.statusCode
            )
            await self._event(
                db,
                doc,
                NewEvent(agency_of(consumer), "status", packet.statusCode, detail, status=packet),
                ReceiverState.DELIVERED,
            )
        self._wake()

    async def acknowledge(self, consumer: Consumer, document_id: str) -> None:
        """A pull receiver took the document from its inbox: it has arrived (01)."""
        doc = await self._receivable(consumer, document_id)
        if (
            await self.store.local_receipt(doc.id, agency_of(consumer))
            != ReceiverState.AWAITING_PICKUP
        ):
            return  # acknowledging twice changes nothing
        async with self.store.transaction() as db:
            await self.store.set_receipt(
                db, doc.id, agency_of(consumer), status_code=StatusCode.ARRIVED
            )
            await self._event(
                db,
                doc,
                NewEvent(agency_of(consumer), "delivered", StatusCode.ARRIVED, "taken from inbox"),
                ReceiverState.DELIVERED,
            )
        self._wake()

    async def receiver_note(self, consumer: Consumer, document_id: str, detail: str) -> None:
        """A receiver's word about a document that carries no status code (the axis's
        `fail`): in the trail and back to the sender, the receipt's state unchanged."""
        doc = await self._receivable(consumer, document_id)
        async with self.store.transaction() as db:
            await self._event(db, doc, NewEvent(agency_of(consumer), "status", detail=detail))
        self._wake()

    def is_sender(self, organ_id: str, doc: StoredDocument) -> bool:
        """`organ_id` (as a package or status writes it) names the sender of `doc`."""
        return self.senders.same(organ_id, doc.sender_agency) or self.senders.same(
            organ_id, doc.package.from_.organId
        )

    # -- reading -----------------------------------------------------------------------

    async def _receivable(self, consumer: Consumer, document_id: str) -> StoredDocument:
        doc = await self.store.get(document_id)
        if doc is None or await self.store.local_receipt(doc.id, agency_of(consumer)) is None:
            raise _not_found(document_id)
        return doc

    async def stored(self, document_id: str) -> StoredDocument | None:
        """The document of this id as stored here, whoever asks (for this platform's desks)."""
        return await self.store.get(document_id)

    async def receivers(self, document_id: str) -> list[ReceiverView]:
        """Each receiver of a document and where its copy stands."""
        return await self.store.receipts(document_id)

    async def local_state(self, document_id: str, agency: str) -> ReceiverState | None:
        """Where a receiving agency of this platform stands with a document; None when the
        agency is not one of its receivers here."""
        return await self.store.local_receipt(document_id, agency)

    async def visible(self, consumer: Consumer, document_id: str) -> StoredDocument:
        """The consumer that sent it, or a receiving agency at the receiver's platform."""
        doc = await self.store.get(document_id)
        if doc is None:
            raise _not_found(document_id)
        is_sender = doc.origin_platform == self.spec.name and doc.sender_consumer == consumer.id
        if is_sender or await self.store.local_receipt(doc.id, agency_of(consumer)) is not None:
            return doc
        raise _not_found(document_id)

    async def receipt(self, doc: StoredDocument) -> SendReceipt:
        return SendReceipt(
            id=doc.id,
            edxmlDocumentId=doc.edxml_id,
            idempotencyKey=doc.idempotency_key,
            kind=doc.kind,
            receivers=await self.store.receipts(doc.id),
            created=datetime.fromtimestamp(doc.created, UTC),
        )

    async def view(self, doc: StoredDocument) -> DocumentView:
        receipt = await self.receipt(doc)
        return DocumentView(
            **receipt.model_dump(),
            sender=doc.sender_agency,
            signedBy=doc.signed_by,
            final=all(r.state.final for r in receipt.receivers),
            claimedTrace=doc.package.traceHeaderList[: doc.claimed_traces],
            trail=await self.store.trail(doc.id),
        )

    def delivery(
        self, doc: StoredDocument, receivers: list[str], *, to_receiver: bool = False
    ) -> Delivery:
        """The hand-over to the next hop. A receiver's back end (`to_receiver`) gets the
        package as XML too, exactly what `package_xml` answers; the next platform gets the
        XML only for a signed package, the bytes it verifies and keeps."""
        xml = self.package_xml(doc) if to_receiver else doc.package_xml
        return Delivery(
            id=doc.id,
            kind=doc.kind,
            relatedDocument=doc.related,
            receivers=receivers,
            originPlatform=doc.origin_platform,
            fromPlatform=self.spec.name,
            messageId=doc.message_id,
            package=doc.package,
            claimedTraces=doc.claimed_traces,
            senderAgency=doc.sender_agency,
            packageXml=None if xml is None else base64.b64encode(xml).decode(),
        )

    def package_xml(self, doc: StoredDocument) -> bytes:
        """What a receiver gets as XML: a signed package byte for byte as its sender wrote it
        (the platforms' TraceHeaders are in the JSON view and the trail); any other package
        written from the model, with every platform's TraceHeader."""
        if doc.package_xml is not None:
            return doc.package_xml
        return package_to_xml(doc.package)
