"""The fidelity ledger: for each operation of a contract, where its shape comes from.

An agency that codes against the sandbox must know which answers are the real platform's
and which are the sandbox's own guess. Every contract module declares `FIDELITY`, one entry
per operation ("GET /chiTietDoanhNghiep"):

- `verified`: name, method, parameters and reply fields as a public source shows them;
- `partial`: some of it from a source (named), the rest the sandbox's own (the note says what);
- `unverified`: no public source found; the shape is the sandbox's.

The contract's OpenAPI document carries each entry as `x-sandbox-fidelity`, the platforms'
catalog lists them per service, and docs/fidelity.md tabulates them all
(`gsp-sandbox contracts fidelity`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FidelityStatus = Literal["verified", "partial", "unverified"]

# -- the public sources found so far (facts in ../shared/DOMAIN.md) -------------------------

NGSP_GUIDE = (
    "NGSP connection guide 'TÀI LIỆU HƯỚNG DẪN KẾT NỐI API THÔNG QUA NGSP' (Quảng Bình), "
    "markdown copy in the public code index"
)
OPENCPS_REGISTER = (
    "VietOpenCPS/frontend-opencps-v2.1 register/src/components/screens/Landing.vue "
    "(getApplicantInfos: the enterprise fields a one-stop shop reads)"
)
OPENCPS_DVCQG = (
    "VietOpenCPS/opencps-v2 modules/backend-dossiermgt/backend-dossiermgt-service/src/main/"
    "java/org/opencps/dossiermgt/action/impl/DVCQGIntegrationActionImpl.java"
)
CITIZEN_CLIENT = (
    "a public one-stop-shop form client (ModalGetInfoViewer: SoCongDan, "
    "CongDan.HoVaTen{Ho, ChuDem, Ten}, CongDan.NoiOHienTai.ChiTiet); repository not "
    "identified in the index"
)
QCVN_102 = "QCVN 102:2016/BTTTT (edXML), as real packages and the vendor SDKs write it"


def guide(section: str) -> str:
    """A section of the NGSP connection guide."""
    return f"{NGSP_GUIDE}, section '{section}'"


class Fidelity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    status: FidelityStatus
    sources: tuple[str, ...] = Field(default=(), description="Where the shape comes from")
    note: str = Field(default="", description="What is the sandbox's own, or why")


def verified(*sources: str, note: str = "") -> Fidelity:
    if not sources:
        raise ValueError("a verified shape names its source")
    return Fidelity(status="verified", sources=sources, note=note)


def partial(*sources: str, note: str) -> Fidelity:
    if not sources:
        raise ValueError("a partial shape names its source")
    return Fidelity(status="partial", sources=sources, note=note)


def unverified(note: str = "No public source found; the shape is the sandbox's own.") -> Fidelity:
    return Fidelity(status="unverified", note=note)


def document_entry(fidelity: Fidelity) -> dict[str, object]:
    """`x-sandbox-fidelity` of an OpenAPI operation."""
    return {"status": fidelity.status, "sources": list(fidelity.sources), "note": fidelity.note}


# Provincial variants a platform may take on in the topology (contracts/topology.py Platform),
# each with where it comes from: the ledger's second table.
PLATFORM_VARIANTS: dict[str, Fidelity] = {
    "unversioned_paths": unverified(
        "Some provincial LGSPs publish services without the version "
        "(/apiCSDLDKDN/chiTietDoanhNghiep, the project's domain notes); no public client "
        "calling such a path was found. A context in several versions answers with its newest."
    ),
    "lgsp_access_token": verified(
        "VietOpenCPS/opencps-v2 modules/backend-dossiermgt/backend-dossiermgt-service/src/main/"
        "java/org/opencps/dossiermgt/action/impl/QLVBIntegrationActionImpl.java (and "
        "QLCDIntegrationActionImpl.java): header lgspaccesstoken = base64 of "
        '{"AccessKey","SecretKey","AppName","PartnerCode","PartnerCodeCus"} on every call',
        note="Hậu Giang's LGSP. The sandbox checks AccessKey and SecretKey as the consumer's key "
        "and secret; AppName and the partner codes are carried but not checked.",
    ),
    "context_aliases": verified(
        "Gia Lai's public one-stop-shop tool (a Vue page posting civil-status records to "
        "https://congdichvu.gialai.gov.vn:443/hotich/1.0/dangKyHoTich; repository not "
        "identified, found by content in the code index)",
        note="Gia Lai's LGSP publishes the Ministry of Justice's civil-status service under "
        "its own context `hotich` (the NGSP guide's is apiHoTichTuPhap). An alias answers "
        "as the service itself; the audit records the service's code.",
    ),
}


CARBON_APIMGT_GATEWAY = (
    "wso2/carbon-apimgt components/apimgt/org.wso2.carbon.apimgt.gateway/src/main/java/org/wso2/"
    "carbon/apimgt/gateway/handlers/"
)

# How the platforms' gateway itself answers (WSO2 API Manager): the ledger's third table.
GATEWAY_ANSWERS: dict[str, Fidelity] = {
    "POST /token, POST /oauth2/token": partial(
        "VietOpenCPS/opencps-v2 modules/backend-postal-api-rest/.../VNPostManagementImpl.java "
        "(https://api.mitc.vn/token, form grant_type=client_credentials, Basic key:secret)",
        NGSP_GUIDE,
        note="/token is API-M 3.x's gateway path (what OpenCPS configures), /oauth2/token "
        "4.x's (WSO2's documentation; no public client calling it found). Both answer the "
        "guide's reply. The refusal body is RFC 6749's (unverified for WSO2).",
    ),
    "throttle-out": verified(
        CARBON_APIMGT_GATEWAY + "throttling/ThrottleHandler.java (handleThrottleOut, "
        "getNextAccessTimeString, setRetryAfterHeader)",
        CARBON_APIMGT_GATEWAY + "throttling/APIThrottleConstants.java",
        note="900800/900802/900803/900804/900806/900807 429 'Message throttled out' with "
        "nextAccessTime (yyyy-MMM-dd HH:mm:ssZ UTC) and Retry-After as an HTTP-date; 900801 "
        "503, 900805 403. The sandbox's quota is per consumer: it sends 900803 (application). "
        "The wrapped JSON form is the sandbox's choice between 3.x's and 4.x's (see README).",
    ),
    "fault media type": partial(
        CARBON_APIMGT_GATEWAY + "Utils.java (setFaultPayload: the Accept header's type when "
        "the gateway supports it, else the handler's default)",
        note="XML for Accept application/xml or text/xml, JSON otherwise (4.x's default). "
        "Namespaces ams (security) and amt (throttling) from APISecurityConstants and "
        "APIThrottleConstants; the dispatcher's (http://wso2.org/apimanager, am) from public "
        "captures only.",
    ),
    "CORS": partial(
        CARBON_APIMGT_GATEWAY + "security/CORSRequestHandler.java (OPTIONS answered 200 "
        "before authentication; the resource's methods; 404/405 when none matches)",
        "WSO2 API-M 4.x deployment.toml [apim.cors] defaults (allow_origins '*', methods GET, "
        "PUT, POST, DELETE, PATCH, OPTIONS, headers authorization, Access-Control-Allow-Origin, "
        "Content-Type, SOAPAction, apikey, Internal-Key), as public deployments copy them",
        note="That API-M adds OPTIONS to every published resource's methods (so a preflight "
        "lists it) is unverified.",
    ),
}

# What the platforms' document endpoints (`/documents`, `/vxp`) accept beyond the strict format,
# because real clients send it: the ledger's third table, each rule with the public files that
# show it.
PVN_GATEWAY = "PVN-Organization/API-Gateway-iOffice JDK 1.8/SDKVXP_Example"
BKAV_HUB = "QuangChuIT/edoc-integrator"
DOCUMENT_LENIENCY: dict[str, Fidelity] = {
    "undeclared prefix": verified(
        f"{PVN_GATEWAY}/resources/edoc.edxml (read in its copy target/classes/edoc.edxml): "
        '`<edXML:Reference xlink:href="">` with no xmlns:xlink',
        f"{BKAV_HUB} XmlUtil.java: the hub parses with setNamespaceAware(false) (as the "
        "project's domain notes cite it; the file itself was not found in the code index)",
        note="A package whose only faults are prefixes used without a declaration is read "
        "(elements by local name), under the same bounds (no DOCTYPE or entities, depth 32, "
        "20,000 elements, 16 MiB). Anything else malformed, alone or beside it (a stray text "
        "before `<?xml`, as one public sample has), stays 400 invalid-xml.",
    ),
    "trace entries of earlier organs": verified(
        f"{BKAV_HUB} edoc-webapp/src/main/resources/edoc_update.edxml: an update carrying a "
        "TraceHeader of 000.00.00.G22 (the vendor's edoc_update.edxml and edoc_replacement.edxml, "
        f"listed in {PVN_GATEWAY}/resources by its README, are not in the code index)",
        f"{BKAV_HUB} EdocDocumentService.java, DynamicService.java: the hub stores and forwards "
        "the TraceHeaders senders write",
        f"{BKAV_HUB} .../service/vpcp/ServiceVPCP.java: sendDocument builds the package from the "
        "stored traceHeaderList",
        note="Kept as the sender's claim: at most 12 entries (every platform appends its own, "
        "16 in all), shown as `claimed` in the trail and as `claimedTrace` in the document "
        "view, never used for routing, identity or counting. What the real platforms do with "
        "them beyond forwarding is not public.",
    ),
    "system id as sender": verified(
        f"{PVN_GATEWAY}/src/main/java/com/vpcp/gateway/EdxmlAggregateBuilder.java: From/OrganId "
        "= the system id (vxp.saas.03), Header(messageHeader, null, null): no TraceHeaderList",
        f"{PVN_GATEWAY}/src/main/java/com/vpcp/gateway/DocumentPipeline.java: `from` = systemId",
        note="A system id of the platform's axis_systems in `from` or From/OrganId stands for "
        "that system's agency (gateway/documents/directory.py agency_of), through /vxp and "
        "/documents; the package keeps what its sender wrote. System ids as receivers (the "
        "same gateway's To = vxp.saas.02) are not mapped: unverified how the axis routes them.",
    ),
    "every kind as messagetype edoc": verified(
        f"{BKAV_HUB} edoc-service/src/main/java/com/bkav/edoc/service/vpcp/ServiceVPCP.java: "
        "sendDocument sends every package with messagetype edoc, whatever its Bussiness",
        note="With `edoc` (or none) the package's BussinessDocType decides the kind; "
        "`revocation`, `update`, `replacement` must agree with it (422 otherwise).",
    ),
    "24-hex document ids": partial(
        "the project's domain notes: document ids the real axis returned to PVN's gateway are "
        "24 hexadecimal characters",
        note="Made like a MongoDB ObjectId (4 bytes of seconds, 5 random bytes per process, a "
        "3-byte counter), the same id at every platform on the way, in /documents and /vxp; how "
        "the axis makes its own is not public. Status items of getReceivedEdocList keep ids of "
        "their own (st-...).",
    ),
}
