"""The agency's own services: a mock from its OpenAPI, record, replay and drift (issue 26).

Everything runs through the real platforms on real sockets: the LGSP (token, grants, audit,
catalog, the contract check at the hop) and, for a national service, NGSP behind it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from contracts.cassette import load_cassette, write_cassette
from contracts.own_spec import SpecError, build_spec, load_spec, parse_text
from contracts.topology import Topology
from sandbox.cassette_check import check, contract_spec
from sandbox.cli import main
from sandbox.harness import run_topology
from sandbox.hosting import NodeHost, bind_socket
from sandbox.own_services import OwnServiceError, with_own_service
from sandbox.pytest_plugin import start_sandbox
from sandbox.topology import SHIPPED_DIR
from services.catalog import load_factory
from services.common.config import BackendConfig
from services.common.sampledata import citizens
from tests.helpers import assert_problem, audit_records, bearer

DATA = Path(__file__).parent / "data" / "own"
SPEC_30 = DATA / "cua-toi-3.0.yaml"
SPEC_31 = DATA / "quoc-gia-3.1.json"
LGSP = "lgsp-bac-giang"
CALLER = "motcua-bac-giang"  # granted every service ("*")


def bare_topology() -> Topology:
    """Bắc Giang's platforms and consumers, and no services: only the agency's own join."""
    raw = yaml.safe_load((SHIPPED_DIR / "bac-giang-2022.yaml").read_text(encoding="utf-8"))
    raw.update(backends={}, services=[], mailboxes=[])
    raw["platforms"][LGSP]["national_services"] = []
    for consumer in raw["consumers"]:
        consumer["grants"] = [g for g in consumer.get("grants", []) if g == "*"]
    return Topology.model_validate(raw)


def own_topology() -> Topology:
    topology = with_own_service(bare_topology(), code="apiCuaToi", openapi=SPEC_30)
    return with_own_service(
        topology, code="apiDonViQG", version="2.0", platform="ngsp", openapi=SPEC_31
    )


# -- the document ---------------------------------------------------------------------


def test_30_and_31_are_normalised_to_one_dialect() -> None:
    spec30 = load_spec(SPEC_30)
    assert spec30.version == "3.0"
    assert spec30.operations == ["GET /canBo", "POST /canBo", "GET /canBo/{maCanBo}"]
    chuc_vu = spec30.document["components"]["schemas"]["CanBo"]["properties"]["chucVu"]
    assert {"type": "null"} in chuc_vu["anyOf"]  # nullable: true, as 2020-12 says it
    one = spec30.document["paths"]["/canBo/{maCanBo}"]["get"]
    assert one["parameters"][0]["name"] == "maCanBo"  # path-level parameter merged in
    listing = spec30.document["paths"]["/canBo"]["get"]
    assert listing["parameters"][0]["name"] == "trang"  # $ref to a parameter resolved
    assert load_spec(SPEC_31).version == "3.1"


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ('{"swagger": "2.0"}', "swagger: Swagger 2.0"),
        ('{"openapi": "3.2.0"}', "openapi: '3.2.0'"),
        ('{"openapi": "3.0.3", "info": {"title": "x"}, "paths": {}}', "paths: at least one"),
        (
            '{"openapi": "3.0.3", "info": {"title": "x"}, "paths": {"/a": {"get": '
            '{"responses": {"200": {"$ref": "#/components/responses/Missing"}}}}}}',
            "paths./a.get.responses.200.$ref: '#/components/responses/Missing' points at nothing",
        ),
        (
            '{"openapi": "3.1.0", "info": {"title": "x"}, "paths": {"/a/{id}": {"get": '
            '{"responses": {"200": {"description": "ok"}}}}}}',
            "paths./a/{id}.get.parameters: path parameter 'id' not declared",
        ),
        (
            '{"openapi": "3.1.0", "info": {"title": "x"}, "paths": {"/a": {"get": {"responses": '
            '{"200": {"description": "ok", "content": {"application/json": {"schema": '
            '{"$ref": "other.yaml#/X"}}}}}}}}}',
            "paths./a.get.responses.200.content.application/json.schema.$ref: 'other.yaml#/X'",
        ),
    ],
)
def test_a_spec_that_cannot_be_served_names_the_place(text: str, place: str) -> None:
    with pytest.raises(SpecError) as caught:
        build_spec(parse_text(text, "mine.json"), "mine.json")
    assert f"mine.json: {place}" in str(caught.value)


def test_hostile_documents_are_refused_within_bounds() -> None:
    with pytest.raises(SpecError, match="nested more than"):
        parse_text("[" * 5000 + "]" * 5000, "deep.json")
    with pytest.raises(SpecError, match="nested more than"):
        parse_text("a: " + "[" * 5000, "deep.yaml")
    bomb = "a: &a [x, x, x]\nb: &b [*a, *a, *a]\n"
    with pytest.raises(SpecError, match="aliases are not accepted"):
        parse_text(bomb, "bomb.yaml")
    cycle = (
        '{"openapi": "3.0.3", "info": {"title": "x"}, "components": {"responses": '
        '{"A": {"$ref": "#/components/responses/A"}}}, "paths": {"/a": {"get": '
        '{"responses": {"200": {"$ref": "#/components/responses/A"}}}}}}'
    )
    with pytest.raises(SpecError, match="a cycle"):
        build_spec(parse_text(cycle, "cycle.json"), "cycle.json")


# -- the mock through the platforms ---------------------------------------------------


@pytest.fixture
async def own(tmp_path: Path) -> AsyncIterator[Any]:
    async with run_topology(own_topology(), tmp_path / "data") as running:
        yield running


async def test_mock_answers_through_the_lgsp_with_token_grants_audit_and_catalog(
    own: Any, client: httpx.AsyncClient
) -> None:
    lgsp = own.url(LGSP)
    topology = own.topology
    headers = await bearer(client, lgsp, topology, CALLER)
    base = f"{lgsp}/apiCuaToi/1.0"

    assert (await client.get(f"{base}/canBo")).status_code == 401  # a token, as for any service
    listing = await client.get(f"{base}/canBo", headers=headers)
    assert listing.status_code == 200, listing.text
    again = await client.get(f"{base}/canBo", headers=headers)
    assert again.json() == listing.json()  # deterministic per seed
    rows = listing.json()["duLieu"]
    assert rows and all(len(r["soCCCD"]) == 12 and r["soCCCD"].isdigit() for r in rows)
    assert all(r["maCanBo"].startswith("CB") for r in rows)  # generated from the pattern

    created = await client.post(
        f"{base}/canBo", json={"hoTen": "Trần Thị Bình", "soCCCD": "024190000001"}, headers=headers
    )
    assert created.status_code == 201  # the documented success, with its named example
    assert created.json()["maCanBo"] == "CB000123"

    wrong = await client.post(f"{base}/canBo", json={"soCCCD": "12"}, headers=headers)
    problem = assert_problem(wrong, 422, "validation-error")
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"$.body.hoTen", "$.body.soCCCD"}
    bad_query = await client.get(f"{base}/canBo", params={"trang": "0"}, headers=headers)
    assert {e["field"] for e in assert_problem(bad_query, 422, "validation-error")["errors"]} == {
        "$.query.trang"
    }

    conflict = await client.post(
        f"{base}/canBo",
        json={"hoTen": "Trần Thị Bình", "soCCCD": "024190000001"},
        headers={**headers, "Prefer": "code=409"},
    )
    assert conflict.status_code == 409
    assert conflict.json() == {"title": "Cán bộ đã có", "status": 409}
    named = await client.post(
        f"{base}/canBo",
        json={"hoTen": "A", "soCCCD": "024190000001"},
        headers={**headers, "Prefer": "example=khongCo"},
    )
    assert "daThem" in assert_problem(named, 404, "no-such-example")["detail"]
    missing = await client.get(f"{base}/canBo/CB000001", headers={**headers, "Prefer": "code=404"})
    assert missing.status_code == 404
    undocumented = await client.get(
        f"{base}/canBo/CB000001", headers={**headers, "Prefer": "code=500"}
    )
    assert "no 500 response" in assert_problem(undocumented, 404, "no-such-response")["detail"]

    catalog = await client.get(f"{lgsp}/catalog", headers=headers)
    entry = next(s for s in catalog.json()["services"] if s["code"] == "apiCuaToi")
    document = await client.get(f"{lgsp}{entry['openapi']}", headers=headers)
    assert document.json()["info"]["title"] == "Hệ thống quản lý hồ sơ cán bộ (mẫu)"
    report = (await client.get(f"{lgsp}/topology")).json()
    assert "apiCuaToi" in json.dumps(report)

    records = await audit_records(client, lgsp, topology, LGSP, service="apiCuaToi")
    assert {r.status for r in records} >= {200, 201, 409, 422}


async def test_a_national_own_service_is_reached_from_the_province_through_ngsp(
    own: Any, client: httpx.AsyncClient
) -> None:
    lgsp = own.url(LGSP)
    headers = await bearer(client, lgsp, own.topology, CALLER)
    answer = await client.get(f"{lgsp}/apiDonViQG/2.0/donVi/000.00.12.H04", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["maDonVi"] == "000.00.12.H04"  # the schema's examples come first
    assert body["dienThoai"].startswith("0") and len(body["dienThoai"]) == 10
    wrong = await client.get(f"{lgsp}/apiDonViQG/2.0/donVi/H04", headers=headers)
    assert [e["field"] for e in assert_problem(wrong, 422, "validation-error")["errors"]] == [
        "$.path.maDonVi"
    ]
    at_ngsp = await audit_records(client, own.url("ngsp"), own.topology, "ngsp")
    assert any(r.service == "apiDonViQG" for r in at_ngsp)


def test_with_own_service_says_what_is_wrong() -> None:
    with pytest.raises(OwnServiceError, match="reserved"):
        with_own_service(bare_topology(), code="token", openapi=SPEC_30)
    with pytest.raises(OwnServiceError, match="exactly one"):
        with_own_service(bare_topology(), code="apiX", openapi=SPEC_30, replay=SPEC_30)


# -- record, replay, drift ------------------------------------------------------------


@pytest.fixture
async def real_population(tmp_path: Path) -> AsyncIterator[str]:
    """A sandbox back end standing in for a real upstream (the population database)."""
    config = BackendConfig(name="real", app="population", data_dir=tmp_path)
    host = NodeHost(lambda _node: load_factory("population")(config))
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    await host.start("real", port, sock)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await host.stop_all()
        sock.close()


async def _calls(
    client: httpx.AsyncClient, base: str, headers: dict[str, str], cccd: str
) -> list[httpx.Response]:
    return [
        await client.get(f"{base}/congDan", params={"soDinhDanh": cccd}, headers=headers),
        await client.post(
            f"{base}/xacThucCongDan",
            json={"soDinhDanh": cccd, "hoTen": "Nguyễn Văn A", "ngaySinh": "1990-01-15"},
            headers=headers,
        ),
    ]


async def test_record_replay_and_a_planted_drift(
    real_population: str, tmp_path: Path, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cassette_path = tmp_path / "cassettes" / "apiDanCu-1.0.yaml"
    cccd = citizens(2022, 1)[0].so_dinh_danh
    monkeypatch.setenv("GSP_RECORD_AUTHORIZATION", "Bearer upstream-secret-value")
    recording = with_own_service(
        bare_topology(), code="apiDanCu", record=(real_population, cassette_path)
    )
    async with run_topology(recording, tmp_path / "rec") as running:
        lgsp = running.url(LGSP)
        headers = await bearer(client, lgsp, recording, CALLER)
        headers["Cookie"] = "JSESSIONID=abc123"
        recorded = await _calls(client, f"{lgsp}/apiDanCu/1.0", headers, cccd)
    assert [r.status_code for r in recorded] == [200, 200], recorded[1].text

    text = cassette_path.read_text(encoding="utf-8")
    for secret in ("upstream-secret-value", "Bearer", "JSESSIONID", cccd):
        assert secret not in text
    cassette = load_cassette(cassette_path)
    assert [i["request"]["method"] for i in cassette["interactions"]] == ["GET", "POST"]
    assert cassette["interactions"][0]["request"]["query"] == [["soDinhDanh", "*" * 12]]

    replaying = with_own_service(bare_topology(), code="apiDanCu", replay=cassette_path)
    async with run_topology(replaying, tmp_path / "replay") as running:
        lgsp = running.url(LGSP)
        headers = await bearer(client, lgsp, replaying, CALLER)
        replayed = await _calls(client, f"{lgsp}/apiDanCu/1.0", headers, cccd)
        assert [r.status_code for r in replayed] == [200, 200]
        # What was recorded, people's numbers masked as the cassette holds them.
        assert replayed[1].json() == cassette["interactions"][1]["response"]["body"]
        assert replayed[1].json() == {**recorded[1].json(), "soDinhDanh": "*" * 12}
        miss = await client.get(
            f"{lgsp}/apiDanCu/1.0/congDan", params={"soDinhDanh": cccd, "x": "1"}, headers=headers
        )
        problem = assert_problem(miss, 404, "no-recorded-exchange")
        assert "Closest: interactions[0]" in problem["detail"]
        assert problem["near_miss"]["differences"][0].startswith("query:")

    contract = contract_spec(
        cassette, spec_file=None, contract="vn.gov.csdldc.population", version="1.0", topology=""
    )
    assert check(cassette, contract) == []
    # The real system starts sending a field the contract does not know, and a number as text.
    body = cassette["interactions"][1]["response"]["body"]
    body["truongMoi"] = "giá trị"
    key = next(k for k, v in body.items() if isinstance(v, bool))
    body[key] = "true"
    write_cassette(cassette_path, cassette)
    drifts = check(load_cassette(cassette_path), contract)
    assert {(d.where, d.kind) for d in drifts} == {
        ("$.response.body.truongMoi", "unknown-field"),
        (f"$.response.body.{key}", "type"),
    }
    assert (
        main(["check-cassette", str(cassette_path), "--contract", "vn.gov.csdldc.population"]) == 1
    )


def test_the_pytest_plugin_runs_an_own_service(tmp_path: Path) -> None:
    topology = with_own_service(bare_topology(), code="apiCuaToi", openapi=SPEC_30)
    with start_sandbox(topology, tmp_path) as sandbox:
        token = sandbox.token()
        answer = httpx.get(
            f"{sandbox.lgsp_url}/apiCuaToi/1.0/canBo/CB000001",
            headers={"Authorization": f"Bearer {token}"},
            trust_env=False,
        )
        assert answer.status_code == 200
        assert answer.json()["soCCCD"].isdigit()


def test_cli_refuses_a_spec_it_cannot_serve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("openapi: 3.0.3\ninfo: {title: x}\npaths: {/a: {get: {}}}\n", encoding="utf-8")
    assert main(["mock", str(bad), "--code", "apiCuaToi", "--data-dir", str(tmp_path)]) == 2
    assert "paths./a.get.responses: at least one response expected" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("interactions: [{request: {method: GET}}]\n", encoding="utf-8")
    assert main(["replay", str(broken), "--code", "apiX", "--data-dir", str(tmp_path)]) == 2
    assert "interactions[0].request: method and path" in capsys.readouterr().err
