"""The pytest plugin as an agency's own suite meets it: a fresh project, run in a subprocess.

Each run finds the plugin through its `pytest11` entry point, as an installed package would.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.processes

ROOT = Path(__file__).parents[1]
# The plugin's guide page (it was README's section): its example is run as written.
GUIDE = ROOT / "docs" / "guides" / "pytest-plugin.md"
SEEDS = ROOT / "seeds" / "example"
SEEDED_CITIZEN = "024190012468"  # Nguyễn Thị Thu Hường, in seeds/example/citizens.yaml


def guide_example() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    found = re.search(r"<!-- pytest-plugin-example -->\n```python\n(.*?)```", text, re.DOTALL)
    assert found, "docs/guides/pytest-plugin.md lost its example"
    return found.group(1)


def run_suite(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # A subprocess: the agency's suite imports nothing of ours but through the entry point.
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", *args)


def agency_topology(folder: Path) -> Path:
    """A topology file of the agency's own: the default one plus its seed data."""
    path = folder / "agency.yaml"
    path.write_text(
        f"extends: bac-giang-2022\nname: agency-sandbox\nseeds: {SEEDS}\n", encoding="utf-8"
    )
    return path


def test_the_guide_example_is_about_ten_lines() -> None:
    code = [line for line in guide_example().splitlines() if line.strip()]
    assert 5 <= len(code) <= 10


def test_the_guide_example_passes_in_a_fresh_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_agency=guide_example())
    run_suite(pytester).assert_outcomes(passed=1)


def test_ini_option_names_a_file_beside_the_ini_file(pytester: pytest.Pytester) -> None:
    agency_topology(pytester.mkdir("sandbox-config"))
    pytester.makeini("[pytest]\ngsp_topology = sandbox-config/agency.yaml\n")
    tests = pytester.mkdir("tests")
    (tests / "test_which.py").write_text(
        "def test_which(gsp_topology):\n    assert gsp_topology.name == 'agency-sandbox'\n",
        encoding="utf-8",
    )
    # Started from a subfolder: the ini file's path still resolves beside the ini file.
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tests)
        run_suite(pytester).assert_outcomes(passed=1)


def test_command_line_option_wins_over_the_ini_option(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ngsp_topology = no-such-topology\n")
    pytester.makepyfile(
        test_which="def test_which(gsp_topology):\n"
        "    assert gsp_topology.name == 'bac-giang-2023'\n"
    )
    run_suite(pytester, "--gsp-topology", "bac-giang-2023").assert_outcomes(passed=1)


def test_fixture_serves_plain_and_async_tests_and_stops_nodes(pytester: pytest.Pytester) -> None:
    topology = agency_topology(pytester.path)
    pytester.makepyfile(
        test_agency=f"""
import httpx
import pytest


def test_the_chosen_topology_with_its_seed_data_runs(gsp_sandbox):
    assert gsp_sandbox.topology.name == "agency-sandbox"
    token = httpx.post(
        f"{{gsp_sandbox.lgsp_url}}/token",
        data={{"grant_type": "client_credentials"}},
        auth=gsp_sandbox.credentials,
    ).json()["access_token"]
    response = httpx.get(
        f"{{gsp_sandbox.lgsp_url}}/apiCSDLDC/1.0/congDan",
        params={{"soDinhDanh": "{SEEDED_CITIZEN}"}},
        headers={{"Authorization": f"Bearer {{token}}"}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["CongDan"]["HoVaTen"]["Ten"] == "Hường"


def test_national_service_down_gives_a_problem(gsp_sandbox):
    headers = {{"Authorization": f"Bearer {{gsp_sandbox.token()}}"}}
    url = f"{{gsp_sandbox.lgsp_url}}/apiCSDLDC/1.0/congDan"
    params = {{"soDinhDanh": gsp_sandbox.sample_citizen_id}}
    gsp_sandbox.stop("population")
    try:
        response = httpx.get(url, params=params, headers=headers)
        assert response.status_code == 502
        assert response.headers["content-type"].startswith("application/problem+json")
    finally:
        gsp_sandbox.start("population")
    assert httpx.get(url, params=params, headers=headers).status_code == 200


def test_other_consumers_and_the_ngsp_are_reachable(gsp_sandbox):
    admin = gsp_sandbox.token_at("ngsp", "ngsp-admin")
    response = httpx.get(
        f"{{gsp_sandbox.ngsp_url}}/catalog", headers={{"Authorization": f"Bearer {{admin}}"}}
    )
    assert response.json()["consumer"] == "ngsp-admin"
    with pytest.raises(KeyError, match="no consumer 'nobody'"):
        gsp_sandbox.credentials_of("nobody")


@pytest.mark.asyncio
async def test_async_tests_can_use_it_too(gsp_sandbox):
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{{gsp_sandbox.lgsp_url}}/topology")
    assert response.json()["national"]["registered"] == 9
"""
    )
    run_suite(pytester, "--gsp-topology", str(topology)).assert_outcomes(passed=4)
