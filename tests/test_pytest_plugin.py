"""The README's pytest-plugin example, run as an agency's own test suite would run it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- pytest-plugin-example -->\n```python\n(.*?)```", text, re.DOTALL)
    assert found, "README lost its pytest plugin example"
    return found.group(1)


def test_readme_example_is_ten_lines_or_so() -> None:
    code = [line for line in readme_example().splitlines() if line.strip()]
    assert len(code) <= 12


def test_readme_example_passes_in_a_fresh_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_agency=readme_example())
    # A subprocess: the agency's suite, with the plugin found through its entry point.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)


def test_fixture_lets_a_test_stop_a_back_end(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_outage="""
import httpx
import pytest


def test_national_service_down_gives_a_problem(gsp_sandbox):
    headers = {"Authorization": f"Bearer {gsp_sandbox.token()}"}
    url = f"{gsp_sandbox.lgsp_url}/apiCSDLDC/1.0/congDan"
    params = {"soDinhDanh": gsp_sandbox.sample_citizen_id}
    gsp_sandbox.stop("population")
    try:
        response = httpx.get(url, params=params, headers=headers)
        assert response.status_code == 502
        assert response.headers["content-type"].startswith("application/problem+json")
    finally:
        gsp_sandbox.start("population")
    assert httpx.get(url, params=params, headers=headers).status_code == 200


@pytest.mark.asyncio
async def test_async_tests_can_use_it_too(gsp_sandbox):
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{gsp_sandbox.lgsp_url}/topology")
    assert response.json()["national"]["registered"] == 9
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2)
