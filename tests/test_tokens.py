"""POST /token as the real platforms answer it, and the 401s a routed call can get."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest

from apikit.problems import ProblemError
from contracts.topology import Topology
from gateway.trust.keyring import Keyring
from gateway.trust.token_store import TokenStore
from gateway.trust.tokens import TokenService
from tests.echo_topology import PROVINCIAL_ECHO, EchoSandbox, run_echo_sandbox
from tests.helpers import assert_fault, assert_problem, bearer, credentials, token

pytestmark = pytest.mark.sockets

LGSP = "lgsp-bac-giang"
NGSP = "ngsp"
CONSUMER = "motcua-bac-giang"


@pytest.fixture(scope="module")
async def echo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EchoSandbox]:
    async with run_echo_sandbox(tmp_path_factory.mktemp("tokens")) as sandbox:
        yield sandbox


async def test_token_with_basic_auth_has_the_wso2_shape(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        f"{echo.running.url(LGSP)}/token",
        data={"grant_type": "client_credentials"},
        auth=credentials(echo.topology, CONSUMER),
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "scope", "token_type", "expires_in"}
    assert body["scope"] == "am_application_scope default"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    # Opaque, as the NGSP guide shows it (`Bearer 49d61ed6-…`): a UUID, not a JWT.
    assert str(uuid.UUID(body["access_token"])) == body["access_token"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"


async def test_token_with_form_fields_works_too(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    key, secret = credentials(echo.topology, CONSUMER)
    response = await client.post(
        f"{echo.running.url(LGSP)}/token",
        data={"grant_type": "client_credentials", "client_id": key, "client_secret": secret},
    )
    assert response.status_code == 200
    routed = await client.get(
        f"{echo.running.url(LGSP)}/{PROVINCIAL_ECHO}/1.0/x",
        headers={"Authorization": f"Bearer {response.json()['access_token']}"},
    )
    assert routed.status_code == 200


@pytest.mark.parametrize(
    ("form", "auth", "status", "error"),
    [
        (
            {"grant_type": "client_credentials"},
            ("motcua-bac-giang-key", "wrong-secret-123"),
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials"},
            ("nobody-key", "whatever-secret"),
            401,
            "invalid_client",
        ),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        ({"grant_type": "password"}, ("motcua-bac-giang-key", "x"), 400, "unsupported_grant_type"),
    ],
)
async def test_token_refusals_are_oauth_errors_or_problems_on_request(
    echo: EchoSandbox,
    client: httpx.AsyncClient,
    form: dict[str, str],
    auth: tuple[str, str] | None,
    status: int,
    error: str,
) -> None:
    url = f"{echo.running.url(LGSP)}/token"
    response = await client.post(url, data=form, auth=auth)
    # As an OAuth 2.0 server (and WSO2's token endpoint) answers: RFC 6749 5.2.
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "error_description": response.json()["error_description"],
        "error": error,
    }
    assert response.headers["X-Message-Id"]
    asked = await client.post(
        url, data=form, auth=auth, headers={"Accept": "application/problem+json"}
    )
    body = assert_problem(asked, status, error.replace("_", "-"))
    assert body["error"] == error


async def test_token_request_must_be_form_encoded(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        f"{echo.running.url(LGSP)}/token", json={"grant_type": "client_credentials"}
    )
    assert_problem(response, 415, "unsupported-media-type")


async def _refused(
    echo: EchoSandbox, client: httpx.AsyncClient, authorization: str | None, slug: str, code: int
) -> dict:  # type: ignore[type-arg]
    """A routed call with this Authorization: WSO2's 401 fault `code` (the sandbox's problem
    `slug` asked for with Accept), and the back end never saw it; the problem's body."""
    headers = {"Authorization": authorization} if authorization else {}
    url = f"{echo.running.url(LGSP)}/{PROVINCIAL_ECHO}/1.0/x"
    response = await client.get(url, headers=headers)
    assert_fault(response, 401, code, slug)
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="WSO2 API Manager"')
    asked = await client.get(url, headers={**headers, "Accept": "application/problem+json"})
    body = assert_problem(asked, 401, slug)
    seen = (await client.get(f"{echo.echo_url}/_seen")).json()
    assert not {response.headers["X-Message-Id"], asked.headers["X-Message-Id"]} & set(seen)
    return body


async def test_routed_call_without_a_token_is_401(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    body = await _refused(echo, client, None, "missing-token", 900902)
    assert "POST /token" in body["detail"]
    await _refused(echo, client, "Token abc", "invalid-token", 900902)


async def test_expired_token_is_401(echo: EchoSandbox, client: httpx.AsyncClient) -> None:
    keyring = Keyring(echo.running.settings.data_dir / f"{LGSP}.token-keys.json", 3600)
    now = int(time.time())
    expired = jwt.encode(
        {"iss": LGSP, "aud": LGSP, "sub": CONSUMER, "iat": now - 7200, "exp": now - 3600},
        keyring.active.key,
        algorithm="HS256",
        headers={"kid": keyring.active.kid},
    )
    await _refused(echo, client, f"Bearer {expired}", "token-expired", 900901)


async def test_token_of_another_platform_is_401(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    ngsp_token = await token(client, echo.running.url(NGSP), echo.topology, "ngsp-admin")
    body = await _refused(echo, client, f"Bearer {ngsp_token}", "invalid-token", 900901)
    assert LGSP in body["detail"]


async def test_altered_token_is_401(echo: EchoSandbox, client: httpx.AsyncClient) -> None:
    good = await token(client, echo.running.url(LGSP), echo.topology, CONSUMER)
    forged = good[:-1] + ("0" if good[-1] != "0" else "1")
    await _refused(echo, client, f"Bearer {forged}", "invalid-token", 900901)


async def _revoke(
    client: httpx.AsyncClient, base: str, consumer: str, revoked: str, topology: Topology
) -> httpx.Response:
    return await client.post(
        f"{base}/revoke", data={"token": revoked}, auth=credentials(topology, consumer)
    )


async def test_a_revoked_token_is_refused_and_only_its_owner_can_revoke_it(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = echo.running.url(LGSP)
    mine = await token(client, lgsp, echo.topology, CONSUMER)
    url = f"{lgsp}/{PROVINCIAL_ECHO}/1.0/x"
    assert (await client.get(url, headers={"Authorization": f"Bearer {mine}"})).status_code == 200
    # Another client's revocation of it is answered 200 (RFC 7009) and changes nothing.
    other = await _revoke(client, lgsp, "qlvb-bac-giang", mine, echo.topology)
    assert other.status_code == 200
    assert (await client.get(url, headers={"Authorization": f"Bearer {mine}"})).status_code == 200
    revoked = await _revoke(client, lgsp, CONSUMER, mine, echo.topology)
    assert revoked.status_code == 200 and revoked.content == b""
    assert revoked.headers["Cache-Control"] == "no-store"
    await _refused(echo, client, f"Bearer {mine}", "token-revoked", 900901)
    # An unknown token: 200 too, nothing to tell a prober.
    assert (await _revoke(client, lgsp, CONSUMER, "not-a-token", echo.topology)).status_code == 200
    # Without the client's credentials: refused.
    anonymous = await client.post(f"{lgsp}/revoke", data={"token": mine})
    assert anonymous.status_code == 401


async def test_opaque_tokens_survive_a_platform_restart(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = echo.running.url(LGSP)
    kept = await token(client, lgsp, echo.topology, CONSUMER)
    dropped = await token(client, lgsp, echo.topology, CONSUMER)
    assert (await _revoke(client, lgsp, CONSUMER, dropped, echo.topology)).status_code == 200
    await echo.running.stop(LGSP)
    await echo.running.start(LGSP)
    await echo.running.wait_healthy()
    url = f"{echo.running.url(LGSP)}/{PROVINCIAL_ECHO}/1.0/x"
    assert (await client.get(url, headers={"Authorization": f"Bearer {kept}"})).status_code == 200
    await _refused(echo, client, f"Bearer {dropped}", "token-revoked", 900901)
    # The table holds digests only: a copy of the file gives no usable token.
    stored = (echo.running.settings.data_dir / f"{LGSP}.tokens.sqlite3").read_bytes()
    assert kept.encode() not in stored


@pytest.fixture(scope="module")
async def jwt_echo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EchoSandbox]:
    async with run_echo_sandbox(
        tmp_path_factory.mktemp("jwt-tokens"), platform_options={LGSP: {"token_format": "jwt"}}
    ) as sandbox:
        yield sandbox


async def test_jwt_tokens_are_a_topology_option_and_can_be_revoked(
    jwt_echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = jwt_echo.running.url(LGSP)
    issued = await token(client, lgsp, jwt_echo.topology, CONSUMER)
    claims = jwt.decode(issued, options={"verify_signature": False})
    assert (claims["iss"], claims["sub"]) == (LGSP, CONSUMER)
    # NGSP keeps the default: opaque.
    ngsp_token = await token(client, jwt_echo.running.url(NGSP), jwt_echo.topology, "ngsp-admin")
    uuid.UUID(ngsp_token)
    url = f"{lgsp}/{PROVINCIAL_ECHO}/1.0/x"
    headers = {"Authorization": f"Bearer {issued}"}
    assert (await client.get(url, headers=headers)).status_code == 200
    header, payload, signature = issued.split(".")
    forged = {"Authorization": f"Bearer {header}.{payload}.{signature[::-1]}"}
    assert_fault(await client.get(url, headers=forged), 401, 900901, "invalid-token")
    assert (await _revoke(client, lgsp, CONSUMER, issued, jwt_echo.topology)).status_code == 200
    assert_fault(await client.get(url, headers=headers), 401, 900901, "token-revoked")


async def test_audit_needs_an_admin(echo: EchoSandbox, client: httpx.AsyncClient) -> None:
    lgsp = echo.running.url(LGSP)
    assert_problem(await client.get(f"{lgsp}/audit"), 401, "missing-token")
    headers = await bearer(client, lgsp, echo.topology, CONSUMER)
    body = assert_problem(await client.get(f"{lgsp}/audit", headers=headers), 403, "admin-only")
    assert CONSUMER in body["detail"]


def test_an_opaque_token_expires_and_its_table_outlives_the_process(tmp_path: Path) -> None:
    def service(ttl: int) -> TokenService:
        keyring = Keyring(tmp_path / "keys.json", ttl)
        return TokenService(LGSP, keyring, ttl, TokenStore(tmp_path / "tokens.sqlite3"))

    issuer = service(3600)
    lasting = issuer.issue(CONSUMER).access_token
    issuer.store.add("stale-token", CONSUMER, int(time.time()) - 1)
    with pytest.raises(ProblemError) as refused:
        issuer.verify("stale-token")
    assert refused.value.slug == "token-expired"
    issuer.store.close()

    reopened = service(3600)  # as after a restart: read back from the file
    assert reopened.verify(lasting).consumer_id == CONSUMER
    # An expired token is dropped from the table when it is opened: unknown from then on.
    with pytest.raises(ProblemError) as refused:
        reopened.verify("stale-token")
    assert refused.value.slug == "invalid-token"
    reopened.store.close()
