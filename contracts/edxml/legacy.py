"""The sandbox's JSON package before it spoke edXML exactly (contract 1.0), upgraded to 2.0.

Stores written by an earlier sandbox hold packages in that shape: ISO dates, the kind and
related document in fields of their own, `priority` and `pages` beside the header, trace
entries with a platform name. A platform upgrades its store once when it opens it, so
documents accepted before the upgrade stay readable after it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from contracts.edxml.model import VIETNAM, BussinessDocType, format_date, format_timestamp

_ORGAN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KINDS = {
    "new": BussinessDocType.NEW,
    "revocation": BussinessDocType.REVOCATION,
    "update": BussinessDocType.UPDATE,
    "replacement": BussinessDocType.REPLACEMENT,
}


def is_legacy(data: dict[str, Any]) -> bool:
    return "bussiness" not in data  # every 2.0 package has one, even when all defaults


def _date(value: Any) -> str | None:
    return None if not value else format_date(date.fromisoformat(str(value)[:10]))


def _timestamp(value: str) -> str:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(VIETNAM).replace(tzinfo=None)
    return format_timestamp(moment)


def upgrade(old: dict[str, Any], related_document_id: str | None = None) -> dict[str, Any]:
    """The 2.0 form of a 1.0 package; `related_document_id`: the edXML DocumentId of the
    document a revocation or replacement named by the sandbox's own id."""
    kind = _KINDS.get(old.get("kind", "new"), BussinessDocType.NEW)
    bussiness: dict[str, Any] = {"bussinessDocType": kind}
    related = related_document_id or old.get("relatedDocument") or ""
    if kind is BussinessDocType.REPLACEMENT:
        organs = [o["organId"] for o in old.get("to", [])]
        bussiness["replacementInfoList"] = [{"documentId": related, "organIdList": organs}]
    elif kind is not BussinessDocType.NEW:
        bussiness["documentId"] = related
    info = dict(old.get("promulgationInfo", {}))
    info["promulgationDate"] = _date(info.get("promulgationDate"))
    new: dict[str, Any] = {
        "from": old["from"],
        "to": old["to"],
        "code": old["code"],
        "promulgationInfo": info,
        "documentType": old["documentType"],
        "subject": old["subject"],
        "content": old.get("content", ""),
        "signerInfo": old.get("signerInfo", {}),
        "dueDate": _date(old.get("dueDate")),
        "otherInfo": {
            "priority": old.get("priority", 0),
            "pageAmount": old.get("pages") or 0,
        },
        "traceHeaderList": [
            {"organId": t["organId"], "timestamp": _timestamp(t["timestamp"])}
            for t in old.get("traceHeaderList", [])
        ],
        "bussiness": bussiness,
        "attachments": old.get("attachments", []),
    }
    answered = str(old.get("responseFor") or "")
    organ = answered.split(",", 1)[0]
    if _ORGAN.match(organ):  # 1.0 held free text; keep it when it names a document
        new["responseFor"] = [{"organId": organ, "documentId": answered}]
    return new
