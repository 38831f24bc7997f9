"""CORS as WSO2 API Manager 4.x's gateway answers it, so a browser front end (OpenCPS's is Vue)
can call a published API directly.

wso2/carbon-apimgt `CORSRequestHandler` (components/apimgt/org.wso2.carbon.apimgt.gateway/.../
handlers/security/CORSRequestHandler.java) runs before authentication: an OPTIONS request is
matched to the API's resource by its `Access-Control-Request-Method` and answered 200 by the
gateway itself, without a token (unless the resource publishes OPTIONS: then the back end
answers); no matching resource is the dispatcher's 404 or 405. Every other answer carries the
same headers. The values are 4.x's shipped `[apim.cors]` defaults: origin `*`, methods
GET, PUT, POST, DELETE, PATCH, OPTIONS, and the headers below, no credentials.
"""

from __future__ import annotations

from collections.abc import Iterable

ALLOW_ORIGIN = "Access-Control-Allow-Origin"
ALLOW_METHODS = "Access-Control-Allow-Methods"
ALLOW_HEADERS = "Access-Control-Allow-Headers"
REQUEST_METHOD = "Access-Control-Request-Method"
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS")
HEADERS = "authorization,Access-Control-Allow-Origin,Content-Type,SOAPAction,apikey,Internal-Key"


def cors_headers(methods: Iterable[str] = METHODS) -> dict[str, str]:
    """The headers WSO2's CORS handler sets; `methods` are the matched resource's (WSO2
    lists only those the configuration allows, in the resource's order)."""
    allowed = set(methods)
    return {
        ALLOW_ORIGIN: "*",
        ALLOW_METHODS: ",".join(m for m in METHODS if m in allowed),
        ALLOW_HEADERS: HEADERS,
    }


ANSWER_HEADERS = cors_headers()
