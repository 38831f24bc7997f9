"""The document axis's operations for an SDK system, over the same document service as
`/documents`: a send is `DocumentService.send` (same transaction, outbox and idempotency), a
status is `receiver_status`, a pickup is `acknowledge`. Refusals are ProblemErrors; the route
answers them in the SDK's FAIL shape.

Where the axis's behaviour is not public (unverified), the choice made here:
- `getReceivedEdocList` with messagetype `edoc` lists every kind waiting (each item names its
  `messageType`), since the public clients poll only `edoc`; `revocation`, `update`,
  `replacement` list that kind only; `status` lists receivers' statuses about the system's
  own documents (01 arrived included), each until the system takes it with updateStatus.
- updateStatus words: `inbox` = taken (01 arrived); `done` = taken (01) while the document
  waits in the inbox, as every public client calls it right after getEdoc, and 06 (done)
  once it was taken; `acceptance` 03, `rejection` 02, `assignment` 04, `processing` 05;
  `fail` = the system could not take it: noted in the trail and back to the sender, and the
  document stays in the list for the next poll.
- times in lists are edXML timestamps (`yyyy/MM/dd HH:mm:ss`, Vietnam local time).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from pydantic import ValidationError

from apikit.problems import ProblemError, validation_problem
from contracts.edxml import (
    KIND_OF,
    BussinessDocType,
    DocumentPackage,
    Organization,
    ReceiverState,
    ReceiverView,
    ResponseFor,
    StatusCode,
    StatusPacket,
)
from contracts.edxml.model import VIETNAM, format_timestamp
from contracts.edxml.xml import XmlRefused, package_data, status_data, status_to_xml
from contracts.topology import AxisSystem, Consumer
from gateway.documents.axis_store import AxisStore, RegisteredAgency, StatusItem
from gateway.documents.service import DocumentService

SERVICE_TYPE = "eDoc"
MAX_LIST = 100  # items in one list answer
MAX_SENT = 50  # documents in one getSentEdocList answer without a docId
MESSAGE_TYPES = {
    "edoc": BussinessDocType.NEW,
    "revocation": BussinessDocType.REVOCATION,
    "update": BussinessDocType.UPDATE,
    "replacement": BussinessDocType.REPLACEMENT,
}
# The stored kind ("new", ...) as the axis's messagetype word: the table above, read back.
_WORD_OF_KIND = {KIND_OF[doc_type].value: word for word, doc_type in MESSAGE_TYPES.items()}
STATUS_WORDS = {
    "acceptance": StatusCode.ACCEPTED,
    "rejection": StatusCode.REJECTED,
    "assignment": StatusCode.ASSIGNED,
    "processing": StatusCode.PROCESSING,
}
# A receiver's latest status code as the axis's status word, and what it says.
_RECEIVE_WORD = {
    StatusCode.ARRIVED: ("done", "Đã nhận"),
    StatusCode.REJECTED: ("rejection", "Từ chối tiếp nhận"),
    StatusCode.ACCEPTED: ("acceptance", "Đã tiếp nhận"),
    StatusCode.ASSIGNED: ("assignment", "Đã phân công"),
    StatusCode.PROCESSING: ("processing", "Đang xử lý"),
    StatusCode.DONE: ("done", "Đã hoàn thành"),
    StatusCode.RECALLED: ("cancellation", "Đã thu hồi"),
    StatusCode.UPDATE_ACCEPTED: ("acceptance", "Đồng ý cập nhật"),
    StatusCode.UPDATE_REJECTED: ("rejection", "Từ chối cập nhật"),
}
_AGENCY_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,49}$")


def _refused(status: int, slug: str, detail: str) -> ProblemError:
    return ProblemError(status, slug, "Refused by the document axis", detail)


def _time(ts: float) -> str:
    return format_timestamp(
        datetime.fromtimestamp(ts, UTC).astimezone(VIETNAM).replace(tzinfo=None, microsecond=0)
    )


def _sdk_hex(digest: bytes) -> str:
    # The SDK writes hash-file with Integer.toHexString per byte: no zero padding
    # (KnobstickServiceImp.createContentHA256).
    return "".join(f"{b:x}" for b in digest)


def _hash_matches(given: str, data: bytes) -> bool:
    digest = hashlib.sha256(data).digest()
    return given.lower() in (digest.hex(), _sdk_hex(digest))


def system_consumer(system: AxisSystem) -> Consumer:
    """The system as the document service's caller: its own sender identity, its agency."""
    return Consumer.model_construct(
        id=f"vxp:{system.systemid}",
        name=system.name,
        platform=system.platform,
        agency=system.agency,
        client_id="",
        client_secret="",
        grants=[],
        roles=[],
        rate_limit=None,
    )


class AxisDesk:
    def __init__(
        self, documents: DocumentService, store: AxisStore, agencies: dict[str, str]
    ) -> None:
        self.documents = documents
        self.store = store
        self.agencies = agencies

    # -- agencies ----------------------------------------------------------------------

    def _parent(self, code: str) -> str:
        parent = "000.00.00." + code.rsplit(".", 1)[-1]
        return parent if parent != code and parent in self.agencies else ""

    async def agency_list(self, code102: bool = False) -> list[dict[str, str]]:
        found = [
            {"id": code, "code": code, "name": name, "mail": "", "pid": self._parent(code)}
            for code, name in self.agencies.items()
        ]
        found += [
            {"id": a.code, "code": a.code, "name": a.name, "mail": a.mail, "pid": a.pcode}
            for a in await self.store.registered()
        ]
        for item in found:
            item["oldCode"] = ""
            if code102:
                item["code102"] = item["code"]
        return found

    @staticmethod
    def _entitled(system: AxisSystem, operation: str) -> None:
        # An agency a system registers is listed to every system: only a system the topology
        # entitles to it may (`registers_agencies`).
        if not system.registers_agencies:
            raise _refused(
                403,
                "axis-not-entitled",
                f"System {system.systemid} may not call {operation}: the topology does not "
                "entitle it to register agencies (axis_systems[].registers_agencies).",
            )

    async def register(self, system: AxisSystem, body: bytes) -> None:
        self._entitled(system, "registerAgency")
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise _refused(400, "axis-malformed-body", "The body is not a JSON object.") from None
        if not isinstance(data, dict):
            raise _refused(400, "axis-malformed-body", "The body is not a JSON object.")
        fields = {k: data.get(k, "") for k in ("code", "pcode", "name", "mail", "mobile", "fax")}
        wrong = [k for k, v in fields.items() if not isinstance(v, str) or len(v) > 300]
        if wrong:
            raise _refused(
                400, "axis-malformed-body", f"Fields {wrong} must be strings of at most 300."
            )
        code = str(fields["code"])
        if not _AGENCY_CODE.match(code) or not fields["name"]:
            raise _refused(
                400,
                "axis-malformed-body",
                "registerAgency needs `code` (letters, digits, dots; at most 50) and `name`.",
            )
        if code in self.agencies:
            raise _refused(
                409, "axis-agency-exists", f"{code} is an agency of the topology already."
            )
        agency = RegisteredAgency(
            **{k: str(v) for k, v in fields.items()}, systemid=system.systemid
        )
        if not await self.store.register(agency):
            raise _refused(409, "axis-agency-exists", f"{code} is registered by another system.")

    async def unregister(self, system: AxisSystem, code: str | None) -> None:
        self._entitled(system, "deleteAgency")
        if not code:
            raise _refused(400, "axis-missing-parameter", "deleteAgency needs AgencyCode.")
        if not await self.store.unregister(system.systemid, code):
            raise _refused(
                404, "axis-unknown-agency", f"No agency {code[:60]!r} registered by this system."
            )

    # -- sending -----------------------------------------------------------------------

    async def send(
        self,
        system: AxisSystem,
        params: Callable[[str], str | None],
        body: bytes,
        message_id: str,
    ) -> str:
        """`params`: the signed parameter of that name (XroadVnpt-from, -hash-file, ...)."""
        sender = params("from")
        if sender and self.documents.senders.agency(sender) != system.agency:
            raise _refused(
                403,
                "axis-sender-mismatch",
                f"System {system.systemid} sends as {system.agency}, not {sender[:60]}.",
            )
        given = params("hash-file")
        if not given:
            raise _refused(400, "axis-missing-parameter", "sendEdoc needs XroadVnpt-hash-file.")
        # The SDK writes the file and then a CRLF (MultipartUtility.addInputStreamPart); the
        # hash is the file's.
        if _hash_matches(given, body):
            file = body
        elif body.endswith(b"\r\n") and _hash_matches(given, body[:-2]):
            file = body[:-2]
        else:
            raise _refused(
                400, "axis-hash-mismatch", "XroadVnpt-hash-file is not the SHA-256 of the body."
            )
        given_type = params("messagetype")
        word = (given_type or "").lower()
        consumer = system_consumer(system)
        if word == "status":
            return await self._send_status(system, consumer, file)
        if given_type is not None and word not in MESSAGE_TYPES:
            raise _refused(
                400,
                "axis-bad-messagetype",
                f"messagetype {word[:30]!r}: one of {', '.join([*MESSAGE_TYPES, 'status'])}.",
            )
        package = _model(DocumentPackage, file, package_data)
        # Without a messagetype, or with `edoc`, the package's own BussinessDocType says what
        # it is: Bkav's hub relays every kind as `edoc` (ServiceVPCP.java). A specific word
        # must agree with the package.
        kind = package.bussiness.bussinessDocType
        if given_type is not None and word != "edoc" and kind is not MESSAGE_TYPES[word]:
            raise _refused(
                422,
                "axis-messagetype-mismatch",
                f"messagetype {word} but the package's BussinessDocType is "
                f"{kind.value} ({package.kind.value}).",
            )
        # The file as the system wrote it: a signed package is checked and kept byte for byte.
        receipt, _ = await self.documents.send(consumer, package, message_id, xml=file)
        return receipt.id

    async def _send_status(self, system: AxisSystem, consumer: Consumer, file: bytes) -> str:
        packet = _model(StatusPacket, file, status_data)
        about = packet.responseFor
        # The document is the one ResponseFor names by DocumentId *and* sender, received here.
        senders = self.documents.senders
        doc_id = await self.store.received(
            system.agency, about.documentId, [about.organId, senders.agency(about.organId)]
        )
        if doc_id is None:
            raise _refused(
                404,
                "axis-unknown-document",
                f"No document {about.documentId[:120]} from {about.organId[:64]} received by "
                f"{system.agency} here.",
            )
        await self.documents.receiver_status(consumer, doc_id, packet)
        return doc_id

    # -- receiving ---------------------------------------------------------------------

    async def received(
        self, system: AxisSystem, messagetype: str | None, page_size: str | None
    ) -> list[dict[str, str]]:
        word = (messagetype or "edoc").lower()
        limit = MAX_LIST
        if page_size and page_size.isdigit():
            limit = max(1, min(int(page_size), MAX_LIST))
        if word == "status":
            consumer = system_consumer(system)
            items = await self.store.statuses(system.systemid, consumer.id, limit)
            return [self._status_row(system, i) for i in items]
        if word not in MESSAGE_TYPES:
            raise _refused(
                400,
                "axis-bad-messagetype",
                f"messagetype {word[:30]!r}: one of {', '.join([*MESSAGE_TYPES, 'status'])}.",
            )
        kind = None if word == "edoc" else word
        return [
            {
                "docId": w.id,
                "serviceType": SERVICE_TYPE,
                "messageType": _WORD_OF_KIND[w.kind],
                "created_time": _time(w.created),
                "updated_time": _time(w.updated),
                "from": w.sender,
                "to": system.agency,
                "status": "inbox",
                "status_desc": "Văn bản đã đến, chờ nhận",
            }
            for w in await self.store.waiting(system.agency, kind, limit)
        ]

    def _status_row(self, system: AxisSystem, item: StatusItem) -> dict[str, str]:
        word, desc = _RECEIVE_WORD.get(StatusCode(item.status_code or "01"), ("done", ""))
        return {
            "docId": item.id,
            "serviceType": SERVICE_TYPE,
            "messageType": "status",
            "created_time": _time(item.time),
            "updated_time": _time(item.time),
            "from": item.receiver,
            "to": system.agency,
            "status": word,
            "status_desc": desc,
        }

    async def edoc(self, system: AxisSystem, doc_id: str | None) -> bytes:
        """The package (or status packet) as edXML, for the sender or a receiver."""
        if not doc_id:
            raise _refused(400, "axis-missing-parameter", "getEdoc needs XroadVnpt-docId.")
        consumer = system_consumer(system)
        item = await self.store.status(consumer.id, doc_id)
        if item is not None:
            return status_to_xml(await self._packet(item))
        doc = await self.documents.visible(consumer, doc_id)
        return self.documents.package_xml(doc)

    async def _packet(self, item: StatusItem) -> StatusPacket:
        if item.status:
            return StatusPacket.model_validate_json(item.status)
        doc = await self.documents.stored(item.document_id)
        assert doc is not None  # a trail row outlives no document
        _, desc = _RECEIVE_WORD.get(StatusCode(item.status_code or "01"), ("", ""))
        return StatusPacket(
            from_=Organization(
                organId=item.receiver, organName=self.agencies.get(item.receiver, "")
            ),
            responseFor=_response_for(doc.package, doc.edxml_id),
            statusCode=StatusCode(item.status_code or "01"),
            description=item.detail or desc,
            timestamp=datetime.fromtimestamp(item.time, UTC)
            .astimezone(VIETNAM)
            .replace(tzinfo=None, microsecond=0),
        )

    async def update_status(
        self, system: AxisSystem, doc_id: str | None, word: str | None, description: str | None
    ) -> None:
        if not doc_id or not word:
            raise _refused(
                400, "axis-missing-parameter", "updateStatus needs XroadVnpt-docId and -status."
            )
        word = word.lower()
        consumer = system_consumer(system)
        item = await self.store.status(consumer.id, doc_id)
        if item is not None:
            if word != "fail":
                await self.store.take(system.systemid, item.id)
            return
        state = await self.documents.local_state(doc_id, system.agency)
        if state is None:
            doc = await self.documents.visible(consumer, doc_id)  # 404 unless the sender's
            raise _refused(
                403,
                "axis-not-receiver",
                f"{system.agency} sent document {doc.id}; only a receiver updates its status.",
            )
        waiting = state is ReceiverState.AWAITING_PICKUP
        if word == "inbox" or (word == "done" and waiting):
            await self.documents.acknowledge(consumer, doc_id)
        elif word == "fail":
            note = "the receiver's system could not take the document (fail)"
            await self.documents.receiver_note(
                consumer, doc_id, f"{note}: {description}" if description else note
            )
        elif word == "done" or word in STATUS_WORDS:
            code = StatusCode.DONE if word == "done" else STATUS_WORDS[word]
            doc = await self.documents.visible(consumer, doc_id)
            packet = StatusPacket(
                from_=Organization(organId=system.agency, organName=system.name),
                responseFor=_response_for(doc.package, doc.edxml_id),
                statusCode=code,
                description=(description or _RECEIVE_WORD[code][1])[:1000],
            )
            await self.documents.receiver_status(consumer, doc_id, packet)
        else:
            raise _refused(
                400,
                "axis-unknown-status",
                f"status {word[:30]!r}: one of inbox, acceptance, rejection, assignment, "
                "processing, done, fail.",
            )

    # -- following what was sent -------------------------------------------------------

    async def sent(self, system: AxisSystem, doc_id: str | None) -> list[dict[str, str]]:
        consumer = system_consumer(system)
        if doc_id:
            doc = await self.documents.visible(consumer, doc_id)
            if doc.sender_consumer != consumer.id:
                raise _refused(
                    404, "document-not-found", f"No document {doc_id} sent by this system."
                )
            ids = [doc.id]
        else:
            ids = await self.store.sent(consumer.id, MAX_SENT)
        rows: list[dict[str, str]] = []
        for one in ids:
            found = await self.documents.stored(one)
            if found is None:
                continue
            package = found.package
            for receipt in await self.documents.receivers(found.id):
                rows.append(
                    {
                        "senderDocId": found.id,
                        "receiverDocId": found.id,
                        "fromCode": found.sender_agency,
                        "toCode": receipt.organId,
                        "title": package.subject,
                        "notation": _notation(package),
                        "messageType": _WORD_OF_KIND[found.kind.value],
                        "serviceType": SERVICE_TYPE,
                        "sentTime": _time(found.created),
                        **_states(receipt),
                    }
                )
        return rows


def _states(receipt: ReceiverView) -> dict[str, str]:
    state = receipt.state
    received = state is ReceiverState.DELIVERED
    if state is ReceiverState.FAILED:
        send = ("fail", "Gửi không thành công")
        receive = ("fail", "Không nhận được")
    elif state is ReceiverState.PENDING:
        send = ("processing", "Đang gửi")
        receive = ("", "")
    elif state is ReceiverState.AWAITING_PICKUP:
        send = ("done", "Đã gửi")
        receive = ("inbox", "Văn bản đã đến, chờ nhận")
    else:
        send = ("done", "Đã gửi")
        receive = _RECEIVE_WORD.get(receipt.statusCode or StatusCode.ARRIVED, ("done", ""))
    return {
        "receivedTime": _time(receipt.updated.timestamp()) if received else "",
        "sendStatus": send[0],
        "sendStatusDesc": send[1],
        "receiveStatus": receive[0],
        "receiveStatusDesc": receive[1],
    }


def _notation(package: DocumentPackage) -> str:
    code = package.code
    return code.codeNumber + (f"/{code.codeNotation}" if code.codeNotation else "")


def _response_for(package: DocumentPackage, edxml_id: str) -> ResponseFor:
    return ResponseFor(
        organId=package.from_.organId,
        code=_notation(package),
        promulgationDate=package.promulgationInfo.promulgationDate,
        documentId=edxml_id,
    )


M = TypeVar("M", DocumentPackage, StatusPacket)


def _model(model: type[M], file: bytes, read: Any) -> M:
    try:
        data = read(file)
    except XmlRefused as exc:
        raise _refused(400, exc.slug, exc.detail) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc.errors()) from None
