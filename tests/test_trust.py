"""Refusals a trustworthy platform makes, each checked for status, problem type, and that the
back end saw nothing; the tamper-evident audit log; refusal when the log cannot be written."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from contracts.problem import problem_type
from gateway.settings import GatewaySettings
from sandbox.testing.harness import fast_settings
from tests.echo_topology import (
    NATIONAL_ECHO,
    OTHER_LGSP,
    OTHER_PROVINCE_ECHO,
    PROVINCIAL_ECHO,
    QLVB_RATE,
    EchoSandbox,
    run_echo_sandbox,
)
from tests.helpers import assert_fault, assert_problem, audit_records, bearer, token
from tests.raw_http import send_raw

pytestmark = pytest.mark.sockets

LGSP = "lgsp-bac-giang"
NGSP = "ngsp"
MOTCUA = "motcua-bac-giang"
QLVB = "qlvb-bac-giang"
ADMIN = "lgsp-bac-giang-admin"


def _settings(data_dir) -> GatewaySettings:  # type: ignore[no-untyped-def]
    return fast_settings(data_dir).model_copy(
        update={
            "upstream_timeout_seconds": 2.0,
            "audit_busy_timeout_seconds": 0.2,
            "audit_commit_timeout_seconds": 1.0,
            "body_timeout_seconds": 0.5,
            "max_body_bytes": 64 * 1024,
        }
    )


@pytest.fixture(scope="module")
async def echo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EchoSandbox]:
    data_dir = tmp_path_factory.mktemp("trust")
    async with run_echo_sandbox(data_dir, _settings(data_dir)) as sandbox:
        yield sandbox


async def _seen(echo: EchoSandbox, client: httpx.AsyncClient) -> list[str]:
    return list((await client.get(f"{echo.echo_url}/_seen")).json())


async def _assert_not_seen(echo: EchoSandbox, client: httpx.AsyncClient, r: httpx.Response) -> None:
    assert r.headers["X-Message-Id"] not in await _seen(echo, client)


# -- access rights ---------------------------------------------------------------------------


async def test_call_without_a_grant_is_403_naming_consumer_and_service(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = echo.running.url(LGSP)
    qlvb = await bearer(client, lgsp, echo.topology, QLVB)
    url = f"{lgsp}/{NATIONAL_ECHO}/1.0/x"
    # As WSO2 answers it: no subscription to the API is 900908 "Resource forbidden".
    response = await client.get(url, headers=qlvb)
    fault = assert_fault(response, 403, 900908, "access-denied")
    assert fault["message"] == "Resource forbidden "
    assert QLVB in response.headers["X-Sandbox-Detail"]
    await _assert_not_seen(echo, client, response)
    # The sandbox's own diagnosis, for a caller that asks for it.
    response = await client.get(url, headers={**qlvb, "Accept": "application/problem+json"})
    body = assert_problem(status=403, slug="access-denied", response=response)
    assert (body["consumer"], body["service"]) == (QLVB, NATIONAL_ECHO)
    journal = await client.get(
        f"{lgsp}/_sandbox/journal",
        params={"message_id": response.headers["X-Message-Id"]},
        headers=await bearer(client, lgsp, echo.topology, ADMIN),
    )
    [seen] = journal.json()["exchanges"]
    assert seen["outcome"] == "access-denied" and QLVB in seen["detail"]


async def test_catalog_shows_a_consumer_exactly_what_it_may_call(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = echo.running.url(LGSP)

    async def codes(consumer: str) -> set[str]:
        headers = await bearer(client, lgsp, echo.topology, consumer)
        response = await client.get(f"{lgsp}/catalog", headers=headers)
        assert response.status_code == 200
        assert response.json()["consumer"] == consumer
        return {s["code"] for s in response.json()["services"]}

    assert await codes(QLVB) == {PROVINCIAL_ECHO}
    assert await codes(MOTCUA) == {PROVINCIAL_ECHO, NATIONAL_ECHO}
    assert_problem(status=401, slug="missing-token", response=await client.get(f"{lgsp}/catalog"))


@pytest.mark.parametrize("authorization", [None, "Basic bW90Y3VhOng=", "Bearer"])
async def test_a_routed_call_without_a_bearer_token_is_wso2s_missing_credentials(
    echo: EchoSandbox, client: httpx.AsyncClient, authorization: str | None
) -> None:
    lgsp = echo.running.url(LGSP)
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.get(f"{lgsp}/{PROVINCIAL_ECHO}/1.0/x", headers=headers)
    fault = assert_fault(response, 401, 900902)
    assert fault["message"] == "Missing Credentials"
    assert "Bearer" in response.headers["WWW-Authenticate"]
    assert response.headers["X-Sandbox-Problem"] in (
        problem_type("missing-token"),
        problem_type("invalid-token"),
    )
    await _assert_not_seen(echo, client, response)


async def test_another_province_is_out_of_reach(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    bac_giang, bac_ninh = echo.running.url(LGSP), echo.running.url(OTHER_LGSP)
    # Bắc Ninh's consumer, with its own valid token, at Bắc Giang's platform: not ours.
    foreign = await token(client, bac_ninh, echo.topology, "motcua-bac-ninh")
    response = await client.get(
        f"{bac_giang}/{PROVINCIAL_ECHO}/1.0/x", headers={"Authorization": f"Bearer {foreign}"}
    )
    assert_fault(response, 401, 900901, "invalid-token")
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="WSO2 API Manager"')
    await _assert_not_seen(echo, client, response)
    # Bắc Giang's consumer asking its own LGSP for Bắc Ninh's intra-province service.
    response = await client.get(
        f"{bac_giang}/{OTHER_PROVINCE_ECHO}/1.0/x",
        headers=await bearer(client, bac_giang, echo.topology, MOTCUA),
    )
    fault = assert_fault(response, 404, 404, "unknown-service")
    assert fault["type"] == "Status report"
    # Nor can it go round through NGSP: its token is not NGSP's.
    response = await client.get(
        f"{echo.running.url(NGSP)}/{NATIONAL_ECHO}/1.0/x",
        headers=await bearer(client, bac_giang, echo.topology, MOTCUA),
    )
    assert_fault(response, 401, 900901, "invalid-token")


async def test_admin_api_needs_an_admin_and_grants_take_effect_and_persist(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = echo.running.url(LGSP)
    consumer_headers = await bearer(client, lgsp, echo.topology, MOTCUA)
    url = f"{lgsp}/admin/consumers/{QLVB}/grants/{NATIONAL_ECHO}"
    assert_problem(status=401, slug="missing-token", response=await client.put(url))
    assert_problem(
        status=403, slug="admin-only", response=await client.put(url, headers=consumer_headers)
    )

    admin = await bearer(client, lgsp, echo.topology, ADMIN)
    granted = await client.put(url, headers=admin)
    assert granted.status_code == 200 and NATIONAL_ECHO in granted.json()["grants"]
    qlvb = await bearer(client, lgsp, echo.topology, QLVB)
    assert (await client.get(f"{lgsp}/{NATIONAL_ECHO}/1.0/x", headers=qlvb)).status_code == 200

    # The grant survives a restart of the platform.
    await echo.running.stop(LGSP)
    await echo.running.start(LGSP)
    await echo.running.wait_healthy()
    qlvb = await bearer(client, lgsp, echo.topology, QLVB)
    assert (await client.get(f"{lgsp}/{NATIONAL_ECHO}/1.0/x", headers=qlvb)).status_code == 200

    admin = await bearer(client, lgsp, echo.topology, ADMIN)
    assert (await client.delete(url, headers=admin)).status_code == 200
    assert_fault(
        await client.get(f"{lgsp}/{NATIONAL_ECHO}/1.0/x", headers=qlvb),
        403,
        900908,
        "access-denied",
    )


async def test_admin_changes_and_refusals_are_audited_and_the_journal_sees_every_exchange(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = echo.running.url(LGSP)
    url = f"{lgsp}/admin/consumers/{QLVB}/grants/{NATIONAL_ECHO}"
    refused = await client.put(url)
    admin = await bearer(client, lgsp, echo.topology, ADMIN)
    granted = await client.put(url, headers=admin)
    listed = await client.get(f"{lgsp}/admin/consumers", headers=admin)
    revoked = await client.delete(url, headers=admin)
    assert [r.status_code for r in (refused, granted, listed, revoked)] == [401, 200, 200, 200]

    records = {
        r.message_id: r for r in await audit_records(client, lgsp, echo.topology, LGSP, limit="50")
    }
    assert records[refused.headers["X-Message-Id"]].outcome == "missing-token"
    change = records[granted.headers["X-Message-Id"]]
    assert (change.method, change.path, change.consumer, change.status) == (
        "PUT",
        url.removeprefix(lgsp),
        ADMIN,
        200,
    )
    assert revoked.headers["X-Message-Id"] in records
    # A successful read changes nothing: it is not in the log (polling would flood it).
    assert listed.headers["X-Message-Id"] not in records

    journal = await client.get(f"{lgsp}/_sandbox/journal", params={"limit": 50}, headers=admin)
    seen = journal.json()["exchanges"]
    assert granted.headers["X-Message-Id"] in {e["message_id"] for e in seen}
    assert any(e["path"] == "/token" and e["consumer"] == ADMIN for e in seen)


@pytest.mark.parametrize(
    "address", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://x", "not a url"]
)
async def test_back_end_address_must_be_an_http_url(
    echo: EchoSandbox, client: httpx.AsyncClient, address: str
) -> None:
    lgsp = echo.running.url(LGSP)
    admin = await bearer(client, lgsp, echo.topology, ADMIN)
    response = await client.put(
        f"{lgsp}/admin/services/apiMoi/1.0",
        json={"title": "Mới", "owner": "000.00.12.H04", "address": address},
        headers=admin,
    )
    body = assert_problem(status=422, slug="validation-error", response=response)
    assert body["errors"][0]["field"] == "$.body.address"


async def test_admin_registers_a_service_and_redirects_are_not_followed(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = echo.running.url(LGSP)
    admin = await bearer(client, lgsp, echo.topology, ADMIN)
    registered = await client.put(
        f"{lgsp}/admin/services/apiMoi/1.0",
        json={"title": "Dịch vụ mới", "owner": "000.00.12.H04", "address": f"{echo.echo_url}/moi"},
        headers=admin,
    )
    assert registered.status_code == 200, registered.text
    headers = await bearer(client, lgsp, echo.topology, MOTCUA)
    response = await client.get(f"{lgsp}/apiMoi/1.0/redirect", headers=headers)
    # The platform hands the redirect back; it never fetches another host for the caller.
    assert response.status_code == 302
    assert response.headers["location"] == "http://169.254.169.254/"
    assert (
        response.json()["headers"]["x-message-id"] == response.headers["X-Message-Id"]
        if response.content.startswith(b'{"m')
        else True
    )
    assert_problem(
        status=409,
        slug="reserved-code",
        response=await client.put(
            f"{lgsp}/admin/services/audit/1.0",
            json={"title": "x", "owner": "000.00.12.H04", "address": echo.echo_url},
            headers=admin,
        ),
    )


# -- tokens ----------------------------------------------------------------------------------


async def test_key_rotation_keeps_old_tokens_valid_until_they_expire(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = echo.running.url(LGSP)
    old = await bearer(client, lgsp, echo.topology, MOTCUA)
    admin = await bearer(client, lgsp, echo.topology, ADMIN)
    rotated = await client.post(f"{lgsp}/admin/keys/rotate", headers=admin)
    assert rotated.status_code == 200
    assert len(rotated.json()["valid_kids"]) >= 2
    new = await bearer(client, lgsp, echo.topology, MOTCUA)
    assert old != new
    for headers in (old, new):
        assert (
            await client.get(f"{lgsp}/{PROVINCIAL_ECHO}/1.0/x", headers=headers)
        ).status_code == 200


async def test_lgsp_reuses_its_ngsp_token_instead_of_fetching_one_per_call(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp, ngsp = echo.running.url(LGSP), echo.running.url(NGSP)

    async def tokens_issued_to_lgsp() -> int:
        records = await audit_records(client, ngsp, echo.topology, NGSP, limit="1000")
        return sum(1 for r in records if r.path == "/token" and r.consumer == LGSP)

    await echo.running.stop(LGSP)  # a fresh LGSP holds no NGSP token yet
    await echo.running.start(LGSP)
    before = await tokens_issued_to_lgsp()
    headers = await bearer(client, lgsp, echo.topology, MOTCUA)
    responses = await asyncio.gather(
        *(client.get(f"{lgsp}/{NATIONAL_ECHO}/1.0/x", headers=headers) for _ in range(10))
    )
    assert [r.status_code for r in responses] == [200] * 10
    assert await tokens_issued_to_lgsp() == before + 1


# -- rate limits -----------------------------------------------------------------------------


async def test_noisy_consumer_gets_429_while_another_is_still_served(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = echo.running.url(LGSP)
    await asyncio.sleep(QLVB_RATE["burst"] / QLVB_RATE["per_second"])  # a full bucket
    qlvb = await bearer(client, lgsp, echo.topology, QLVB)
    motcua = await bearer(client, lgsp, echo.topology, MOTCUA)
    url = f"{lgsp}/{PROVINCIAL_ECHO}/1.0/x"
    noisy = await asyncio.gather(*(client.get(url, headers=qlvb) for _ in range(10)))
    quiet = await asyncio.gather(*(client.get(url, headers=motcua) for _ in range(10)))
    statuses = sorted(r.status_code for r in noisy)
    assert statuses.count(200) <= QLVB_RATE["burst"] + 1
    assert statuses.count(429) >= 10 - QLVB_RATE["burst"] - 1
    limited = next(r for r in noisy if r.status_code == 429)
    fault = assert_fault(limited, 429, 900803, "rate-limited")
    assert fault["message"] == "Message throttled out"
    # As WSO2's ThrottleHandler writes it: when to come back, in the fault and as an HTTP-date.
    retry_at = parsedate_to_datetime(limited.headers["Retry-After"])
    assert limited.headers["Retry-After"].endswith(" GMT")
    assert retry_at > datetime.now(UTC) - timedelta(seconds=1)
    when = retry_at.astimezone(UTC)
    expected = f"{when:%Y}-{when:%b}-{when:%d %H:%M:%S}+0000 UTC"
    assert fault["nextAccessTime"] == expected
    assert fault["description"].endswith(f"quota .You can access API after {expected}")
    await _assert_not_seen(echo, client, limited)
    assert [r.status_code for r in quiet] == [200] * 10


# -- hostile input ---------------------------------------------------------------------------


async def _raw(echo: EchoSandbox, client: httpx.AsyncClient, line: bytes, extra: bytes = b""):  # type: ignore[no-untyped-def]
    tok = await token(client, echo.running.url(LGSP), echo.topology, MOTCUA)
    request = (
        line + b"\r\nHost: x\r\nAuthorization: Bearer " + tok.encode() + b"\r\n" + extra + b"\r\n"
    )
    return await send_raw(echo.running.url(LGSP), request)


@pytest.mark.parametrize(
    "path",
    [
        b"/apiEchoBG/1.0/a/../../../admin/keys/rotate",
        b"/apiEchoBG/1.0/../apiEchoQG/1.0/x",
        b"/apiEchoBG/1.0/a%2F..%2F..%2Fsecret",
        b"/apiEchoBG/1.0/a%5c..%5csecret",
        b"/apiEchoBG/1.0/%2e%2e/%2e%2e/x",
        b"/apiEchoBG/1.0/a//b",
        b"/apiEchoBG/1.0/a%00b",
    ],
)
async def test_path_traversal_and_encoded_separators_are_400(
    echo: EchoSandbox, client: httpx.AsyncClient, path: bytes
) -> None:
    before = await _seen(echo, client)
    response = await _raw(echo, client, b"GET " + path + b" HTTP/1.1")
    assert response.status == 400, response.body
    assert response.json()["type"] == problem_type("invalid-path")
    assert await _seen(echo, client) == before


@pytest.mark.parametrize(
    ("sent", "arrives"),
    [
        ("/a%3Fb", "/a%3Fb"),  # an encoded ? stays part of the path, not a query
        ("/a%23b", "/a%23b"),  # an encoded # does not cut the path
        ("/%252e%252e/x", "/%252e%252e/x"),  # double-encoded dots stay text, not ..
        ("/a%13b", "/a%13b"),  # an encoded control character passes on, encoded
        ("/caf%C3%A9?q=%3F", "/caf%C3%A9"),
    ],
)
async def test_the_path_is_passed_on_exactly_as_received(
    echo: EchoSandbox, client: httpx.AsyncClient, sent: str, arrives: str
) -> None:
    lgsp = echo.running.url(LGSP)
    raw = await _raw(echo, client, f"GET /{PROVINCIAL_ECHO}/1.0{sent} HTTP/1.1".encode())
    assert raw.status == 200, raw.body
    seen = raw.json()
    # The back end sees its own base path, then the resource exactly as the caller sent it.
    assert seen["raw_path"].endswith(arrives)
    if "?" in sent:
        assert seen["query"] == sent.split("?", 1)[1]
    records = await audit_records(
        client, lgsp, echo.topology, LGSP, message_id=raw.headers["x-message-id"]
    )
    assert [r.status for r in records] == [200]


async def test_invalid_utf8_in_path_is_4xx_not_500(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    response = await _raw(echo, client, b"GET /apiEchoBG/1.0/%ff%fe HTTP/1.1")
    assert 400 <= response.status < 500


async def test_header_injection_and_oversized_headers_are_refused(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    before = await _seen(echo, client)
    injected = await _raw(
        echo, client, b"GET /apiEchoBG/1.0/x HTTP/1.1", b"X-Evil: a\rX-Injected: b\r\n"
    )
    assert 400 <= injected.status < 500
    huge = await _raw(
        echo, client, b"GET /apiEchoBG/1.0/x HTTP/1.1", b"X-Big: " + b"a" * 200_000 + b"\r\n"
    )
    assert 400 <= huge.status < 500
    assert await _seen(echo, client) == before


async def test_malformed_json_is_400_naming_the_body(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = echo.running.url(LGSP)
    headers = await bearer(client, lgsp, echo.topology, MOTCUA)
    response = await client.post(
        f"{lgsp}/{PROVINCIAL_ECHO}/1.0/hoSo",
        content=b'{"hoTen": "Nguy\xe1\xbb\x85n", ',
        headers={**headers, "Content-Type": "application/json"},
    )
    body = assert_problem(status=400, slug="malformed-json", response=response)
    assert body["errors"][0]["field"] == "$.body"
    await _assert_not_seen(echo, client, response)
    response = await client.post(
        f"{lgsp}/{PROVINCIAL_ECHO}/1.0/hoSo",
        content=b'{"hoTen": "\xff\xfe"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert_problem(status=400, slug="malformed-json", response=response)


async def test_body_over_the_limit_is_413(echo: EchoSandbox, client: httpx.AsyncClient) -> None:
    lgsp = echo.running.url(LGSP)
    headers = await bearer(client, lgsp, echo.topology, MOTCUA)
    response = await client.post(
        f"{lgsp}/{PROVINCIAL_ECHO}/1.0/x", content=b"x" * (65 * 1024), headers=headers
    )
    assert_problem(status=413, slug="payload-too-large", response=response)
    await _assert_not_seen(echo, client, response)


async def test_slow_client_gets_408_not_a_hang(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    tok = await token(client, echo.running.url(LGSP), echo.topology, MOTCUA)
    request = (
        b"POST /apiEchoBG/1.0/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + tok.encode()
        + b'\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":'
    )
    response = await send_raw(echo.running.url(LGSP), request, within=5.0)
    assert response.status == 408
    assert response.json()["type"] == problem_type("request-timeout")


@pytest.mark.parametrize(
    ("path", "status", "slug"),
    [
        ("/admin/services/apiX/1.0", 413, "payload-too-large"),
        ("/token", 413, "payload-too-large"),
        ("/_sandbox/faults", 413, "payload-too-large"),
        # Authenticates before it reads the body at all: refused without reading, too.
        ("/documents", 401, "missing-token"),
    ],
)
async def test_a_huge_body_is_refused_before_it_is_read(
    echo: EchoSandbox, client: httpx.AsyncClient, path: str, status: int, slug: str
) -> None:
    # No token, 256 MiB declared, a few bytes sent: answered at once, not after reading.
    request = (
        f"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {256 * 1024 * 1024}\r\n\r\n"
    ).encode() + b'{"title": "'
    if path in ("/token", "/documents"):
        request = request.replace(b"PUT ", b"POST ", 1)
    if path == "/token":
        request = request.replace(b"application/json", b"application/x-www-form-urlencoded")
    response = await send_raw(echo.running.url(LGSP), request, within=5.0)
    assert response.status == status
    assert response.json()["type"] == problem_type(slug)
    assert response.headers["x-message-id"] == response.json()["message_id"]
    lgsp = echo.running.url(LGSP)
    [record] = await audit_records(
        client, lgsp, echo.topology, LGSP, message_id=response.headers["x-message-id"]
    )
    assert (record.status, record.outcome) == (status, slug)


async def test_every_refusal_carries_a_message_id(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = echo.running.url(LGSP)
    refusals = [
        await client.get(f"{lgsp}/catalog"),  # not an audited route: an id all the same
        await client.post(f"{lgsp}/token", data={"grant_type": "client_credentials"}),
        await client.get(f"{lgsp}/admin/services"),
        await client.get(f"{lgsp}/_sandbox/journal", headers={"X-Message-Id": "mine-1"}),
        await client.get(f"{lgsp}/catalog", headers={"X-Big": "x" * (17 * 1024)}),
    ]
    for response in refusals:
        assert response.status_code in (401, 431), response.text
        # In the body too, where the body's format has a place for it (not OAuth's).
        assert (
            response.json().get("message_id", response.headers["X-Message-Id"])
            == (response.headers["X-Message-Id"])
        )
    assert refusals[3].headers["X-Message-Id"] == "mine-1"


async def test_a_chunked_body_over_the_limit_is_cut_off(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(200):  # 200 x 1 KiB, no Content-Length: over the 64 KiB limit
            yield b"x" * 1024

    response = await client.put(
        f"{echo.running.url(LGSP)}/admin/services/apiX/1.0",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert_problem(status=413, slug="payload-too-large", response=response)


async def test_a_slow_body_to_the_admin_api_times_out(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    request = (
        b"PUT /admin/services/apiX/1.0 HTTP/1.1\r\nHost: x\r\n"
        b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title":'
    )
    response = await send_raw(echo.running.url(LGSP), request, within=5.0)
    assert response.status == 408
    assert response.json()["type"] == problem_type("request-timeout")


# -- personal data in logs -------------------------------------------------------------------


async def test_audit_keeps_hashes_and_sizes_not_bodies_and_logs_hold_no_tokens(
    echo: EchoSandbox, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    lgsp = echo.running.url(LGSP)
    tok = await token(client, lgsp, echo.topology, MOTCUA)
    body = '{"hoTen": "Trần Thị Bích Ngọc", "soDinhDanh": "024190012345"}'.encode()
    response = await client.post(
        f"{lgsp}/{PROVINCIAL_ECHO}/1.0/hoSo",
        content=body,
        headers={"Authorization": f"Bearer {tok}", "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    records = await audit_records(
        client, lgsp, echo.topology, LGSP, message_id=response.headers["X-Message-Id"]
    )
    assert records[0].request_bytes == len(body)
    assert records[0].request_hash == hashlib.sha256(body).hexdigest()
    database = echo.running.settings.data_dir / f"{LGSP}.audit.sqlite3"
    stored = b"".join(p.read_bytes() for p in database.parent.glob(f"{LGSP}.audit.sqlite3*"))
    assert b"024190012345" not in stored
    assert "Bích Ngọc".encode() not in stored
    secret = next(c.client_secret for c in echo.topology.consumers if c.id == MOTCUA)
    for record in caplog.records:
        text = record.getMessage()
        assert tok not in text and secret not in text


# -- tamper-evident audit log ----------------------------------------------------------------


def _verify(database) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "audit-verify", str(database)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.processes
async def test_audit_chain_verifies_and_names_the_first_edited_record(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = echo.running.url(LGSP)
    headers = await bearer(client, lgsp, echo.topology, MOTCUA)
    for _ in range(5):
        await client.get(f"{lgsp}/{PROVINCIAL_ECHO}/1.0/x", headers=headers)
    records = await audit_records(client, lgsp, echo.topology, LGSP, limit="1000")
    database = echo.running.settings.data_dir / f"{LGSP}.audit.sqlite3"
    intact = _verify(database)
    assert intact.returncode == 0, intact.stderr
    assert "hash chain intact" in intact.stdout

    # Copy the log and tamper with the copy, as someone with file access would.
    copy = database.parent / "tampered.sqlite3"
    with sqlite3.connect(database) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    victim = sorted(r.id for r in records)[len(records) // 2]
    with sqlite3.connect(copy) as db:
        # Whatever it said, it now says something else.
        db.execute(
            "UPDATE audit SET status = CASE status WHEN 200 THEN 502 ELSE 200 END, "
            "outcome = outcome || '!' WHERE id = ?",
            (victim,),
        )
    broken = _verify(copy)
    assert broken.returncode == 1
    assert f"broken at record id {victim}" in broken.stderr and "edited" in broken.stderr

    with sqlite3.connect(copy) as db:
        db.execute("DELETE FROM audit WHERE id < ?", (victim + 1,))
        db.execute("UPDATE audit SET prev_hash = prev_hash WHERE 0")
    removed = _verify(copy)
    assert removed.returncode == 1
    assert f"broken at record id {victim + 1}" in removed.stderr


@pytest.mark.processes
async def test_exchange_is_refused_with_503_while_the_audit_log_cannot_be_written(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = echo.running.url(LGSP)
    headers = await bearer(client, lgsp, echo.topology, MOTCUA)
    url = f"{lgsp}/{PROVINCIAL_ECHO}/1.0/x"
    database = echo.running.settings.data_dir / f"{LGSP}.audit.sqlite3"
    # Another process holding the write lock; taken off the loop, which must keep serving.
    locker = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    await asyncio.to_thread(locker.execute, "BEGIN EXCLUSIVE")
    try:
        # Passed on before the lock was noticed: answered 503, since its record cannot be
        # committed; the record waits for the lock and is written afterwards.
        first = await client.get(url, headers=headers)
        assert_problem(status=503, slug="audit-unavailable", response=first)
        for _ in range(100):
            if (await client.get(f"{lgsp}/healthz")).status_code == 503:
                break
            await asyncio.sleep(0.05)
        assert (await client.get(f"{lgsp}/healthz")).status_code == 503
        refused = await client.get(url, headers=headers)
        assert_problem(status=503, slug="audit-unavailable", response=refused)
        await _assert_not_seen(echo, client, refused)
    finally:
        await asyncio.to_thread(locker.execute, "ROLLBACK")
        locker.close()
    for _ in range(100):
        if (await client.get(f"{lgsp}/healthz")).status_code == 200:
            break
        await asyncio.sleep(0.05)
    after = await client.get(url, headers=headers)
    assert after.status_code == 200
    ids = {
        first.headers["X-Message-Id"],
        refused.headers["X-Message-Id"],
        after.headers["X-Message-Id"],
    }
    records = await audit_records(client, lgsp, echo.topology, LGSP, limit="1000")
    assert ids <= {r.message_id for r in records}  # nothing accepted was lost
    assert _verify(database).returncode == 0


async def test_a_query_passes_on_exactly_as_written(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    # Escapes stay escapes: %3F is not a second `?`, %26 not a second parameter, + not %2B.
    # (Unescaped non-ASCII bytes never get this far: the HTTP parser refuses them, 400.)
    line = f"GET /{PROVINCIAL_ECHO}/1.0/q?a=%3F%26&b=%C4%90&c=x%2By+z&d HTTP/1.1".encode()
    response = await _raw(echo, client, line)
    assert response.status == 200, response.body
    assert response.json()["query"] == "a=%3F%26&b=%C4%90&c=x%2By+z&d"
