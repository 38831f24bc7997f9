"""The agency's own services: a mock from its OpenAPI, record, replay and drift (issue 26).

Everything runs through the real platforms on real sockets: the LGSP (token, grants, audit,
catalog, the contract check at the hop) and, for a national service, NGSP behind it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import ValidationError

from contracts.cassette import (
    MAX_CASSETTE_BYTES,
    CassetteError,
    kept_headers,
    load_cassette,
    load_rules,
    mask_value,
    write_cassette,
)
from contracts.openapi_store import load_document
from contracts.own_spec import SpecError, build_spec, load_spec, parse_text
from contracts.registry import contracts
from contracts.topology import Topology
from gateway.settings import GatewaySettings
from sandbox.cli import main
from sandbox.runtime.hosting import NodeHost, bind_socket
from sandbox.testing.cassette_check import check, contract_spec
from sandbox.testing.harness import fast_settings, run_topology
from sandbox.testing.pytest_plugin import start_sandbox
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import SHIPPED_DIR, load_topology
from sandbox.topology.own_services import OwnServiceError, with_own_service, write_topology
from sandbox.topology.specs import platform_spec
from services.catalog import load_factory
from services.common.config import BackendConfig
from services.common.sampledata import citizens
from tests.helpers import assert_problem, audit_records, bearer
from tests.test_launcher import _free_offset

pytestmark = pytest.mark.processes

DATA = Path(__file__).parent / "data" / "own"
SPEC_30 = DATA / "cua-toi-3.0.yaml"
SPEC_31 = DATA / "quoc-gia-3.1.json"
LGSP = "lgsp-bac-giang"
CALLER = "motcua-bac-giang"  # granted every service ("*")


def _patient(data_dir: Path) -> GatewaySettings:
    """The harness's fast health checks, with room for a loaded machine: a recorded call
    makes a second call of its own, in the same process as every node."""
    return fast_settings(data_dir).model_copy(
        update={"connect_timeout_seconds": 5.0, "upstream_timeout_seconds": 30.0}
    )


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


def test_every_committed_contract_reads_as_a_document_check_cassette_can_hold_to() -> None:
    for ref in contracts().values():
        document = load_document(ref.id, ref.version)
        assert document is not None
        assert build_spec(document, ref.id).operations, ref.id


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
        (
            '{"openapi": "3.1.0", "info": {"title": "x"}, "paths": {"/a": {"get": {"responses": '
            '{"200": {"description": "ok", "content": {"application/json": {"schema": '
            '{"type": "string", "pattern": "[0-9"}}}}}}}}}',
            "paths./a.get.responses.200.content.application/json.schema.pattern: not a regular",
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
    async with run_topology(
        own_topology(), tmp_path / "data", settings=_patient(tmp_path / "data")
    ) as running:
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
    by_query = await client.get(f"{base}/canBo/CB000001", params={"__code": "404"}, headers=headers)
    assert by_query.status_code == 404
    dynamic = await client.post(
        f"{base}/canBo",
        json={"hoTen": "A", "soCCCD": "024190000001"},
        headers={**headers, "Prefer": "dynamic=true"},
    )
    assert dynamic.status_code == 201 and dynamic.json()["maCanBo"] != "CB000123"
    undocumented = await client.get(
        f"{base}/canBo/CB000001", headers={**headers, "Prefer": "code=500"}
    )
    assert "no 500 response" in assert_problem(undocumented, 404, "no-such-response")["detail"]

    busy = await client.get(
        f"{base}/canBo", headers={**headers, "X-Sandbox-Scenario": "service-busy"}
    )
    assert busy.status_code == 503  # the shared scenarios act on the document's operations

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


def test_replace_puts_a_recording_in_place_of_a_sample_national_database(tmp_path: Path) -> None:
    shipped = load_topology("bac-giang-2022")
    with pytest.raises(OwnServiceError, match=r"apiCSDLDC/1.0 is already a service .* \(at ngsp\)"):
        with_own_service(shipped, code="apiCSDLDC", replay=tmp_path / "c.yaml")
    replaced = with_own_service(shipped, code="apiCSDLDC", replay=tmp_path / "c.yaml", replace=True)
    service = next(s for s in replaced.services if s.code == "apiCSDLDC")
    assert (service.platform, service.backend) == ("ngsp", "own-apicsdldc")
    assert replaced.backends["own-apicsdldc"].app == "replay"
    assert replaced.platforms[LGSP].national_services.count("apiCSDLDC") == 1
    relay = next(c for c in replaced.consumers if c.id == "lgsp-bac-giang")
    assert relay.grants.count("apiCSDLDC") == 1
    assert len(replaced.services) == len(shipped.services)


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
    async with run_topology(
        recording, tmp_path / "rec", settings=_patient(tmp_path / "rec")
    ) as running:
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

    # Replayed as the national service it stands for: the province reaches it through NGSP.
    replaying = with_own_service(
        bare_topology(), code="apiDanCu", platform="ngsp", replay=cassette_path
    )
    async with run_topology(
        replaying, tmp_path / "replay", settings=_patient(tmp_path / "replay")
    ) as running:
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
        at_ngsp = await audit_records(client, running.url("ngsp"), replaying, "ngsp")
        assert {r.status for r in at_ngsp if r.service == "apiDanCu"} == {200, 404}

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
    upstream = ["--upstream", "ftp://x", "--code", "apiX", "--data-dir", str(tmp_path)]
    assert main(["record", *upstream]) == 2
    assert "an http(s) URL with a host expected" in capsys.readouterr().err


# -- the commands, as a user runs them -----------------------------------------------


class _Running:
    """A `gsp-sandbox mock|record|replay` process, read until it says it is ready."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "COLUMNS": "240", "NO_COLOR": "1"},
        )
        assert self.process.stdout is not None
        seen = []
        for line in self.process.stdout:
            seen.append(line)
            if "Ctrl-C stops everything" in line:
                return
        self.process.wait(timeout=10)
        pytest.fail("".join(seen))

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.communicate(timeout=60)


def test_mock_record_and_check_cassette_from_the_command_line(tmp_path: Path) -> None:
    bare = bare_topology()
    base_file = write_topology(bare, tmp_path / "bare.yaml")
    offset = _free_offset(with_own_service(bare, code="apiCuaToi", openapi=SPEC_30))
    lgsp = f"http://127.0.0.1:{bare.platforms[LGSP].port + offset}"
    mocked = _Running(
        *("mock", str(SPEC_30), "--code", "apiCuaToi", "--topology", str(base_file)),
        *("--data-dir", str(tmp_path / "mock"), "--port-offset", str(offset)),
    )
    try:
        consumer = next(c for c in bare.consumers if c.id == CALLER)
        auth = (consumer.client_id, consumer.client_secret)
        token = httpx.post(
            f"{lgsp}/token", data={"grant_type": "client_credentials"}, auth=auth, trust_env=False
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        answer = httpx.get(f"{lgsp}/apiCuaToi/1.0/canBo/CB000001", headers=headers, trust_env=False)
        assert answer.status_code == 200, answer.text

        # Record the mock's own back end as if it were the real system, beside it.
        mock_node = (
            max(
                [p.port for p in bare.platforms.values()] + [b.port for b in bare.backends.values()]
            )
            + 1
        )
        upstream = f"http://127.0.0.1:{mock_node + offset}"
        other = _free_offset(with_own_service(bare, code="apiGhiLai", openapi=SPEC_30))
        cassette = tmp_path / "cassettes" / "apiGhiLai-1.0.json"
        recording = _Running(
            *("record", "--upstream", upstream, "--code", "apiGhiLai", "--cassette", str(cassette)),
            *("--topology", str(base_file), "--data-dir", str(tmp_path / "rec")),
            *("--port-offset", str(other)),
        )
        try:
            lgsp2 = f"http://127.0.0.1:{bare.platforms[LGSP].port + other}"
            token2 = httpx.post(
                f"{lgsp2}/token",
                data={"grant_type": "client_credentials"},
                auth=auth,
                trust_env=False,
            ).json()["access_token"]
            through = httpx.get(
                f"{lgsp2}/apiGhiLai/1.0/canBo/CB000001",
                headers={"Authorization": f"Bearer {token2}"},
                trust_env=False,
            )
            assert through.json() == answer.json()
        finally:
            recording.stop()
    finally:
        mocked.stop()
    recorded = json.loads(cassette.read_text(encoding="utf-8"))
    assert recorded["service"] == "apiGhiLai"
    assert recorded["interactions"][0]["response"]["body"]["soCCCD"] == "*" * 12
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox.cli",
            "check-cassette",
            str(cassette),
            "--spec",
            str(SPEC_30),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 exchange(s)" in checked.stdout and "no drift" in checked.stdout


def test_a_topology_file_names_its_own_spec_and_cassette_relative_to_itself(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "specs").mkdir()
    (folder / "specs" / "api.yaml").write_text(
        SPEC_30.read_text(encoding="utf-8"), encoding="utf-8"
    )
    write_cassette(
        folder / "replay.yaml", {"service": "apiGhi", "version": "1.0", "interactions": []}
    )
    raw = bare_topology().model_dump(mode="json", exclude_none=True)
    raw["backends"] = {
        "cua-toi": {"openapi": "specs/api.yaml", "port": 18601},
        "ghi-lai": {"replay": "replay.yaml", "port": 18602, "params": {"match": "method,path"}},
    }
    for code, node in (("apiCuaToi", "cua-toi"), ("apiGhi", "ghi-lai")):
        raw["services"].append(
            {
                "code": code,
                "title": code,
                "owner": "000.00.12.H04",
                "tier": "provincial",
                "platform": LGSP,
                "backend": node,
            }
        )
    (folder / "topology.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    topology = load_topology(folder / "topology.yaml")
    mine = topology.backends["cua-toi"]
    assert (mine.app, mine.params["spec"]) == ("openapi", str(folder / "specs" / "api.yaml"))
    replayed = topology.backends["ghi-lai"]
    assert replayed.app == "replay" and replayed.params["match"] == "method,path"
    assert replayed.params["cassette"] == str(folder / "replay.yaml")
    routes = {r.code: r for r in platform_spec(topology, LGSP, AddressBook(topology)).routes}
    assert routes["apiCuaToi"].contract_file == str(folder / "specs" / "api.yaml")
    assert routes["apiGhi"].contract is None  # a replay has no contract unless one is named
    raw["backends"]["cua-toi"] = {"port": 18601}
    with pytest.raises(ValidationError, match="give 'app'"):
        Topology.model_validate(raw)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("interactions: " + "[" * 200 + "]" * 200, "nested more than"),
        ("service: x\n", "(top level): a mapping with a list of interactions"),
        (
            "interactions: [{request: {method: GET, path: /a}, response: {status: 700}}]",
            "interactions[0].response.status",
        ),
        (
            "interactions: [{request: {method: GET, path: /a}, response: {status: 200, "
            'headers: {"x-a": "1\\r\\nSet-Cookie: a=b"}}}]',
            "interactions[0].response.headers",
        ),
        ("a: &x [1]\nb: *x\n", "aliases are not accepted"),
    ],
)
def test_a_hostile_cassette_is_refused_naming_the_place(
    tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CassetteError) as caught:
        load_cassette(path)
    assert says in str(caught.value) and str(path) in str(caught.value)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_CASSETTE_BYTES + 1))
    with pytest.raises(CassetteError, match="larger than"):
        load_cassette(big)


async def test_a_call_recorded_several_times_is_replayed_in_order(tmp_path: Path) -> None:
    def exchange(status: int) -> dict[str, Any]:
        return {
            "request": {"method": "GET", "path": "/trangThai", "query": [["maHoSo", "HS1"]]},
            "response": {"status": 200, "body": {"trangThai": status}},
        }

    cassette = tmp_path / "c.yaml"
    write_cassette(cassette, {"interactions": [exchange(1), exchange(3), exchange(4)]})
    config = BackendConfig(
        name="r", app="replay", data_dir=tmp_path, params={"cassette": str(cassette)}
    )
    app = load_factory("replay")(config)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://replay") as replay:
        seen = [
            (await replay.get("/trangThai", params={"maHoSo": "HS1"})).json()["trangThai"]
            for _ in range(4)
        ]
    assert seen == [1, 3, 4, 4]


def test_masking_rules_blank_secrets_and_mask_numbers_of_people(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("- {name: ma-ho-so, pattern: 'HS-\\d{6}'}\n", encoding="utf-8")
    rules = load_rules(rules_file)
    masked = mask_value(
        {
            "soDinhDanh": "024090012345",
            "ghiChu": "CCCD 024090012345, hồ sơ HS-123456",
            "maSoBhxh": "2412345678",
            "soDienThoai": "0912345678",
            "msdn": "0100109106",  # an enterprise code stays: not a person's number
            "client_secret": "abc",
            "access_token": "xyz",
        },
        rules,
    )
    assert masked == {
        "soDinhDanh": "*" * 12,
        "ghiChu": "CCCD ************, hồ sơ *********",
        "maSoBhxh": "*" * 10,
        "soDienThoai": "*" * 10,
        "msdn": "0100109106",
        "client_secret": "[secret removed]",
        "access_token": "[secret removed]",
    }
    headers = kept_headers(
        [
            ("Authorization", "Bearer x"),
            ("Content-Type", "application/json"),
            ("XroadVnpt-hash-header", "ab12"),
            ("Cookie", "a=b"),
        ],
        frozenset({"content-type", "authorization", "xroadvnpt-hash-header", "cookie"}),
    )
    assert headers == {"content-type": "application/json"}  # whatever a list says
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {name: x, pattern: '[0-9'}\n", encoding="utf-8")
    with pytest.raises(CassetteError, match=r"\[0\]\.pattern: not a regular expression"):
        load_rules(bad)


async def test_record_from_a_staging_lgsp_with_its_own_token(
    tmp_path: Path, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real use: a staging LGSP (here a second sandbox) that wants its own WSO2 token."""
    staging = with_own_service(bare_topology(), code="apiCuaToi", openapi=SPEC_30)
    async with run_topology(
        staging, tmp_path / "staging", settings=_patient(tmp_path / "staging")
    ) as remote:
        staging_lgsp = remote.url(LGSP)
        consumer = next(c for c in staging.consumers if c.id == CALLER)
        monkeypatch.setenv("GSP_RECORD_TOKEN_URL", f"{staging_lgsp}/token")
        monkeypatch.setenv("GSP_RECORD_CLIENT_ID", consumer.client_id)
        monkeypatch.setenv("GSP_RECORD_CLIENT_SECRET", consumer.client_secret)
        cassette_path = tmp_path / "apiCuaToi-1.0.json"
        local = with_own_service(
            bare_topology(),
            code="apiCuaToi",
            record=(f"{staging_lgsp}/apiCuaToi/1.0", cassette_path),
        )
        async with run_topology(
            local, tmp_path / "local", settings=_patient(tmp_path / "local")
        ) as running:
            lgsp = running.url(LGSP)
            headers = await bearer(client, lgsp, local, CALLER)
            direct = await client.get(
                f"{staging_lgsp}/apiCuaToi/1.0/canBo/CB000001",
                headers=await bearer(client, staging_lgsp, staging, CALLER),
            )
            through = await client.get(f"{lgsp}/apiCuaToi/1.0/canBo/CB000001", headers=headers)
            assert through.status_code == 200, through.text
            assert through.json() == direct.json()
    text = cassette_path.read_text(encoding="utf-8")
    assert consumer.client_secret not in text and "Bearer" not in text
    cassette = load_cassette(cassette_path)
    assert cassette["upstream"] == f"{staging_lgsp}/apiCuaToi/1.0"
    assert cassette["interactions"][0]["response"]["body"]["soCCCD"] == "*" * 12


def test_the_plugin_fixture_serves_a_topology_file_with_an_openapi_back_end(
    pytester: pytest.Pytester,
) -> None:
    """As an agency suite meets it: its own file, `backend: {openapi: …}`, `--gsp-topology`."""
    (pytester.path / "specs").mkdir()
    (pytester.path / "specs" / "can-bo.yaml").write_text(
        SPEC_30.read_text(encoding="utf-8"), encoding="utf-8"
    )
    raw = bare_topology().model_dump(mode="json", exclude_none=True)
    raw["name"] = "agency-own"
    raw["backends"] = {"can-bo": {"openapi": "specs/can-bo.yaml", "port": 18601}}
    raw["services"] = [
        {
            "code": "apiCuaToi",
            "title": "Hồ sơ cán bộ",
            "owner": "000.00.01.H04",
            "tier": "provincial",
            "platform": LGSP,
            "backend": "can-bo",
        }
    ]
    (pytester.path / "agency.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    pytester.makepyfile(
        test_agency="""
import httpx


def test_my_client_against_our_own_api(gsp_sandbox):
    token = gsp_sandbox.token()
    base = f"{gsp_sandbox.lgsp_url}/apiCuaToi/1.0"
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{base}/canBo", headers=auth, trust_env=False).status_code == 200
    wrong = httpx.post(f"{base}/canBo", json={}, headers=auth, trust_env=False)
    assert wrong.status_code == 422
    assert {e["field"] for e in wrong.json()["errors"]} == {"$.body.hoTen", "$.body.soCCCD"}
"""
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-q", "--gsp-topology", str(pytester.path / "agency.yaml")
    )
    result.assert_outcomes(passed=1)
