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
