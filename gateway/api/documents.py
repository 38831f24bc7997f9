"""/documents: send, follow, receive (push or inbox) and answer official documents.

Bodies are edXML packages and status packets as XML (application/xml, the wire format real
e-office systems write) or as their JSON projection (application/json); a package is read
back in either form by the Accept header. Consumers act as their own agency only: a sender
sees its documents, a receiver the documents addressed to it, nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ValidationError

from apikit.problems import ProblemError, validation_problem
from contracts.edxml import (
    Delivery,
    DocumentPackage,
    DocumentView,
    DocumentWithPackage,
    InboxPage,
    ReceiverView,
    SendReceipt,
    StatusPacket,
    StatusRelay,
)
from contracts.edxml.xml import XmlRefused, package_data, status_data
from contracts.problem import FieldError, Problem
from contracts.topology import Consumer, Role
from gateway.api.deps import Caller, DocumentsDep, ExchangeDep, SettingsDep, SpecDep
from gateway.documents.service import agency_of
from gateway.messagelog.audited import Exchange, audited_route
from gateway.proxy.inbound import parse_json, read_body
from gateway.settings import GatewaySettings
from gateway.spec import PlatformSpec

router = APIRouter(prefix="/documents", tags=["documents"], route_class=audited_route("documents"))

_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": Problem} for s in (400, 401, 403, 404, 409, 413, 415, 422, 503)
}
_PACKAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/DocumentPackage"}},
            "application/xml": {"schema": {"type": "string", "description": "edXML package"}},
        },
    }
}


async def _body(
    request: Request, settings: GatewaySettings, exchange: Exchange, times: int = 1
) -> bytes:
    limit = settings.document_max_bytes * times
    body = await read_body(request, limit, settings.body_timeout_seconds)
    exchange.note_body(body)
    return body


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc.errors()) from None


def is_xml(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in ("application/xml", "text/xml") or bool(
        re.fullmatch(r"application/[\w.+-]+\+xml", media)
    )


def _decode(
    request: Request, body: bytes, from_xml: Callable[[bytes], dict[str, Any]] | None
) -> Any:
    content_type = request.headers.get("content-type")
    if from_xml is not None and is_xml(content_type):
        try:
            return from_xml(body)
        except XmlRefused as exc:
            title = "Malformed XML" if exc.slug == "invalid-xml" else "XML over a limit"
            raise ProblemError(
                400, exc.slug, title, exc.detail, errors=[FieldError(field="$", reason=exc.detail)]
            ) from None
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Send JSON or edXML",
            f"Content-Type must be application/json or application/xml, not {media or 'none'}.",
            errors=[FieldError(field="$.headers.Content-Type", reason="unsupported")],
        )
    return parse_json(body)


def _require_platform(consumer: Consumer, spec: PlatformSpec, neighbour: str) -> None:
    peer_agency = _neighbour_agency(spec, neighbour)
    if Role.PLATFORM not in consumer.roles or peer_agency != consumer.agency:
        raise ProblemError(
            403,
            "platform-only",
            "Only a neighbouring platform may hand documents over",
            f"Consumer {consumer.id!r} may not act as platform {neighbour!r} at {spec.name}.",
        )


def _neighbour_agency(spec: PlatformSpec, name: str) -> str | None:
    if spec.upstream is not None and spec.upstream.platform == name:
        return spec.upstream.agency
    return next((p.agency for p in spec.downstream if p.name == name), None)


@router.post(
    "",
    status_code=202,
    response_model=SendReceipt,
    summary="Send an official document (edXML as JSON or XML)",
    description="Answers 202 once the document is committed; delivery runs in the background. "
    "A repeat with the same idempotency key returns the first document and creates nothing.",
    responses=_ERRORS,
    openapi_extra=_PACKAGE_BODY,
)
async def send(
    request: Request,
    response: Response,
    consumer: Caller,
    documents: DocumentsDep,
    settings: SettingsDep,
    exchange: ExchangeDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="Default: the edXML DocumentId (with the kind, for a revocation, "
            "update or replacement)",
        ),
    ] = None,
) -> SendReceipt:
    body = await _body(request, settings, exchange)
    package = _parse(DocumentPackage, _decode(request, body, package_data))
    xml = body if is_xml(request.headers.get("content-type")) else None
    receipt, created = await documents.send(
        consumer, package, exchange.message_id, idempotency_key, xml=xml
    )
    response.headers["Location"] = f"/documents/{receipt.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return receipt


@router.get(
    "/inbox",
    response_model=InboxPage,
    summary="Documents waiting for the caller's agency (pull receivers)",
    responses=_ERRORS,
)
async def inbox(
    consumer: Caller,
    documents: DocumentsDep,
    settings: SettingsDep,
    cursor: Annotated[
        # le: SQLite's largest rowid; a bigger number is a wrong cursor, not a crash.
        int, Query(ge=0, le=2**63 - 1, description="From next_cursor of the last page")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> InboxPage:
    docs, more = await documents.store.inbox(
        agency_of(consumer), cursor, limit, settings.inbox_page_max_bytes
    )
    return InboxPage(
        documents=[
            DocumentWithPackage(
                id=d.id,
                kind=d.kind,
                relatedDocument=d.related,
                signedBy=d.signed_by,
                package=d.package,
            )
            for d in docs
        ],
        next_cursor=str(docs[-1].rowid) if more else None,
    )


@router.post(
    "/relay",
    status_code=202,
    summary="A neighbouring platform hands a document over (platforms only)",
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Delivery"}}},
        }
    },
)
async def relay(
    request: Request,
    consumer: Caller,
    documents: DocumentsDep,
    spec: SpecDep,
    settings: SettingsDep,
    exchange: ExchangeDep,
) -> dict[str, str]:
    # A signed package travels twice in a hand-over: as the model and as its signed bytes.
    body = await _body(request, settings, exchange, times=3)
    delivery = _parse(Delivery, _decode(request, body, None))
    _require_platform(consumer, spec, delivery.fromPlatform)
    await documents.relay_in(delivery)
    return {"id": delivery.id}


@router.post(
    "/relay-status",
    summary="A neighbouring platform relays a status back (platforms only)",
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/StatusRelay"}}
            },
        }
    },
)
async def relay_status(
    request: Request,
    consumer: Caller,
    documents: DocumentsDep,
    spec: SpecDep,
    settings: SettingsDep,
    exchange: ExchangeDep,
) -> dict[str, str]:
    body = await _body(request, settings, exchange)
    relayed = _parse(StatusRelay, _decode(request, body, None))
    _require_platform(consumer, spec, relayed.fromPlatform)
    await documents.relay_status_in(relayed)
    return {"id": relayed.documentId}


@router.get(
    "/{document_id}",
    response_model=DocumentView,
    summary="A document's receivers, states and trail (sender or receiver only)",
    responses=_ERRORS,
)
async def follow(document_id: str, consumer: Caller, documents: DocumentsDep) -> DocumentView:
    return await documents.view(await documents.visible(consumer, document_id))


@router.get(
    "/{document_id}/package",
    summary="The document itself, as JSON or as edXML (Accept: application/xml)",
    responses={
        **_ERRORS,
        200: {
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/DocumentPackage"}},
                "application/xml": {"schema": {"type": "string"}},
            }
        },
    },
)
async def package(
    document_id: str,
    consumer: Caller,
    documents: DocumentsDep,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    doc = await documents.visible(consumer, document_id)
    if accept and is_xml(accept.split(",")[0]):
        return Response(documents.package_xml(doc), media_type="application/xml")
    return Response(doc.package.model_dump_json(by_alias=True), media_type="application/json")


@router.post(
    "/{document_id}/ack",
    response_model=list[ReceiverView],
    summary="A pull receiver confirms it took the document (status 01 arrived)",
    responses=_ERRORS,
)
async def acknowledge(
    document_id: str, consumer: Caller, documents: DocumentsDep
) -> list[ReceiverView]:
    await documents.acknowledge(consumer, document_id)
    receipts = await documents.store.receipts(document_id)
    return [r for r in receipts if r.organId == consumer.agency]


@router.post(
    "/{document_id}/status",
    status_code=202,
    response_model=list[ReceiverView],
    summary="A receiver reports its status (accepted, assigned, done, rejected, ...)",
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/StatusPacket"}},
                "application/xml": {"schema": {"type": "string", "description": "edXML status"}},
            },
        }
    },
)
async def report_status(
    request: Request,
    document_id: str,
    consumer: Caller,
    documents: DocumentsDep,
    settings: SettingsDep,
    exchange: ExchangeDep,
) -> list[ReceiverView]:
    body = await _body(request, settings, exchange)
    packet = _parse(StatusPacket, _decode(request, body, status_data))
    await documents.receiver_status(consumer, document_id, packet)
    receipts = await documents.store.receipts(document_id)
    return [r for r in receipts if r.organId == consumer.agency]
