"""The dashboard: its page in a real headless Chromium against a running topology, its JSON,
its event stream, its graph and its access switch.

Chromium is Debian's (`make tools` installs it); Playwright drives the system browser, so no
browser is downloaded. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from contracts.platform import DashboardState, TopologyReport
from contracts.topology import Topology
from gateway.monitoring.dashboard_graph import COLUMNS, render_graph
from sandbox.testing.harness import RunningTopology, fast_settings, run_topology
from services.common.sampledata import citizens
from tests.helpers import admin_of, assert_problem, bearer

LGSP = "lgsp-bac-giang"
NGSP = "ngsp"
MOTCUA = "motcua-bac-giang"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
# Bounds for waiting on the page, not timings under test: health checks run every 0.2 s.
WAIT_MS = 15_000


@pytest.fixture(scope="session")
def chromium() -> str:
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run `make tools`"
    ARTIFACTS.mkdir(exist_ok=True)
    return CHROMIUM


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


def service_fed_by(topology: Topology, backend: str) -> str:
    return next(s.code for s in topology.services if s.backend == backend)


async def screenshot(page: Page, name: str) -> None:
    await page.screenshot(path=ARTIFACTS / f"dashboard-{name}.png", full_page=True)


@pytest.mark.browser
async def test_lgsp_dashboard_shows_counts_traffic_and_a_service_going_down(
    topology_2022: Topology, tmp_path: Path, browser: Browser, client: httpx.AsyncClient
) -> None:
    stopped = "data-warehouse"
    down_code = service_fed_by(topology_2022, stopped)
    async with run_topology(topology_2022, tmp_path) as running:
        lgsp = running.url(LGSP)
        headers = await bearer(client, lgsp, topology_2022, MOTCUA)
        message_ids = []
        for citizen in citizens(topology_2022.seed, 3):
            response = await client.get(
                f"{lgsp}/apiCSDLDC/1.0/congDan",
                params={"soDinhDanh": citizen.so_dinh_danh},
                headers=headers,
            )
            assert response.status_code == 200, response.text
            message_ids.append(response.headers["X-Message-Id"])

        page = await browser.new_page(viewport={"width": 1500, "height": 1000})
        await page.goto(f"{lgsp}/dashboard")
        await expect(page.locator("#title")).to_have_text(
            topology_2022.platforms[LGSP].title, timeout=WAIT_MS
        )
        headline = page.locator("#headline")
        await expect(headline).to_have_text(
            "9 services connected through NGSP · 3 intra-province", timeout=WAIT_MS
        )
        population = page.locator('#services tr[data-code="apiCSDLDC"]')
        await expect(population).to_have_attribute("data-health", "healthy")
        await expect(population.locator("td.total")).to_have_text(str(len(message_ids)))
        await expect(population.locator("td.requests")).to_have_text(str(len(message_ids)))
        await expect(page.locator('#graph g[data-code="apiCSDLDC"]')).to_have_attribute(
            "data-health", "healthy", timeout=WAIT_MS
        )
        for message_id in message_ids:
            await expect(page.locator(f'#recent tr[data-message-id="{message_id}"]')).to_have_count(
                1
            )
        await expect(page.locator("#live")).to_have_class("live ok")
        await screenshot(page, "lgsp-healthy")

        # The filter (for NGSP's ~90 platforms): other rows hidden, other nodes dimmed.
        await page.locator("#filter").fill("csdldc")
        await expect(population).to_be_visible()
        await expect(page.locator('#services tr[data-code="apiMotCua"]')).to_be_hidden()
        kept = page.locator('#graph g[data-code="apiCSDLDC"]')
        await expect(kept).not_to_have_class(re.compile(r"\bdimmed\b"))
        await expect(page.locator('#graph g[data-code="apiMotCua"]')).to_have_class(
            "node service healthy dimmed", timeout=WAIT_MS
        )
        await expect(page.locator("#filter-count")).to_contain_text("1 of ")
        await page.locator("#filter").fill("")
        await expect(page.locator('#services tr[data-code="apiMotCua"]')).to_be_visible()

        await running.stop(stopped)
        await expect(headline).to_have_text(
            "9 services connected through NGSP · 2 intra-province (3 registered)", timeout=WAIT_MS
        )
        await expect(page.locator(f'#graph g[data-code="{down_code}"]')).to_have_attribute(
            "data-health", "down", timeout=WAIT_MS
        )
        await expect(page.locator(f'#services tr[data-code="{down_code}"]')).to_have_attribute(
            "data-health", "down"
        )
        await expect(population).to_have_attribute("data-health", "healthy")
        await screenshot(page, "lgsp-service-down")

        ngsp_page = await browser.new_page(viewport={"width": 1500, "height": 1000})
        await ngsp_page.goto(f"{running.url(NGSP)}/dashboard")
        await expect(ngsp_page.locator("#headline")).to_have_text(
            "1 provincial platforms connected · 9 national services", timeout=WAIT_MS
        )
        province = ngsp_page.locator(f'#provinces tr[data-platform="{LGSP}"]')
        await expect(province).to_have_attribute("data-health", "healthy")
        await expect(ngsp_page.locator(f'#graph g[data-platform="{LGSP}"]')).to_have_count(1)
        await expect(ngsp_page.locator("#graph g.service")).to_have_count(9)
        # The same calls passed NGSP: its dashboard counts them too.
        await expect(
            ngsp_page.locator('#services tr[data-code="apiCSDLDC"] td.total')
        ).to_have_text(str(len(message_ids)))
        await screenshot(ngsp_page, "ngsp")


@pytest.mark.sockets
async def test_state_is_the_report_plus_metrics_and_recent_exchanges(
    sandbox: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> None:
    lgsp = sandbox.url(LGSP)
    headers = await bearer(client, lgsp, topology_2022, MOTCUA)
    citizen = citizens(topology_2022.seed, 1)[0]
    call = await client.get(
        f"{lgsp}/apiCSDLDC/1.0/congDan",
        params={"soDinhDanh": citizen.so_dinh_danh},
        headers=headers,
    )
    response = await client.get(f"{lgsp}/dashboard/state", params={"recent": 5})
    assert response.status_code == 200
    state = DashboardState.model_validate_json(response.content)
    assert state.report.platform == LGSP
    assert state.headline == "9 services connected through NGSP · 3 intra-province"
    assert len(state.recent) <= 5
    assert state.recent[0].message_id == call.headers["X-Message-Id"]
    assert state.recent[0].service == "apiCSDLDC"
    # Metadata only: neither the citizen's ID (in the query) nor the answer's name appears.
    assert citizen.so_dinh_danh not in response.text
    assert citizen.ho_ten not in response.text
    population = next(m for m in state.metrics if m.service == "apiCSDLDC")
    assert population.requests >= 1 and population.p50_ms is not None

    refused = await client.get(f"{lgsp}/dashboard/state", params={"recent": 1000})
    problem = assert_problem(refused, 422, "validation-error")
    assert [e["field"] for e in problem["errors"]] == ["$.query.recent"]


@pytest.mark.sockets
async def test_event_stream_pushes_the_state(
    sandbox: RunningTopology, client: httpx.AsyncClient
) -> None:
    url = f"{sandbox.url(NGSP)}/dashboard/events"
    async with client.stream("GET", url) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event: list[str] = []
        async for line in response.aiter_lines():
            if line == "" and any(f.startswith("data: ") for f in event):
                break
            if line:
                event.append(line)
    assert event[0].startswith("retry: ")
    assert "event: state" in event
    data = next(f.removeprefix("data: ") for f in event if f.startswith("data: "))
    state = DashboardState.model_validate_json(data)
    assert state.report.downstream is not None
    assert [p.name for p in state.report.downstream.platforms] == [LGSP]


@pytest.mark.sockets
async def test_page_and_assets_are_utf8_and_unknown_files_are_problems(
    sandbox: RunningTopology, client: httpx.AsyncClient
) -> None:
    base = sandbox.url(LGSP)
    page = await client.get(f"{base}/dashboard")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<meta charset="utf-8">' in page.text
    script = await client.get(f"{base}/dashboard/dashboard.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/dashboard/state" in script.text
    assert_problem(await client.get(f"{base}/dashboard/secrets.py"), 404, "not-found")


@pytest.mark.sockets
async def test_dashboard_can_be_closed_to_all_but_admins(
    topology_2022: Topology, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    settings = fast_settings(tmp_path).model_copy(update={"dashboard_public": False})
    async with run_topology(
        topology_2022, tmp_path, settings=settings, nodes=[LGSP], wait=False
    ) as running:
        base = running.url(LGSP)
        for path in ("/dashboard/state", "/dashboard/graph.svg", "/metrics"):
            assert_problem(await client.get(f"{base}{path}"), 401, "missing-token")
            consumer = await bearer(client, base, topology_2022, MOTCUA)
            assert_problem(await client.get(f"{base}{path}", headers=consumer), 403, "admin-only")
            admin = await bearer(client, base, topology_2022, admin_of(topology_2022, LGSP))
            assert (await client.get(f"{base}{path}", headers=admin)).status_code == 200, path
        # The page itself holds no data; its script sends the token from the URL fragment.
        assert (await client.get(f"{base}/dashboard")).status_code == 200


def _report(healthy: dict[str, bool | None]) -> TopologyReport:
    service = {
        "version": "1.0",
        "owner": "000.00.01.H04",
        "owner_name": "Văn phòng UBND tỉnh",
        "tier": "provincial",
        "route": "backend",
    }
    services = [
        {**service, "code": code, "title": f"Hệ thống <{code}> & Sở", "healthy": up}
        | {"path": f"/{code}/1.0/"}
        for code, up in healthy.items()
    ]
    up = sum(1 for v in healthy.values() if v)
    return TopologyReport.model_validate(
        {
            "platform": "lgsp-x",
            "tier": "provincial",
            "title": "Nền tảng tích hợp, chia sẻ dữ liệu tỉnh X",
            "agency": "000.00.12.H99",
            "summary": "LGSP x: 0 services connected through NGSP, …",
            "national": {"registered": 0, "reachable": 0, "services": []},
            "intra": {"registered": len(healthy), "reachable": up, "services": services},
        }
    )


def test_graph_is_well_formed_svg_with_a_node_per_service_coloured_by_health() -> None:
    svg = render_graph(_report({"apiA": True, "apiB": False, "apiC": None}))
    root = ET.fromstring(svg)  # escaped titles: '<' and '&' in names do not break it
    ns = {"svg": "http://www.w3.org/2000/svg"}
    nodes = {
        g.get("data-code"): g.get("data-health")
        for g in root.iterfind(".//svg:g", ns)
        if "service" in (g.get("class") or "")
    }
    assert nodes == {"apiA": "healthy", "apiB": "down", "apiC": "unknown"}
    # No upstream platform in this report: the LGSP itself is the only platform node.
    platforms = [g for g in root.iterfind(".//svg:g", ns) if g.get("data-platform")]
    assert [g.get("data-platform") for g in platforms] == ["lgsp-x"]
    texts = " ".join(t.text or "" for t in root.iterfind(".//svg:text", ns))
    assert "Nền tảng tích hợp" in texts
    assert len(root.findall("svg:line", ns)) == 3  # one edge per service


def test_a_group_wider_than_a_row_is_framed_with_one_edge() -> None:
    codes = {f"apiDataset{i}": True for i in range(COLUMNS + 1)} | {"apiDown": False}
    root = ET.fromstring(render_graph(_report(codes)))
    ns = {"svg": "http://www.w3.org/2000/svg"}
    [frame] = root.findall("svg:rect[@class='group']", ns)
    [edge] = root.findall("svg:line", ns)
    assert edge.get("class") == "edge down"  # the frame's edge shows its worst member
    assert edge.get("y1") == frame.get("y")  # from the frame's top up to the LGSP
