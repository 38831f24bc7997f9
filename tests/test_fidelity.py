"""The fidelity ledger: every operation says where its shape comes from, everywhere it shows."""

from __future__ import annotations

import httpx
import pytest

from contracts.fidelity import Fidelity
from contracts.openapi_store import load_document
from contracts.platform import CatalogEntry
from contracts.registry import contracts
from contracts.topology import Tier, Topology
from sandbox.export.contracts import FIDELITY_TABLE, fidelity_table
from sandbox.testing.harness import RunningTopology
from tests.helpers import bearer

LGSP, MOTCUA = "lgsp-bac-giang", "motcua-bac-giang"


def test_every_operation_of_every_contract_has_its_fidelity() -> None:
    for ref in contracts().values():
        document = load_document(ref.id, ref.version)
        assert document is not None, ref.id
        for path, item in document["paths"].items():
            for method, operation in item.items():
                entry = Fidelity.model_validate(
                    {
                        **operation["x-sandbox-fidelity"],
                        "sources": tuple(operation["x-sandbox-fidelity"]["sources"]),
                    }
                )
                where = f"{ref.id} {method.upper()} {path}"
                if entry.status == "unverified":
                    assert entry.note, where
                else:
                    assert entry.sources, f"{where}: {entry.status} names no source"


def test_the_docs_table_is_generated_from_the_contracts() -> None:
    assert FIDELITY_TABLE.read_text(encoding="utf-8") == fidelity_table(), (
        "run: gsp-sandbox contracts fidelity"
    )
    table = fidelity_table()
    operations = sum(
        len(item)
        for ref in contracts().values()
        for item in (load_document(ref.id, ref.version) or {}).get("paths", {}).values()
    )
    assert table.count("\n| `vn.") == operations
    assert "| `vn.gov.csdldkdn.business-registration` | `GET /danhSachHoSo` | verified |" in table


def test_a_ledger_that_misses_an_operation_is_an_error() -> None:
    from fastapi import FastAPI

    from contracts.fidelity import unverified
    from contracts.registry import ContractRef
    from services.common.fidelity import annotate_fidelity

    app = FastAPI()

    @app.get("/a")
    async def a() -> dict[str, str]:
        return {}

    ref = ContractRef("x", "1.0", "x", fidelity={"GET /b": unverified()})
    document = app.openapi()
    try:
        annotate_fidelity(document, ref)
    except ValueError as exc:
        assert "without an entry: GET /a" in str(exc) and "for no operation: GET /b" in str(exc)
    else:
        raise AssertionError("a ledger missing GET /a was accepted")


def test_catalog_entry_carries_the_ledger() -> None:
    entry = CatalogEntry(
        code="apiCSDLDKDN",
        version="1.0",
        title="t",
        owner="000.00.00.G07",
        owner_name="o",
        tier=Tier.NATIONAL,
        path="/apiCSDLDKDN/1.0",
        healthy=True,
        contract="vn.gov.csdldkdn.business-registration",
        contract_version="1.0",
        openapi=None,
    )
    statuses = {f.operation: f.status for f in entry.fidelity}
    assert statuses["GET /tinhTrangHoSo"] == "verified"
    assert statuses["GET /chiTietDoanhNghiep"] == "partial"


@pytest.mark.sockets
async def test_the_platform_catalog_shows_each_operations_fidelity(
    sandbox: RunningTopology, topology_2022: Topology, client: httpx.AsyncClient
) -> None:
    lgsp = sandbox.url(LGSP)
    headers = await bearer(client, lgsp, topology_2022, MOTCUA)
    catalog = (await client.get(f"{lgsp}/catalog", headers=headers)).json()
    by_code = {s["code"]: s for s in catalog["services"]}
    social = {f["operation"]: f for f in by_code["apiBHXH"]["fidelity"]}
    assert social["POST /getTraCuuThongTinHgd"]["status"] == "verified"
    assert "Dịch vụ bảo hiểm xã hội" in social["POST /getTraCuuThongTinHgd"]["sources"][0]
    assert all(f["status"] == "unverified" for f in by_code["apiThue"]["fidelity"])
    document = (
        await client.get(f"{lgsp}{by_code['apiHoTichTuPhap']['openapi']}", headers=headers)
    ).json()
    operation = document["paths"]["/dangKyHoTich"]["post"]
    assert operation["x-sandbox-fidelity"]["status"] == "partial"


def test_every_provincial_variant_of_the_topology_names_its_source_in_the_ledger() -> None:
    from contracts.fidelity import PLATFORM_VARIANTS
    from contracts.topology import Platform

    options = {"unversioned_paths", "lgsp_access_token", "context_aliases"}
    assert set(PLATFORM_VARIANTS) == options
    assert options <= set(Platform.model_fields)
    for name, entry in PLATFORM_VARIANTS.items():
        assert entry.status == "unverified" or entry.sources, name


def test_every_leniency_of_the_document_endpoints_names_its_source_in_the_ledger() -> None:
    from contracts.fidelity import DOCUMENT_LENIENCY

    assert {
        "undeclared prefix",
        "trace entries of earlier organs",
        "system id as sender",
        "every kind as messagetype edoc",
        "24-hex document ids",
    } <= set(DOCUMENT_LENIENCY)
    table = fidelity_table()
    for name, entry in DOCUMENT_LENIENCY.items():
        assert entry.sources and entry.note, name
        assert f"| {name} | {entry.status} |" in table
