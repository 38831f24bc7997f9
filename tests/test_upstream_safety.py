"""Upstream safety (OWASP API7 SSRF, API10 unsafe consumption): what a platform calls and
how it reads the answer. Real sockets throughout: the platforms, the echo back end and a
hostile back end that closes, resets or floods its connections."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from ipaddress import ip_address, ip_network
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.proxy.client import create_client
from gateway.proxy.forwarder import Forwarder, ResponseTooLarge, Unreachable
from gateway.proxy.forwarder import create_forwarder as make_forwarder
from gateway.proxy.upstream_policy import refusal, static_refusal
from gateway.settings import GatewaySettings
from sandbox.testing.harness import fast_settings
from sandbox.topology.loading import SHIPPED_DIR, TopologyError, load_topology
from tests.conftest import LGSP
from tests.echo_topology import EchoSandbox, run_echo_sandbox
from tests.helpers import assert_problem, bearer
from tests.hostile_backend import hostile_backend

pytestmark = pytest.mark.sockets

ADMIN = "lgsp-bac-giang-admin"
MOTCUA = "motcua-bac-giang"
CAP = 1024 * 1024


def _settings(data_dir: Path) -> GatewaySettings:
    return fast_settings(data_dir).model_copy(update={"max_response_bytes": CAP})


@pytest.fixture(scope="module")
async def echo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EchoSandbox]:
    data_dir = tmp_path_factory.mktemp("upstream")
    async with run_echo_sandbox(data_dir, _settings(data_dir)) as sandbox:
        yield sandbox


async def _register(
    echo: EchoSandbox, client: httpx.AsyncClient, code: str, address: str
) -> httpx.Response:
    lgsp = echo.running.url(LGSP)
    return await client.put(
        f"{lgsp}/admin/services/{code}/1.0",
        json={"title": "Dịch vụ", "owner": "000.00.12.H04", "address": address},
        headers=await bearer(client, lgsp, echo.topology, ADMIN),
    )


BAD_ADDRESSES = [
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ("http://[::ffff:169.254.169.254]/", "metadata"),
    ("http://169.254.10.20:8080/", "link-local"),
    ("http://[fe80::1]:8080/", "link-local"),
    ("http://0.0.0.0:8101/", "unspecified"),
    ("http://[::]:8101/", "unspecified"),
    ("http://admin:secret@127.0.0.1:8101/", "credentials"),
    ("http://127.0.0.1:8101/x#frag", "fragment"),
    ("http://no-such-host.invalid/", "does not resolve"),
]


@pytest.mark.parametrize(("address", "reason"), BAD_ADDRESSES)
async def test_registration_refuses_an_unsafe_address(
    echo: EchoSandbox, client: httpx.AsyncClient, address: str, reason: str
) -> None:
    response = await _register(echo, client, "apiXau", address)
    problem = assert_problem(response, 422, "unsafe-address")
    assert problem["errors"][0]["field"] == "$.body.address"
    assert reason in problem["errors"][0]["reason"], problem


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_registration_refuses_the_platform_itself(
    echo: EchoSandbox, client: httpx.AsyncClient, host: str
) -> None:
    port = echo.running.addresses.port(LGSP)
    response = await _register(echo, client, "apiVong", f"http://{host}:{port}/")
    problem = assert_problem(response, 422, "unsafe-address")
    assert "would loop" in problem["errors"][0]["reason"]


@pytest.mark.parametrize("address", ["ftp://127.0.0.1/x", "file:///etc/passwd"])
async def test_registration_refuses_other_schemes(
    echo: EchoSandbox, client: httpx.AsyncClient, address: str
) -> None:
    problem = assert_problem(
        await _register(echo, client, "apiSchema", address), 422, "validation-error"
    )
    assert problem["errors"][0]["field"] == "$.body.address"


async def test_registration_accepts_loopback_and_calls_it(
    echo: EchoSandbox, client: httpx.AsyncClient
) -> None:
    for address in (f"{echo.echo_url}/tot", echo.echo_url.replace("127.0.0.1", "localhost")):
        assert (await _register(echo, client, "apiTot", address)).status_code == 200
    lgsp = echo.running.url(LGSP)
    headers = await bearer(client, lgsp, echo.topology, MOTCUA)
    response = await client.get(f"{lgsp}/apiTot/1.0/a", headers=headers)
    assert response.status_code == 200, response.text


async def test_an_allow_list_lets_more_through() -> None:
    settings = GatewaySettings(upstream_allowed_networks=[ip_network("169.254.0.0/16")])
    assert await refusal("http://169.254.10.20/", settings, []) is None
    assert await refusal("http://169.254.10.20/", GatewaySettings(), []) is not None
    # The allow-list is about addresses: credentials and fragments stay refused.
    assert await refusal("http://a:b@169.254.10.20/", settings, []) is not None


def test_a_topology_file_with_an_unsafe_address_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load((SHIPPED_DIR / "bac-giang-2022.yaml").read_text(encoding="utf-8"))
    raw["services"].append(
        {
            "code": "apiX",
            "title": "X",
            "owner": "000.00.12.H04",
            "tier": "provincial",
            "platform": LGSP,
            "address": "http://169.254.169.254/",
        }
    )
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    at = len(raw["services"]) - 1
    with pytest.raises(TopologyError, match=rf"services\[{at}\]\.address: .*metadata"):
        load_topology(path)
    assert static_refusal("http://10.1.2.3:8080/") is None  # private ranges are the sandbox's


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("fault", ["huge", "huge-declared"])
async def test_a_response_over_the_cap_is_a_502_and_memory_stays_bounded(
    echo: EchoSandbox, client: httpx.AsyncClient, fault: str
) -> None:
    async with hostile_backend(fault=fault) as backend:
        assert (await _register(echo, client, "apiLon", backend.url)).status_code == 200
        lgsp = echo.running.url(LGSP)
        headers = await bearer(client, lgsp, echo.topology, MOTCUA)
        before = _rss_mb()
        response = await client.get(f"{lgsp}/apiLon/1.0/huge", headers=headers)
        grown = _rss_mb() - before
        problem = assert_problem(response, 502, "response-too-large")
        assert str(CAP) in problem["detail"]
        # The platform stopped reading and closed: the back end could not push its 256 MiB.
        await _until(lambda: backend.closed >= 1)
        print(
            f"\n{fault}: back end sent {backend.bytes_sent / 2**20:.0f} MiB of 256; "
            f"platform (this process) RSS grew {grown:.1f} MB"
        )
        assert backend.bytes_sent < 64 * 1024 * 1024
        assert grown < 64
        # The service is up; answering too much does not mark it down.
        report = await echo.running.report(LGSP)
        assert report.intra is not None
        assert next(s for s in report.intra.services if s.code == "apiLon").healthy is not False


async def _until(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def _forwarder(kind: str, **settings: object) -> Forwarder:
    values = {"transport": kind, "upstream_timeout_seconds": 3.0, **settings}
    return make_forwarder(GatewaySettings(**values))  # type: ignore[arg-type]


@pytest.fixture(params=["http1", "httpx"])
async def forwarder_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("fault", ["close-second", "reset-second"])
async def test_a_broken_pooled_connection_is_retried_once_for_get_never_for_post(
    forwarder_kind: str, fault: str
) -> None:
    async with hostile_backend(fault=fault) as backend:
        forwarder = _forwarder(forwarder_kind)
        try:
            assert (await forwarder.send("GET", f"{backend.url}/a", [], b"")).status == 200
            # The pooled connection is broken on its next request: a GET goes once more.
            assert (await forwarder.send("GET", f"{backend.url}/b", [], b"")).status == 200
            assert backend.requests == ["GET /a", "GET /b", "GET /b"]
            assert backend.connections == 2
            # The same for a POST: it is not sent twice, the caller gets a 502 (Unreachable).
            with pytest.raises(Unreachable):
                await forwarder.send("POST", f"{backend.url}/c", [], b"{}")
            assert backend.requests[3:] == ["POST /c"]
        finally:
            await forwarder.aclose()


async def _wait_past(seconds: float) -> None:
    """Idle for `seconds`: the idle time itself is the condition under test."""
    await asyncio.sleep(seconds)


async def test_pooled_connections_expire_before_the_back_ends_keep_alive(
    forwarder_kind: str,
) -> None:
    async with hostile_backend() as backend:
        forwarder = _forwarder(forwarder_kind, upstream_keepalive_seconds=0.3)
        try:
            await forwarder.send("GET", f"{backend.url}/a", [], b"")
            await forwarder.send("GET", f"{backend.url}/b", [], b"")
            assert backend.connections == 1  # reused while fresh
            await _wait_past(0.5)
            await forwarder.send("GET", f"{backend.url}/c", [], b"")
            assert backend.connections == 2  # past the expiry: a new connection
        finally:
            await forwarder.aclose()


async def test_a_shorter_keep_alive_timeout_announced_by_the_back_end_is_honoured() -> None:
    # timeout=1.4 less the 1 s margin: the connection is reused for 0.4 s, not the pool's 4 s.
    async with hostile_backend(keep_alive_header="timeout=1.4, max=100") as backend:
        forwarder = _forwarder("http1")
        try:
            await forwarder.send("GET", f"{backend.url}/a", [], b"")
            await forwarder.send("GET", f"{backend.url}/b", [], b"")
            assert backend.connections == 1
            await _wait_past(0.6)
            await forwarder.send("GET", f"{backend.url}/c", [], b"")
            assert backend.connections == 2
        finally:
            await forwarder.aclose()


async def test_the_forwarder_refuses_a_metadata_address_at_connect_time(
    forwarder_kind: str,
) -> None:
    """What a host name rebound after registration would reach: refused before connecting."""
    forwarder = _forwarder(forwarder_kind, connect_timeout_seconds=0.5)
    try:
        with pytest.raises(Unreachable, match="metadata"):
            await forwarder.send("GET", "http://169.254.169.254/latest/meta-data/", [], b"")
        with pytest.raises(Unreachable, match="link-local"):
            await forwarder.send("GET", "http://[fe80::1]:9/", [], b"")
    finally:
        await forwarder.aclose()


async def test_the_forwarder_caps_a_response_in_either_implementation(
    forwarder_kind: str,
) -> None:
    async with hostile_backend(fault="huge") as backend:
        forwarder = _forwarder(forwarder_kind, max_response_bytes=CAP)
        try:
            with pytest.raises(ResponseTooLarge):
                await forwarder.send("GET", f"{backend.url}/huge", [], b"")
            await _until(lambda: backend.closed >= 1)  # closed, not pooled
        finally:
            await forwarder.aclose()
        assert backend.bytes_sent < 64 * 1024 * 1024


async def test_the_off_path_client_checks_addresses_at_connect_time_too() -> None:
    """Health checks, tokens and document delivery go through the same guard."""
    client = create_client(GatewaySettings(connect_timeout_seconds=0.5))
    try:
        with pytest.raises(httpx.ConnectError, match="metadata"):
            await client.get("http://169.254.169.254/latest/meta-data/")
        async with hostile_backend() as backend:
            assert (
                await client.get(f"{backend.url.replace('127.0.0.1', 'localhost')}/a")
            ).is_success
    finally:
        await client.aclose()


@pytest.fixture
async def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The edge mocked: answers for made-up names (as a rebinding DNS server would give),
    on this test's event loop, which the in-process platforms share; other names resolve."""
    answers: dict[str, list[str]] = {}
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def getaddrinfo(host: object, port: object, *args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in answers:
            return await real(host, port, *args, **kwargs)  # type: ignore[arg-type]
        family = {4: socket.AF_INET, 6: socket.AF_INET6}
        return [
            (family[ip_address(a).version], socket.SOCK_STREAM, 6, "", (a, int(port or 80)))  # type: ignore[call-overload]
            for a in answers[name]
        ]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return answers


async def test_a_name_is_refused_if_any_address_it_resolves_to_is(
    echo: EchoSandbox, client: httpx.AsyncClient, dns: dict[str, list[str]]
) -> None:
    dns["mixed.test"] = ["127.0.0.1", "169.254.169.254"]
    problem = assert_problem(
        await _register(echo, client, "apiTron", "http://mixed.test:8080/"), 422, "unsafe-address"
    )
    assert "mixed.test resolves to 169.254.169.254" in problem["errors"][0]["reason"]


async def test_a_name_rebound_after_registration_is_refused_at_connect(
    forwarder_kind: str, dns: dict[str, list[str]]
) -> None:
    async with hostile_backend() as backend:
        port = backend.url.rsplit(":", 1)[1]
        dns["rebound.test"] = ["127.0.0.1"]
        settings = GatewaySettings()
        assert await refusal(f"http://rebound.test:{port}/", settings, []) is None  # registered
        dns["rebound.test"] = ["169.254.169.254"]  # then the name is rebound
        forwarder = _forwarder(forwarder_kind, connect_timeout_seconds=0.5)
        off_path = create_client(settings)
        try:
            with pytest.raises(Unreachable, match="metadata"):
                await forwarder.send("GET", f"http://rebound.test:{port}/a", [], b"")
            with pytest.raises(httpx.ConnectError, match="metadata"):
                await off_path.get(f"http://rebound.test:{port}/healthz")
            assert backend.connections == 0
        finally:
            await forwarder.aclose()
            await off_path.aclose()
