"""The gateway answers as WSO2 API Manager's does, where public clients meet it: the 4.x token
path, throttle-outs, faults in XML for a client that asks for XML, and CORS for browser front
ends (carbon-apimgt's handlers, cited in apikit/gateway_fault.py and gateway/proxy/cors.py)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import httpx
import pytest
from lxml import etree

from apikit import gateway_fault as wso2
from sandbox.testing.harness import RunningTopology
from services.common.sampledata import citizens
from tests.helpers import assert_fault, credentials

pytestmark = pytest.mark.sockets

LGSP = "lgsp-bac-giang"
NGSP = "ngsp"
MOTCUA = "motcua-bac-giang"
SECURITY = "{http://wso2.org/apimanager/security}"
THROTTLING = "{http://wso2.org/apimanager/throttling}"
CORS_HEADERS = (
    "authorization,Access-Control-Allow-Origin,Content-Type,SOAPAction,apikey,Internal-Key"
)


async def _token(client: httpx.AsyncClient, sandbox: RunningTopology, path: str) -> str:
    response = await client.post(
        f"{sandbox.url(LGSP)}{path}",
        data={"grant_type": "client_credentials"},
        auth=credentials(sandbox.topology, MOTCUA),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    return str(body["access_token"])


async def test_the_4x_token_path_issues_and_revokes_like_the_3x_one(
    sandbox: RunningTopology, client: httpx.AsyncClient
) -> None:
    lgsp = sandbox.url(LGSP)
    citizen = citizens(sandbox.topology.seed, 1)[0].so_dinh_danh
    url = f"{lgsp}/apiCSDLDC/1.0/congDan"
    for path in ("/oauth2/token", "/token"):
        token = await _token(client, sandbox, path)
        headers = {"Authorization": f"Bearer {token}"}
        answer = await client.get(url, params={"soDinhDanh": citizen}, headers=headers)
        assert answer.status_code == 200, answer.text
    revoked = await client.post(
        f"{lgsp}/oauth2/revoke", data={"token": token}, auth=credentials(sandbox.topology, MOTCUA)
    )
    assert revoked.status_code == 200
    refused = await client.get(url, params={"soDinhDanh": citizen}, headers=headers)
    assert_fault(refused, 401, 900901, "token-revoked")


async def test_a_fault_is_xml_for_a_client_that_accepts_xml_and_json_otherwise(
    sandbox: RunningTopology, client: httpx.AsyncClient
) -> None:
    url = f"{sandbox.url(LGSP)}/apiCSDLDC/1.0/congDan?soDinhDanh=024090012345"
    for accept in ("application/xml", "text/xml"):
        response = await client.get(url, headers={"Accept": accept})
        assert response.status_code == 401
        assert response.headers["content-type"] == f"{accept}; charset=UTF-8"
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="WSO2 API Manager"')
        root = etree.fromstring(response.content)
        assert root.tag == f"{SECURITY}fault" and root.prefix == "ams"
        assert [child.tag.removeprefix(SECURITY) for child in root] == [
            "code",
            "message",
            "description",
        ]
        assert root.findtext(f"{SECURITY}code") == "900902"
        assert root.findtext(f"{SECURITY}message") == "Missing Credentials"
    for accept in (None, "application/json", "application/xml, text/plain"):
        headers = {"Accept": accept} if accept else {}
        assert_fault(await client.get(url, headers=headers), 401, 900902, "missing-token")
    # The dispatcher's own faults: namespace http://wso2.org/apimanager, with their type.
    missing = await client.get(
        f"{sandbox.url(NGSP)}/apiNoSuch/1.0/x", headers={"Accept": "application/xml"}
    )
    assert missing.status_code == 404
    root = etree.fromstring(missing.content)
    assert root.tag == "{http://wso2.org/apimanager}fault"
    assert root.findtext("{http://wso2.org/apimanager}type") == "Status report"


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        (900800, 429, "Message throttled out"),
        (900801, 503, "API Limit Reached"),
        (900802, 429, "Message throttled out"),
        (900803, 429, "Message throttled out"),
        (900804, 429, "Message throttled out"),
        (900805, 403, "Message blocked"),
        (900806, 429, "Message throttled out"),
        (900807, 429, "Message throttled out"),
    ],
)
def test_each_throttling_code_has_the_status_and_text_wso2_gives_it(
    code: int, status: int, message: str
) -> None:
    at = 1_796_601_600.2  # 2026-12-07 00:00:00.2 UTC
    fault = wso2.throttled_out(code, at)
    assert (fault.status, fault.code, fault.message) == (status, code, message)
    if status != 429:  # a hard limit or a block says nothing of coming back
        assert fault.next_access_time is None and "Retry-After" not in fault.headers
        return
    assert fault.next_access_time == "2026-Dec-07 00:00:01+0000 UTC"  # never too early
    assert fault.headers["Retry-After"] == "Mon, 07 Dec 2026 00:00:01 GMT"
    assert parsedate_to_datetime(fault.headers["Retry-After"]).timestamp() == 1_796_601_601
    assert fault.body()["fault"]["nextAccessTime"] == fault.next_access_time
    root = etree.fromstring(fault.xml_body())
    assert root.tag == f"{THROTTLING}fault" and root.prefix == "amt"
    assert root.findtext(f"{THROTTLING}code") == str(code)
    assert root.findtext(f"{THROTTLING}nextAccessTime") == fault.next_access_time


@pytest.mark.parametrize("platform", [LGSP, NGSP])
async def test_a_browser_preflight_is_answered_without_a_token(
    platform: str, sandbox: RunningTopology, client: httpx.AsyncClient
) -> None:
    base = sandbox.url(platform)
    origin = {"Origin": "https://motcua.bacgiang.example"}
    preflight = await client.options(
        f"{base}/apiCSDLDC/1.0/congDan",
        headers={**origin, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET,OPTIONS"
    assert preflight.headers["Access-Control-Allow-Headers"] == CORS_HEADERS
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    # A method the resource does not publish, a resource the API does not have: the
    # dispatcher's 405 and 404, as WSO2's CORS handler sends them.
    wrong_method = await client.options(
        f"{base}/apiCSDLDC/1.0/congDan",
        headers={**origin, "Access-Control-Request-Method": "DELETE"},
    )
    assert_fault(wrong_method, 405, 405, "method-not-allowed")
    no_resource = await client.options(
        f"{base}/apiCSDLDC/1.0/khongCo", headers={**origin, "Access-Control-Request-Method": "GET"}
    )
    assert_fault(no_resource, 404, 404, "unknown-operation")
    # Every answer carries the headers, a refusal too, so the front end can read it.
    refused = await client.get(f"{base}/apiCSDLDC/1.0/congDan?soDinhDanh=1", headers=origin)
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert refused.headers["Access-Control-Allow-Headers"] == CORS_HEADERS
