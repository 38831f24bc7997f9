"""A 405 names every method the path answers: Starlette's `Allow` named only the first route
whose path matched, so `OPTIONS /vxp/getEdoc` said GET (the SDK POSTs) and `/hoSo` said POST."""

from __future__ import annotations

import httpx
import pytest

from sandbox.testing.harness import RunningTopology
from tests.conftest import NGSP
from tests.helpers import assert_problem

pytestmark = pytest.mark.sockets


@pytest.mark.parametrize(
    ("node", "path", "allowed"),
    [
        (NGSP, "/vxp/getEdoc", "GET, POST"),
        ("lgsp-bac-giang", "/vxp/sendEdoc", "GET, POST"),
        ("one-stop-shop", "/hoSo", "GET, POST"),
    ],
)
async def test_options_is_answered_405_with_every_allowed_method(
    sandbox: RunningTopology, client: httpx.AsyncClient, node: str, path: str, allowed: str
) -> None:
    response = await client.options(f"{sandbox.url(node)}{path}")
    problem = assert_problem(response, 405, "method-not-allowed")
    assert response.headers["Allow"] == allowed
    assert allowed in problem["detail"]
