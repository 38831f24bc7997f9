"""Shapes shared by the services' payloads: identifiers, and the datasets' reply."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints

CCCD = Annotated[
    str,
    StringConstraints(pattern=r"^\d{12}$"),
    Field(
        description="12-digit citizen ID: province (3), century/sex (1), year (2), seq (6)",
        examples=["024090012345"],
    ),
]
EnterpriseCode = Annotated[
    str,
    StringConstraints(pattern=r"^\d{10}(-\d{3})?$"),
    Field(description="10-digit enterprise code (branches add -NNN)", examples=["2400011234"]),
]
AgencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$"),
    Field(description="National agency e-ID code", examples=["000.00.01.H04"]),
]
ProcedureCode = Annotated[
    str,
    StringConstraints(pattern=r"^\d\.\d{6}\.\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$"),
    Field(description="Administrative procedure code", examples=["1.011442.000.00.00.H04"]),
]
CompactDate = Annotated[
    str,
    StringConstraints(pattern=r"^\d{8}$"),
    Field(description="Date as yyyyMMdd", examples=["19900115"]),
]


def _date_as_text(value: object) -> object:
    # pydantic's lax mode reads a number as seconds since the epoch; the contract declares
    # a string, so a number is the caller's mistake, named as such.
    if isinstance(value, str | date):
        return value
    raise ValueError("a date is written as a string (yyyy-MM-dd), not a number or other type")


TextDate = Annotated[date, BeforeValidator(_date_as_text)]
"""A date as the contracts declare it: a `yyyy-MM-dd` string, never a number."""


def ok(data: object, message: str = "Thành công") -> dict[str, object]:
    """The reply of the sandbox's own datasets (generic back end, data warehouse): modelled
    on the guides' {Status, Message, Data} but with a numeric Status 1 — unverified, like
    the datasets. The business registration guide's envelope (Status "1"/"0" as text, with
    DataCount) is in contracts/services/business_registration.py."""
    return {"Status": 1, "Message": message, "Data": data}
