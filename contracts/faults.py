"""Fault rules: how a platform breaks a service on purpose, for agencies' unhappy-path tests.

The shape follows LocalStack's chaos API: a list of rules, each naming a service and
optionally an operation, with a probability; the first rule that matches a call (its dice
roll included) applies.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FaultAction(StrEnum):
    LATENCY = "latency"  # answer normally, after latency_ms (± jitter_ms)
    ERROR = "error"  # answer with `status` as a problem, without calling the back end
    TIMEOUT = "timeout"  # no answer: the caller gets the platform's 504 after the timeout
    DOWN = "down"  # the back end cannot be reached: 502
    RESET = "reset"  # the connection is reset mid-call: 502
    CORRUPT = "corrupt"  # the back end's answer is altered so it breaks the contract


class FaultRule(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"service": "apiCSDLDC", "action": "latency", "latency_ms": 800, "jitter_ms": 200},
                {
                    "service": "apiMotCua",
                    "operation": "POST /hoSo",
                    "action": "error",
                    "status": 503,
                    "probability": 0.3,
                },
            ]
        },
    )

    service: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{1,63}$", description="Service code")
    operation: str | None = Field(
        default=None,
        pattern=r"^(GET|POST|PUT|PATCH|DELETE) /[^\s]*$",
        description="'METHOD /path' under the service (a prefix); none: every call",
    )
    action: FaultAction
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    latency_ms: int = Field(default=0, ge=0, le=120_000)
    jitter_ms: int = Field(default=0, ge=0, le=60_000)
    status: int = Field(default=503, ge=400, le=599, description="For action 'error'")

    @model_validator(mode="after")
    def _sensible(self) -> Self:
        if self.action is FaultAction.LATENCY and self.latency_ms == 0:
            raise ValueError("latency_ms: a latency rule needs a latency")
        return self


class FaultRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[FaultRule] = Field(max_length=100)
