"""Shapes shared by the services' payloads: identifiers and the guides' reply envelope."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, Field, StringConstraints

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

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    """The reply envelope of the connection guides: Status 1 ok / 0 error, and a Message."""

    Status: int = Field(description="1 success, 0 error", examples=[1])
    Message: str = Field(examples=["Thành công"])
    Data: T


def ok(data: T, message: str = "Thành công") -> dict[str, object]:
    return {"Status": 1, "Message": message, "Data": data}
