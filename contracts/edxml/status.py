"""A status packet: what a receiver tells the sender about a document, in the standard's shape.

Same `<edXML>` root and envelope as a package; its MessageHeader holds From (the organ
reporting), ResponseFor (the document it is about: OrganId, Code, PromulgationDate,
DocumentId), StaffInfo, StatusCode, Description and Timestamp. The JSON form is this model
dumped by alias, a lossless projection of the XML form (contracts/edxml/xml.py).
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from contracts.edxml.model import (
    EdTimestamp,
    Organization,
    ResponseFor,
    StaffInfo,
    StatusCode,
    XmlText,
    _Part,
)


class StatusPacket(_Part):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "from": {"organId": "000.00.12.H04", "organName": "Sở TT&TT"},
                    "responseFor": {
                        "organId": "000.00.01.H04",
                        "code": "1234/UBND-KGVX",
                        "promulgationDate": "2026/11/20",
                        "documentId": "000.00.01.H04,2026/11/20,1234/UBND-KGVX",
                    },
                    "staffInfo": {"department": "Văn thư", "staff": "Lê Văn Cường"},
                    "statusCode": "03",
                    "description": "Đã tiếp nhận",
                    "timestamp": "2026/11/20 09:15:00",
                }
            ]
        },
    )

    from_: Organization = Field(alias="from")
    responseFor: ResponseFor
    staffInfo: StaffInfo = Field(default_factory=StaffInfo)
    statusCode: StatusCode
    description: XmlText = Field(default="", max_length=1000)
    timestamp: EdTimestamp | None = Field(
        default=None, description="When the status was issued; the platform fills it if absent"
    )
