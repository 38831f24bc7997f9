"""What a routed call carries through each hop, and the errors a caller gets back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sandbox.testing.harness import fast_settings
from tests.echo_topology import NATIONAL_ECHO, PROVINCIAL_ECHO, EchoSandbox, run_echo_sandbox
from tests.helpers import assert_fault, assert_problem, audit_records, bearer

pytestmark = pytest.mark.sockets

LGSP = "lgsp-bac-giang"
NGSP = "ngsp"


@pytest.fixture(scope="module")
async def echo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EchoSandbox]:
    data_dir = tmp_path_factory.mktemp("echo")
    settings = fast_settings(data_dir).model_copy(
        update={"upstream_timeout_seconds": 0.5, "max_body_bytes": 4096}
    )
    async with run_echo_sandbox(data_dir, settings) as sandbox:
        yield sandbox


async def _call(
    echo: EchoSandbox, client: httpx.AsyncClient, method: str, path: str, **kwargs
) -> httpx.Response:  # type: ignore[no-untyped-def]
    lgsp = echo.running.url(LGSP)
    headers = await bearer(client, lgsp, echo.topology, "motcua-bac-giang")
    headers.update(kwargs.pop("headers", {}))
    return await client.request(method, f"{lgsp}{path}", headers=headers, **kwargs)


@pytest.mark.parametrize(
    ("code", "tier"), [(PROVINCIAL_ECHO, "provincial"), (NATIONAL_ECHO, "national")]
)
async def test_method_path_query_body_and_headers_pass_through(
    echo: EchoSandbox, client: httpx.AsyncClient, code: str, tier: str
) -> None:
    body = '{"hoTen": "Nguyễn Văn An"}'
    response = await _call(
        echo,
        client,
        "PUT",
        f"/{code}/1.0/hoSo/ABC-01/trangThai?maDonVi=000.00.01.H04&x=1&x=2",
        content=body.encode(),
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Agency-Trace": "kept",
            "Connection": "keep-alive, X-Dropped",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "X-Origin-Consumer": "someone-else",
        },
    )
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["method"] == "PUT"
    assert seen["path"] == f"/{tier}/hoSo/ABC-01/trangThai"
    assert seen["query"] == "maDonVi=000.00.01.H04&x=1&x=2"
    assert seen["body"] == body
    sent = seen["headers"]
    assert sent["content-type"] == "application/json; charset=utf-8"
    assert sent["x-agency-trace"] == "kept"
    assert "keep-alive" not in sent and "te" not in sent
    # The back end never sees any hop's credentials, and a consumer cannot claim to be another.
    assert "authorization" not in sent
    assert sent["x-origin-consumer"] == "motcua-bac-giang"
    assert sent["x-message-id"] == response.headers["X-Message-Id"]
    assert response.headers["X-Echo"] == "1"
    assert "keep-alive" not in response.headers.get("connection", "")


async def test_message_id_from_caller_is_kept_on_every_hop_and_in_both_audit_logs(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    message_id = "motcua-2022-000123"
    response = await _call(
        echo, client, "GET", f"/{NATIONAL_ECHO}/1.0/ping", headers={"X-Message-Id": message_id}
    )
    assert response.status_code == 200
    assert response.headers["X-Message-Id"] == message_id
    assert response.json()["headers"]["x-message-id"] == message_id
    for platform, consumer in ((LGSP, "motcua-bac-giang"), (NGSP, "lgsp-bac-giang")):
        records = await audit_records(
            client, echo.running.url(platform), echo.topology, platform, message_id=message_id
        )
        assert len(records) == 1, platform
        record = records[0]
        assert record.consumer == consumer
        assert record.origin_consumer == "motcua-bac-giang"
        assert (record.service, record.method, record.status) == (NATIONAL_ECHO, "GET", 200)
        assert record.path == f"/{NATIONAL_ECHO}/1.0/ping"
        assert record.response_bytes > 0 and record.duration_ms > 0


async def test_intra_province_call_never_reaches_ngsp(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    response = await _call(echo, client, "GET", f"/{PROVINCIAL_ECHO}/1.0/ping")
    assert response.status_code == 200
    message_id = response.headers["X-Message-Id"]
    lgsp = await audit_records(
        client, echo.running.url(LGSP), echo.topology, LGSP, message_id=message_id
    )
    ngsp = await audit_records(
        client, echo.running.url(NGSP), echo.topology, NGSP, message_id=message_id
    )
    assert len(lgsp) == 1 and lgsp[0].service == PROVINCIAL_ECHO
    assert ngsp == []


async def test_unknown_service_is_wso2s_404_and_the_problem_names_the_path(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    response = await _call(echo, client, "GET", "/apiKhongCo/1.0/x")
    fault = assert_fault(response, 404, 404, "unknown-service")
    assert "/apiKhongCo/1.0/x" in fault["description"]
    assert "/apiKhongCo/1.0/" in response.headers["X-Sandbox-Detail"]
    response = await _call(
        echo,
        client,
        "GET",
        "/apiKhongCo/1.0/x",
        headers={"Accept": "application/problem+json"},
    )
    problem = assert_problem(response, 404, "unknown-service")
    assert "/apiKhongCo/1.0/" in problem["detail"]
    response = await _call(echo, client, "GET", f"/{PROVINCIAL_ECHO}/9.9/x")
    assert_fault(response, 404, 404, "unknown-service")


async def test_hanging_back_end_gets_504_within_the_platform_timeout(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    # The platform gives up after 0.5 s; the caller's own timeout (10 s) is never reached.
    response = await _call(echo, client, "GET", f"/{PROVINCIAL_ECHO}/1.0/slow")
    problem = assert_problem(response, 504, "backend-timeout")
    assert PROVINCIAL_ECHO in problem["detail"]


async def test_body_over_the_limit_is_413_and_not_forwarded(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    response = await _call(echo, client, "POST", f"/{PROVINCIAL_ECHO}/1.0/big", content=b"x" * 5000)
    assert_problem(response, 413, "payload-too-large")


async def test_invalid_message_id_is_400_naming_the_header(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    response = await _call(
        echo,
        client,
        "GET",
        f"/{PROVINCIAL_ECHO}/1.0/x",
        headers={"X-Message-Id": "bad id with spaces"},
    )
    problem = assert_problem(response, 400, "invalid-message-id")
    assert problem["errors"][0]["field"] == "$.headers.X-Message-Id"


async def test_consumer_without_a_grant_is_403(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    lgsp = echo.running.url(LGSP)
    headers = await bearer(client, lgsp, echo.topology, "qlvb-bac-giang")
    response = await client.get(f"{lgsp}/{NATIONAL_ECHO}/1.0/x", headers=headers)
    assert_fault(response, 403, 900908, "access-denied")
    detail = response.headers["X-Sandbox-Detail"]
    assert "qlvb-bac-giang" in detail and NATIONAL_ECHO in detail


async def test_every_exchange_is_audited_even_under_concurrency(
    echo: EchoSandbox, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    import asyncio

    lgsp = echo.running.url(LGSP)
    headers = await bearer(client, lgsp, echo.topology, "motcua-bac-giang")
    ids = [f"burst-{i:04d}" for i in range(300)]
    responses = await asyncio.gather(
        *(
            client.get(f"{lgsp}/{PROVINCIAL_ECHO}/1.0/x", headers={**headers, "X-Message-Id": i})
            for i in ids
        )
    )
    # Every answer counts, whatever its status: on a loaded machine some may be 504s (this
    # module's upstream timeout is short), and those must be in the log as much as the 200s.
    assert [r.headers["X-Message-Id"] for r in responses] == ids
    records = await audit_records(client, lgsp, echo.topology, LGSP, limit="1000")
    logged = {r.message_id: r.status for r in records}
    assert {i: r.status_code for i, r in zip(ids, responses, strict=True)}.items() <= logged.items()
