"""Public postal service, VNPost through NGSP (apiVNPostNGSP, version p1.0): post an order to
ship an administrative result, cancel it, follow it.

As OpenCPS calls it (VietOpenCPS/opencps-v2 modules/backend-postal-api-rest/.../
VNPostManagementImpl.java, with MITC's NGSP SDK `vn.mitc.ngsp.sdk`: IOrder, MOrder, MResult,
MStatus, MRhDoc), behind the platform's token: `POST /apiVNPostNGSP/p1.0/order/post` with the
order {CustomerCode, OrderNumber, CODAmount, SenderProvince, SenderDistrict, SenderAddress,
SenderName, SenderEmail, SenderTel, SenderDesc, Description, ReceiverName, ReceiverAddress,
ReceiverTel, ReceiverProvince, ReceiverDistrict, ReceiverEmail} -> {Status, Message}; cancel
with `?CustomerCode=…&OrderNumber=…`; tracking with `?pagesize=…&lastId=…` -> a RESTHeart
page {_size, _total_pages, _returned, _embedded: {"rh:doc": [{_id: {$oid}, CustomerCode,
OrderNumber, EventTime, POSID, ItemCode, StatusCode, StatusMessage, Notes}]}}, which OpenCPS
pages through by the last `_id` until it finds its order.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.fidelity import partial
from contracts.scenarios import GENERIC

CONTRACT_ID = "vn.gov.vnpost.order"
CONTRACT_VERSION = "p1.0"
SCENARIOS = GENERIC  # X-Sandbox-Scenario outcomes (contracts/scenarios.py)
OPENCPS_VNPOST = (
    "VietOpenCPS/opencps-v2 modules/backend-postal-api-rest/src/main/java/backend/postal/api/"
    "rest/controller/impl/VNPostManagementImpl.java (MOrder, MResult, MStatus, MRhDoc of "
    "vn.mitc.ngsp.sdk; https://api.mitc.vn/apiVNPostNGSP/p1.0/order/post)"
)
_SDK = (
    "The SDK's own source is not in the public index: JSON member types (numbers for "
    "provinces, districts and CODAmount, as OpenCPS passes them) follow the Java calls."
)
FIDELITY = {
    "POST /order/post": partial(
        OPENCPS_VNPOST,
        note="Path, version p1.0 and the order's fields from OpenCPS; the reply's Status values "
        "('1' posted, '0' refused) and Message texts are the sandbox's. " + _SDK,
    ),
    "POST /order/cancel": partial(
        OPENCPS_VNPOST,
        note="CustomerCode and OrderNumber as query parameters and the {Status, Message} reply "
        "from OpenCPS; the path (a configured apiCancelOrder) and the method are the "
        "sandbox's. " + _SDK,
    ),
    "GET /order/tracking": partial(
        OPENCPS_VNPOST,
        note="pagesize, lastId and the RESTHeart page with its rh:doc fields from OpenCPS; the "
        "path (a configured apiGetOrderTracking), the status codes and texts, EventTime's "
        "format and POSID/ItemCode values are the sandbox's. Events are every order's "
        "(OpenCPS pages until it meets its own). " + _SDK,
    ),
}
STATUS_POSTED, STATUS_REFUSED = "1", "0"


class MOrder(BaseModel):
    """An order as OpenCPS's MOrder serialises it; unset strings arrive as null."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "CustomerCode": "BGG-MOTCUA",
                    "OrderNumber": "000.00.01.H04-241122-0001",
                    "CODAmount": 0.0,
                    "SenderProvince": 24,
                    "SenderDistrict": 213,
                    "SenderAddress": "Số 82 đường Hùng Vương, TP Bắc Giang",
                    "SenderName": "Trung tâm Phục vụ hành chính công tỉnh Bắc Giang",
                    "SenderEmail": None,
                    "SenderTel": "02043555555",
                    "SenderDesc": None,
                    "Description": "Trả kết quả hồ sơ 000.00.01.H04-241122-0001",
                    "ReceiverName": "Nguyễn Văn An",
                    "ReceiverAddress": "Số 12 đường Lê Lợi, Phường Hoàng Văn Thụ, TP Bắc Giang",
                    "ReceiverTel": "0912345678",
                    "ReceiverProvince": 24,
                    "ReceiverDistrict": 213,
                    "ReceiverEmail": None,
                }
            ]
        },
    )

    CustomerCode: str = Field(min_length=1, max_length=50)
    OrderNumber: str = Field(min_length=1, max_length=60)
    CODAmount: float = Field(default=0.0, ge=0, le=1e12, description="Cash on delivery")
    SenderProvince: int = Field(ge=0, le=999)
    SenderDistrict: int = Field(ge=0, le=9999)
    SenderAddress: str | None = Field(default=None, max_length=300)
    SenderName: str | None = Field(default=None, max_length=200)
    SenderEmail: str | None = Field(default=None, max_length=200)
    SenderTel: str | None = Field(default=None, max_length=20)
    SenderDesc: str | None = Field(default=None, max_length=500)
    Description: str | None = Field(default=None, max_length=500)
    ReceiverName: str = Field(min_length=1, max_length=200)
    ReceiverAddress: str = Field(min_length=1, max_length=300)
    ReceiverTel: str = Field(min_length=1, max_length=20)
    ReceiverProvince: int = Field(ge=0, le=999)
    ReceiverDistrict: int = Field(ge=0, le=9999)
    ReceiverEmail: str | None = Field(default=None, max_length=200)


class MResult(BaseModel):
    Status: str = Field(description="'1' done, '0' refused (the sandbox's values)")
    Message: str


class ObjectId(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    oid: str = Field(alias="$oid", pattern=r"^[0-9a-f]{24}$")


class MRhDoc(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: ObjectId = Field(alias="_id")
    CustomerCode: str
    OrderNumber: str
    EventTime: str = Field(description="yyyy-MM-dd HH:mm:ss, Asia/Ho_Chi_Minh (the sandbox's)")
    POSID: str
    ItemCode: str
    StatusCode: int
    StatusMessage: str
    Notes: str


class Embedded(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    rh_doc: list[MRhDoc] = Field(alias="rh:doc")


class MStatus(BaseModel):
    """A RESTHeart page of tracking events."""

    model_config = ConfigDict(populate_by_name=True)

    size: int = Field(alias="_size", description="Events in all")
    total_pages: int = Field(alias="_total_pages")
    returned: int = Field(alias="_returned", description="Events on this page")
    embedded: Embedded = Field(alias="_embedded")


def result(status: str, message: str) -> dict[str, Any]:
    return {"Status": status, "Message": message}
