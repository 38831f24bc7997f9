"""Where a contract declares a string, a number is refused (422 naming the field), at the back
end and through the routed path: pydantic alone would read 19900115 as a date (seconds since
the epoch, when it is a whole day), which no real client means and the contract does not allow."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from contracts.services.documents import VanBan
from contracts.services.population import XacThucYeuCau
from sandbox.testing.harness import RunningTopology
from tests.conftest import LGSP
from tests.helpers import bearer

pytestmark = pytest.mark.sockets

# Whole days since the epoch: what lax pydantic read as a date (1990-01-01, 2024-12-31).
CASES = [
    ("population", "/apiCSDLDC/1.0/xacThucCongDan", XacThucYeuCau, "ngaySinh", 631152000),
    ("e-office", "/apiQLVB/1.0/guiVanBan", VanBan, "hanXuLy", 1735603200),
    ("e-office", "/apiQLVB/1.0/guiVanBan", VanBan, "ngayBanHanh", 0),
]


def _body(model: Any, field: str, value: object) -> dict[str, Any]:
    example: dict[str, Any] = dict(model.model_json_schema()["examples"][0])
    return example | {"maThamChieu": f"declared-string-{field}", field: value}


def _names(problem: dict[str, Any], field: str) -> bool:
    fields = [e.get("field", "") for e in problem.get("errors") or []]
    return any(field in f for f in fields) or field in problem.get("detail", "")


@pytest.mark.parametrize(("backend", "path", "model", "field", "value"), CASES)
async def test_a_number_where_a_date_string_is_declared_is_422_at_the_back_end(
    sandbox: RunningTopology,
    client: httpx.AsyncClient,
    backend: str,
    path: str,
    model: Any,
    field: str,
    value: object,
) -> None:
    body = _body(model, field, value)
    if model is XacThucYeuCau:
        body.pop("maThamChieu")
    resource = path.split("/", 3)[3]
    response = await client.post(f"{sandbox.url(backend)}/{resource}", json=body)
    assert response.status_code == 422, response.text
    assert _names(response.json(), field), response.text


@pytest.mark.parametrize(("backend", "path", "model", "field", "value"), CASES)
async def test_a_number_where_a_date_string_is_declared_is_422_through_the_lgsp(
    sandbox: RunningTopology,
    client: httpx.AsyncClient,
    backend: str,
    path: str,
    model: Any,
    field: str,
    value: object,
) -> None:
    body = _body(model, field, value)
    if model is XacThucYeuCau:
        body.pop("maThamChieu")
    lgsp = sandbox.url(LGSP)
    headers = await bearer(client, lgsp, sandbox.topology, "motcua-bac-giang")
    response = await client.post(f"{lgsp}{path}", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert _names(response.json(), field), response.text
