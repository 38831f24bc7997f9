"""Hypothesis throws arbitrary input at the platform's API: never a 5xx, never a hang."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.echo_topology import EchoSandbox, run_echo_sandbox
from tests.helpers import token

pytestmark = pytest.mark.sockets

LGSP = "lgsp-bac-giang"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
async def echo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EchoSandbox]:
    async with run_echo_sandbox(tmp_path_factory.mktemp("fuzz")) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
async def fuzz_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as c:
        yield c


@pytest.fixture(scope="module")
async def motcua_token(echo: EchoSandbox, fuzz_client: httpx.AsyncClient) -> str:
    return await token(fuzz_client, echo.running.url(LGSP), echo.topology, "motcua-bac-giang")


segment = st.one_of(
    st.sampled_from(["apiEchoBG", "apiEchoQG", "1.0", "..", ".", "", "%2F", "%00", "admin"]),
    st.text(min_size=0, max_size=12).map(lambda s: quote(s, safe="")),
    st.text(alphabet="%./\\abc0123456789", max_size=10),
)
# What a client can put on the wire: printable ASCII, no surrounding whitespace.
header_value = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300
).map(str.strip)


@FUZZ
@given(
    segments=st.lists(segment, min_size=1, max_size=6),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    message_id=st.one_of(st.none(), header_value),
    content_type=st.sampled_from(["application/json", "text/plain", "application/xml", ""]),
    body=st.binary(max_size=300),
)
async def test_routed_paths_never_5xx(
    echo: EchoSandbox,
    fuzz_client: httpx.AsyncClient,
    motcua_token: str,
    segments: list[str],
    method: str,
    message_id: str | None,
    content_type: str,
    body: bytes,
) -> None:
    lgsp = echo.running.url(LGSP)
    headers = {"Authorization": f"Bearer {motcua_token}"}
    if message_id is not None:
        headers["X-Message-Id"] = message_id
    if content_type:
        headers["Content-Type"] = content_type
    url = httpx.URL(lgsp).copy_with(raw_path=("/" + "/".join(segments)).encode())
    response = await fuzz_client.request(method, url, headers=headers, content=body)
    assert response.status_code < 500, (segments, response.text)
    if response.status_code >= 400:
        # The refusals WSO2 makes are WSO2 faults (with the sandbox's diagnosis in a
        # header); the sandbox's own are problem+json.
        if response.headers["content-type"].startswith("application/problem+json"):
            return
        assert response.json()["fault"]["code"]
        assert response.headers["X-Sandbox-Problem"]


@FUZZ
@given(
    form=st.dictionaries(
        st.sampled_from(["grant_type", "client_id", "client_secret", "scope", "x"]),
        st.text(max_size=40),
        max_size=4,
    ),
    authorization=st.one_of(st.none(), header_value),
)
async def test_token_endpoint_never_5xx(
    echo: EchoSandbox,
    fuzz_client: httpx.AsyncClient,
    form: dict[str, str],
    authorization: str | None,
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await fuzz_client.post(f"{echo.running.url(LGSP)}/token", data=form, headers=headers)
    assert response.status_code in {200, 400, 401, 415}, response.text
    if response.status_code != 200:
        body = response.json()
        # An OAuth 2.0 error (RFC 6749 5.2) or, for a body that is not a form, a problem.
        assert "error" in body or body["status"] == response.status_code, body
