"""/vxp/{operation}: the national document axis as its vendor SDK (SDKVXP) calls it.

An e-office system that uses the SDK changes only its endpoint (`http://<platform>/vxp`), its
systemId and its secret. Every operation is `POST {endpoint}/{operation}` with its parameters
in signed `XroadVnpt-*` headers (gateway/trust/axis_signature.py); `countReceiveEdoc` and
`countReceiveStatus` and `downloadEdoc` are GETs in the SDK and are answered on both methods
(the C# SDK's method for them is not public); every other operation is POST only.

What a signature can bind is the SDK's header map, never the operation or the body: the SDK
keeps one map per service object, adding each call's keys to it, so a later call signs the
keys of earlier ones too. What is bound per operation is what the SDK always puts in the map
for it: `Content-Type` is `application/octet-stream` for sendEdoc and `application/json` for
every other call (`KnobstickServiceImp`), so captured headers of one kind do not serve the
other; the operation's own parameters (`docId`, `status`, `hash-file`, `AgencyCode`) are read
only from signed values.

Every reply is JSON with the fields the SDK reads (`KnobstickServiceImp`, `AgencyServiceImp`):
`status` ("OK"/"FAIL"), `ErrorCode` ("0" on success) and `ErrorDesc`, then the operation's
`data` (or `DocId` for sendEdoc, `count` for the counts); sendEdoc's FAIL carries an empty
`DocId` too, which the SDK reads before anything else. Replies are ASCII (non-ASCII as
\\u escapes): the SDK reads sendEdoc's answer as US-ASCII (`MultipartUtility.finish`).

HTTP status: 200 with OK. A FAIL carries a 4xx saying what kind of refusal it is (400 bad
headers or body, 403 signature, unknown system, sender or receiver mismatch, 404 unknown
operation or document, 409 conflict, 413 too large, 422 package refused) and the same number
as `ErrorCode` (the axis's own error codes are not public: unverified). The SDK parses the
body whatever the status (Apache HttpClient ignores it; sendEdoc's HttpURLConnection reads
the error stream for a 4xx); it fails only on 202 or a body without the three fields. Every
exchange is audited like `/documents`: an OK leaves only once the document and its audit
record are committed.

Sources (read, not copied): SDKVXP 2.0.1's classes as decompiled in a public repository
(`com/vpcp/services/KnobstickServiceImp`, `AgencyServiceImp`, `VnptService`, `HttpConnection`,
`MultipartUtility`; the index names that repository by content only); the vendor's example
PVN-Organization/API-Gateway-iOffice `JDK 1.8/SDKVXP_Example/src/main/java/com/vpcp/example/
ServiceTest.java` and `.../com/vpcp/gateway/DocumentPipeline.java`; QuangChuIT/edoc-integrator's
VPCP client (`com/bkav/edoc/web/vpcp/ServiceVPCP.java`); a public C# client of the .NET SDK
(`VPCPXRoadSdk`, `TrucLienThongV2Service.cs`). What none of them shows is marked unverified in
gateway/documents/axis_desk.py and docs/guides/axis-sdk.md.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from apikit.openapi import FOREIGN_ERRORS
from apikit.problems import as_problem
from contracts.problem import PROBLEM_MEDIA_TYPE
from gateway.api.deps import AxisDep, ExchangeDep, SettingsDep, SpecDep
from gateway.documents.axis_desk import AxisDesk
from gateway.messagelog.audited import Exchange, audited_route
from gateway.proxy.inbound import read_body
from gateway.settings import GatewaySettings
from gateway.trust.axis_signature import SignedRequest, refused, verify

router = APIRouter(prefix="/vxp", tags=["document axis (SDKVXP)"], route_class=audited_route("vxp"))

Reply = dict[str, Any]
Operation = Callable[[AxisDesk, SignedRequest, bytes, Exchange], Awaitable[Reply]]


def _json(status: int, reply: Reply) -> Response:
    body = json.dumps(reply, ensure_ascii=True, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type="application/json")


async def _agencies(desk: AxisDesk, signed: SignedRequest, body: bytes, ex: Exchange) -> Reply:
    return {"data": await desk.agency_list()}


async def _agencies_qd20(desk: AxisDesk, signed: SignedRequest, body: bytes, ex: Exchange) -> Reply:
    return {"data": await desk.agency_list(code102=True)}


async def _synchronize(desk: AxisDesk, signed: SignedRequest, body: bytes, ex: Exchange) -> Reply:
    # AgencyServiceImp.getSynchronizeUnit reads `version` as a number and `deleted`,
    # `isAgency` as booleans; what the axis puts in them is not public (unverified).
    units = [
        {**a, "version": 1, "centerCode": "", "deleted": False, "modifyDate": "", "isAgency": True}
        for a in await desk.agency_list()
    ]
    return {"data": units}


async def _register(desk: AxisDesk, signed: SignedRequest, body: bytes, ex: Exchange) -> Reply:
    await desk.register(signed.system, body)
    return {}


async def _delete(desk: AxisDesk, signed: SignedRequest, body: bytes, ex: Exchange) -> Reply:
    await desk.unregister(signed.system, signed.get("AgencyCode"))
    return {}


async def _send(desk: AxisDesk, signed: SignedRequest, body: bytes, ex: Exchange) -> Reply:
    return {"DocId": await desk.send(signed.system, signed.get, body, ex.message_id)}


async def _received(desk: AxisDesk, signed: SignedRequest, body: bytes, ex: Exchange) -> Reply:
    data = await desk.received(signed.system, signed.get("messagetype"), signed.get("pageSize"))
    return {"data": data}


async def _count(desk: AxisDesk, signed: SignedRequest, body: bytes, ex: Exchange) -> Reply:
    data = await desk.received(signed.system, signed.get("messagetype"), None)
    return {"count": len(data)}


async def _count_status(desk: AxisDesk, signed: SignedRequest, body: bytes, ex: Exchange) -> Reply:
    return {"count": len(await desk.received(signed.system, "status", None))}


async def _sent(desk: AxisDesk, signed: SignedRequest, body: bytes, ex: Exchange) -> Reply:
    return {"data": await desk.sent(signed.system, signed.get("docId"))}


async def _edoc(desk: AxisDesk, signed: SignedRequest, body: bytes, ex: Exchange) -> Reply:
    package = await desk.edoc(signed.system, signed.get("docId"))
    return {"data": base64.b64encode(package).decode()}


FILE = "file"  # a reply that is the file itself, not JSON


async def _download(desk: AxisDesk, signed: SignedRequest, body: bytes, ex: Exchange) -> Reply:
    # KnobstickServiceImp.downloadEdoc GETs the operation and writes the answer to
    # {filePath}/{year}/{month}/{docId}.edxml as it comes: the edXML itself.
    return {FILE: await desk.edoc(signed.system, signed.get("docId"))}


async def _update(desk: AxisDesk, signed: SignedRequest, body: bytes, ex: Exchange) -> Reply:
    await desk.update_status(
        signed.system, signed.get("docId"), signed.get("status"), signed.get("description")
    )
    return {}


OPERATIONS: dict[str, Operation] = {
    "getAgenciesList": _agencies,
    "getAgenciesListQD20": _agencies_qd20,
    "getSynchronizeUnit": _synchronize,
    "registerAgency": _register,
    "deleteAgency": _delete,
    "sendEdoc": _send,
    "getReceivedEdocList": _received,
    "countReceiveEdoc": _count,
    "countReceiveStatus": _count_status,
    "getSentEdocList": _sent,
    "getEdoc": _edoc,
    "downloadEdoc": _download,
    "updateStatus": _update,
}


# The operations the SDK GETs (KnobstickServiceImp.countReceiveEdoc, countReceiveStatus,
# downloadEdoc); it POSTs every other one.
GET_OPERATIONS = frozenset({"countReceiveEdoc", "countReceiveStatus", "downloadEdoc"})
SEND_CONTENT_TYPE = "application/octet-stream"  # KnobstickServiceImp.sendEdoc's, signed


def _as_the_sdk_calls(operation: str, method: str, signed: SignedRequest) -> None:
    """The method and the signed Content-Type the SDK uses for this operation, or a refusal."""
    if method != "POST" and operation not in GET_OPERATIONS:
        raise refused(
            405,
            "axis-method-not-allowed",
            f"{operation} is called with POST (as the SDK calls it), not {method}.",
        )
    content_type = (signed.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if (operation == "sendEdoc") != (content_type == SEND_CONTENT_TYPE):
        wanted = "is" if operation == "sendEdoc" else "is not"
        raise refused(
            403,
            "axis-bad-signature",
            f"The signed XroadVnpt-Content-Type of {operation} {wanted} {SEND_CONTENT_TYPE} "
            "when the SDK calls it: these headers were signed for another operation.",
        )


def _body_limit(operation: str, settings: GatewaySettings) -> int:
    return settings.document_max_bytes if operation == "sendEdoc" else settings.max_body_bytes


_REPLY: dict[str, Any] = {
    "type": "object",
    "required": ["status", "ErrorCode", "ErrorDesc"],
    "properties": {
        "status": {"type": "string", "enum": ["OK", "FAIL"]},
        "ErrorCode": {"type": "string"},
        "ErrorDesc": {"type": "string"},
        "data": {},
        "DocId": {"type": "string"},
        "count": {"type": "integer"},
    },
}
_ROUTE: dict[str, Any] = {
    "summary": "An operation of the document axis, signed as the SDKVXP client signs it",
    "description": "Operations: " + ", ".join(OPERATIONS) + ". Parameters in XroadVnpt-* "
    "headers; sendEdoc's body is the .edxml file (application/octet-stream).",
    "response_class": Response,
    "responses": {
        200: {
            "description": 'OK: status, ErrorCode "0", ErrorDesc and the operation\'s data '
            "(downloadEdoc: the edXML file)",
            "content": {"application/json": {"schema": _REPLY}, "application/xml": {}},
        },
        **{
            code: {
                "description": "FAIL, ErrorCode the same number",
                "content": {"application/json": {"schema": _REPLY}},
            }
            for code in (400, 403, 404, 405, 408, 409, 413, 422)
        },
        503: {
            "description": "The audit log cannot take the exchange (before the axis sees it)",
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        },
    },
    "openapi_extra": {FOREIGN_ERRORS: "the SDKVXP FAIL reply"},
}


@router.post("/{operation}", operation_id="vxp_operation", **_ROUTE)
@router.get(
    "/{operation}",
    operation_id="vxp_operation_get",
    **{
        **_ROUTE,
        "summary": "countReceiveEdoc, countReceiveStatus and downloadEdoc, as the SDK GETs them",
    },
)
async def operation(
    operation: str,
    request: Request,
    desk: AxisDep,
    spec: SpecDep,
    settings: SettingsDep,
    exchange: ExchangeDep,
) -> Response:
    try:
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise refused(
                404,
                "axis-unknown-operation",
                f"No operation {operation[:60]!r}; the axis answers {', '.join(OPERATIONS)}.",
            )
        systems = {s.systemid: s for s in spec.axis_systems}
        signed = verify(
            request.headers.raw, systems, max_age_days=settings.axis_timestamp_max_age_days
        )
        exchange.note_caller(f"vxp:{signed.system.systemid}")
        _as_the_sdk_calls(operation, request.method, signed)
        body = await read_body(
            request, _body_limit(operation, settings), settings.body_timeout_seconds
        )
        exchange.note_body(body)
        reply = await handler(desk, signed, body, exchange)
        if FILE in reply:
            return Response(reply[FILE], media_type="application/xml")
    except Exception as exc:  # refusals answer in the SDK's shape; a bug stays a 500
        problem = as_problem(exc)
        if problem is None:
            raise
        exchange.outcome = problem.slug
        exchange.detail = problem.detail
        refusal: Reply = {
            "status": "FAIL",
            "ErrorCode": str(problem.status),
            "ErrorDesc": problem.detail,
        }
        if operation == "sendEdoc":
            # The SDK reads DocId before it records the FAIL (KnobstickServiceImp.sendEdoc);
            # without it the caller would see an empty result and no reason.
            refusal["DocId"] = ""
        return _json(problem.status, refusal)
    return _json(200, {"status": "OK", "ErrorCode": "0", "ErrorDesc": "Success", **reply})
