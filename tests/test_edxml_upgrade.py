"""A store written by a sandbox before edXML 2.0 stays readable after the upgrade."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from contracts.edxml import DocumentPackage, MessageKind
from contracts.edxml.legacy import upgrade
from gateway.documents.store import DocumentStore

OLD_NEW: dict[str, Any] = {
    "kind": "new",
    "from": {"organId": "000.00.01.H04", "organName": "Văn phòng UBND tỉnh Bắc Giang"},
    "to": [{"organId": "000.00.12.H04", "organName": "Sở TT&TT"}],
    "code": {"codeNumber": "7", "codeNotation": "UBND-VP"},
    "promulgationInfo": {"place": "Bắc Giang", "promulgationDate": "2026-11-20"},
    "documentType": {"type": 1, "typeName": "Công văn"},
    "subject": "Về việc thử nghiệm",
    "content": "",
    "signerInfo": {"competence": "", "position": "Chánh Văn phòng", "fullName": "Trần Thị Bình"},
    "dueDate": "2026-12-01",
    "priority": 2,
    "pages": 3,
    "idempotencyKey": "k-7",
    "attachments": [
        {
            "contentId": "att-0",
            "contentType": "application/pdf",
            "attachmentName": "a.pdf",
            "description": "",
            "value": "aGVsbG8=",
        }
    ],
    "traceHeaderList": [
        {
            "organId": "000.00.12.H04",
            "platform": "lgsp-bac-giang",
            "timestamp": "2026-11-20T01:00:00Z",
        }
    ],
}
OLD_REVOCATION = {
    **OLD_NEW,
    "kind": "revocation",
    "relatedDocument": "doc-old-0001",
    "attachments": [],
}


def _insert(path: Path, doc_id: str, package: dict[str, Any], related: str | None) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO documents (id, message_id, idempotency_key, package_hash, "
            "sender_consumer, sender_agency, origin_platform, previous_hop, kind, related, "
            "edxml_id, package, created) VALUES (?, 'm', ?, 'h', 'qlvb', '000.00.01.H04', "
            "'lgsp-bac-giang', NULL, ?, ?, '000.00.01.H04,2026/11/20,7/UBND-VP', ?, ?)",
            (doc_id, doc_id, package["kind"], related, json.dumps(package), time.time()),
        )
        db.execute("PRAGMA user_version = 0")


async def test_packages_stored_before_edxml_2_are_upgraded_once_when_the_store_opens(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lgsp.documents.sqlite3"
    store = DocumentStore(path, "lgsp-bac-giang")
    await store.open()
    await store.close()
    _insert(path, "doc-old-0001", OLD_NEW, None)
    _insert(path, "doc-old-0002", OLD_REVOCATION, "doc-old-0001")

    store = DocumentStore(path, "lgsp-bac-giang")
    await store.open()
    try:
        first = await store.get("doc-old-0001")
        revocation = await store.get("doc-old-0002")
    finally:
        await store.close()
    assert first is not None and revocation is not None
    package = first.package
    assert package.documentId == "000.00.01.H04,2026/11/20,7/UBND-VP"
    assert (package.otherInfo.priority, package.otherInfo.pageAmount) == (2, 3)
    assert package.dueDate is not None and package.dueDate.isoformat() == "2026-12-01"
    assert package.attachments[0].content() == b"hello"
    # 01:00 UTC is 08:00 in Vietnam, the local time edXML writes
    assert package.traceHeaderList[0].timestamp == datetime(2026, 11, 20, 8, 0)
    assert revocation.package.kind is MessageKind.REVOCATION
    # the revocation now names the document by its edXML DocumentId, as the standard does
    assert revocation.package.bussiness.documentId == package.documentId
    assert revocation.related == package.documentId
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1


def test_an_upgraded_package_is_a_valid_2_0_package() -> None:
    package = DocumentPackage.model_validate(upgrade({**OLD_NEW, "responseFor": "free text"}))
    assert package.responseFor == []
    replaced = DocumentPackage.model_validate(
        upgrade({**OLD_NEW, "kind": "replacement"}, "000.00.01.H04,2026/11/19,6/UBND-VP")
    )
    assert replaced.related_document == "000.00.01.H04,2026/11/19,6/UBND-VP"
