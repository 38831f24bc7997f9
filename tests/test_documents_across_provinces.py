"""The sender is told the truth across provinces: one state machine whatever the path.

Within a province a document for a pull receiver reads `awaiting-pickup` as soon as it is in
the receiver's inbox; from Bắc Giang to Bình Định's Department of Home Affairs (an inbox at
the other province's LGSP, through NGSP) it read `pending` while the trail already said it
was in that inbox. Here on the `vietnam` preset, only the three platforms on the path run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from contracts.edxml import DocumentView
from sandbox.testing.harness import RunningTopology, run_topology
from sandbox.topology.loading import load_topology
from tests.document_topology import delivery_settings
from tests.helpers import bearer
from tests.test_documents import package

pytestmark = pytest.mark.sockets

BAC_GIANG = "lgsp-bac-giang"
BINH_DINH = "lgsp-binh-dinh"
BD_NOIVU = "000.00.05.H09"  # Sở Nội vụ tỉnh Bình Định: a pull inbox at lgsp-binh-dinh


@pytest.fixture(scope="module")
async def country(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningTopology]:
    data: Path = tmp_path_factory.mktemp("vietnam")
    topology = load_topology("vietnam")
    nodes = ["ngsp", BAC_GIANG, BINH_DINH]
    # The national back ends do not run: documents need none of them (no health wait).
    async with run_topology(
        topology, data, settings=delivery_settings(data), nodes=nodes, wait=False
    ) as run:
        yield run


async def _view(
    client: httpx.AsyncClient, run: RunningTopology, doc_id: str, platform: str, consumer: str
) -> DocumentView:
    headers = await bearer(client, run.url(platform), run.topology, consumer)
    response = await client.get(f"{run.url(platform)}/documents/{doc_id}", headers=headers)
    assert response.status_code == 200, response.text
    return DocumentView.model_validate(response.json())


async def _until_state(
    client: httpx.AsyncClient, run: RunningTopology, doc_id: str, state: str
) -> DocumentView:
    while True:  # bounded by the test's own timeout: the condition is the thing tested
        view = await _view(client, run, doc_id, BAC_GIANG, "qlvb-bac-giang")
        [receiver] = view.receivers
        if receiver.state == state:
            return view
        await asyncio.sleep(0.05)


async def test_a_document_in_another_provinces_inbox_reads_awaiting_pickup_then_taken(
    country: RunningTopology, client: httpx.AsyncClient
) -> None:
    sender = await bearer(client, country.url(BAC_GIANG), country.topology, "qlvb-bac-giang")
    sent = await client.post(
        f"{country.url(BAC_GIANG)}/documents",
        json=package([BD_NOIVU], "across-provinces-inbox"),
        headers=sender,
    )
    assert sent.status_code == 202, sent.text
    doc_id = sent.json()["id"]
    assert sent.json()["receivers"][0]["state"] == "pending"  # on its way to Bình Định

    # In Bình Định's inbox: the sender reads it as a sender in Bình Định would.
    view = await asyncio.wait_for(_until_state(client, country, doc_id, "awaiting-pickup"), 30)
    assert (BINH_DINH, "accepted", BD_NOIVU) in [
        (e.platform, e.event, e.receiver) for e in view.trail
    ]
    local = await _view(client, country, doc_id, BINH_DINH, "noivu-binh-dinh")
    assert [r.state for r in local.receivers] == ["awaiting-pickup"]

    # Taken (01): the same state on both sides.
    noivu = await bearer(client, country.url(BINH_DINH), country.topology, "noivu-binh-dinh")
    ack = await client.post(f"{country.url(BINH_DINH)}/documents/{doc_id}/ack", headers=noivu)
    assert ack.status_code == 200, ack.text
    view = await asyncio.wait_for(_until_state(client, country, doc_id, "delivered"), 30)
    assert view.receivers[0].statusCode == "01"
