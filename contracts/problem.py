"""RFC 9457 problem details, the one error shape every platform and back end returns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:gsp-sandbox:problem:"


def problem_type(slug: str) -> str:
    return f"{PROBLEM_TYPE_PREFIX}{slug}"


class FieldError(BaseModel):
    """One wrong field: where it is (a JSON path such as `$.body.soDinhDanh`) and why."""

    field: str
    reason: str


class Problem(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(description="Stable URI naming the kind of problem")
    title: str
    status: int
    detail: str
    instance: str | None = None
    message_id: str | None = Field(default=None, description="The exchange's message id")
    errors: list[FieldError] | None = None
