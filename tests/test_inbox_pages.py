"""An inbox page is bounded in bytes as well as in count: a receiver cannot be handed (and a
platform cannot load) a hundred 8 MiB packages in one answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sandbox.testing.harness import RunningTopology, run_topology
from tests.document_topology import BG_NOIVU, delivery_settings, document_topology
from tests.test_documents import LGSP, headers_for, package, send

pytestmark = pytest.mark.sockets

PAGE_BYTES = 20_000
DOCUMENTS = 5


@pytest.fixture
async def docs(tmp_path: Path) -> AsyncIterator[RunningTopology]:
    settings = delivery_settings(tmp_path, inbox_page_max_bytes=PAGE_BYTES)
    async with run_topology(document_topology(), tmp_path, settings=settings) as running:
        yield running


async def test_pages_stop_at_the_byte_bound_and_the_cursor_reaches_every_document(
    docs: RunningTopology, client: httpx.AsyncClient
) -> None:
    sent = []
    for i in range(DOCUMENTS):  # four 2 KiB attachments each: over 10 KB as a package
        response = await send(client, docs, package([BG_NOIVU], f"page-{i}", attachments=4))
        assert response.status_code == 202, response.text
        sent.append(response.json()["id"])
    noivu = await headers_for(client, docs, "noivu-bac-giang")
    seen: list[str] = []
    cursor: str | None = "0"
    pages = 0
    while cursor is not None:
        page = await client.get(
            f"{docs.url(LGSP)}/documents/inbox",
            params={"cursor": cursor, "limit": 100},
            headers=noivu,
        )
        assert page.status_code == 200, page.text
        found = page.json()["documents"]
        assert found, "a page with more behind it is never empty"
        assert len(page.content) < PAGE_BYTES * 2  # bounded, not DOCUMENTS packages at once
        seen += [d["id"] for d in found]
        cursor = page.json()["next_cursor"]
        pages += 1
    assert seen == sent  # every one, once, in order
    assert pages == DOCUMENTS  # one package per page fits this bound
