"""Test scenarios: a request header picks a back end's canned outcome for one call.

Government sandboxes work this way (the UK tax authority's sandbox reads a
`Gov-Test-Scenario` header): an agency tests its unhappy paths — citizen not found, record
locked, service busy, a slow answer — without editing any data. Scenarios are part of a
service's contract: each module in contracts/services declares its `SCENARIOS` next to its
models, the back end acts them out (services/common/scenarios.py), the contract's OpenAPI
document lists them and the platforms' catalog shows them. Which contract (and so which
scenarios) a back end has is the registry's to say (contracts/registry.py): this module
knows no contract.

Header syntax: `X-Sandbox-Scenario: <name>[;<parameter>=<value>]...`, for instance
`slow-answer;delay=0.2`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

ScenarioName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,62}$")]
# "GET /congDan", "GET /hoSo/{maHoSo}": method and path template, as in the OpenAPI document.
OperationName = Annotated[
    str, StringConstraints(pattern=r"^(GET|POST|PUT|PATCH|DELETE) /[A-Za-z0-9/{}_.-]*$")
]

DELAY = "delay"  # the parameter that holds a scenario's answer back, in seconds
RETRY_AFTER = "retry-after"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioParameter(_Frozen):
    """A number the caller may set in the header (`;delay=0.2`), within bounds."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    description: str
    default: float
    minimum: float
    maximum: float
    integer: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if not self.minimum <= self.default <= self.maximum:
            raise ValueError(f"{self.name}: default outside [{self.minimum}, {self.maximum}]")
        return self


class CannedProblem(_Frozen):
    """The problem+json a scenario answers with instead of calling the operation."""

    status: int = Field(ge=400, le=599)
    slug: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str
    detail: str
    retry_after: bool = Field(
        default=False, description="Send Retry-After: the scenario's retry-after parameter"
    )
    extra: dict[str, Any] = Field(
        default_factory=dict,
        description="Further members the service's real problem carries (e.g. Status: 0)",
    )


class Scenario(_Frozen):
    """One canned outcome. Exactly one shape: a problem instead of the answer; the real
    answer rewritten by `transform` (still a valid contract response); or, with neither,
    the real answer unchanged — then a `delay` parameter is what makes it a scenario."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    name: ScenarioName
    description: str = Field(min_length=1)
    operations: tuple[OperationName, ...] | None = Field(
        default=None, description="The operations it applies to; None: every operation"
    )
    problem: CannedProblem | None = None
    transform: Callable[[Any], Any] | None = Field(
        default=None, exclude=True, description="Rewrites a 2xx JSON body (a pure function)"
    )
    parameters: tuple[ScenarioParameter, ...] = ()

    @model_validator(mode="after")
    def _one_shape(self) -> Self:
        if self.problem is not None and self.transform is not None:
            raise ValueError(f"{self.name}: a problem or a transform, not both")
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: parameter names must be unique")
        if self.problem is None and self.transform is None and DELAY not in names:
            raise ValueError(f"{self.name}: no problem, no transform and no delay: no outcome")
        if self.problem is not None and self.problem.retry_after and RETRY_AFTER not in names:
            raise ValueError(f"{self.name}: retry_after needs a {RETRY_AFTER!r} parameter")
        return self

    @property
    def status(self) -> int | None:
        """The canned status; None when the operation answers with its usual one."""
        return self.problem.status if self.problem is not None else None

    def applies_to(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations

    def parameter(self, name: str) -> ScenarioParameter | None:
        return next((p for p in self.parameters if p.name == name), None)


# -- shared scenarios: every back end has these ------------------------------------------

SERVICE_BUSY = Scenario(
    name="service-busy",
    description="The back end is overloaded: 503 with Retry-After (parameter retry-after, "
    "seconds, default 2). Repeated, it trips the platforms' circuit breaker as a real "
    "outage would.",
    problem=CannedProblem(
        status=503,
        slug="service-busy",
        title="Hệ thống đang bận",
        detail="The service is busy; retry after the number of seconds in Retry-After.",
        retry_after=True,
    ),
    parameters=(
        ScenarioParameter(
            name=RETRY_AFTER,
            description="Seconds sent in Retry-After",
            default=2,
            minimum=0,
            maximum=3600,
            integer=True,
        ),
    ),
)

SLOW_ANSWER = Scenario(
    name="slow-answer",
    description="The usual answer, after a delay (parameter delay, seconds, default 2, at "
    "most 60): for timeouts and progress indicators. Beyond the service's timeout at the "
    "platform, the caller gets 504.",
    parameters=(
        ScenarioParameter(
            name=DELAY,
            description="Seconds before the back end answers",
            default=2.0,
            minimum=0.0,
            maximum=60.0,
        ),
    ),
)

GENERIC: tuple[Scenario, ...] = (SERVICE_BUSY, SLOW_ANSWER)


def record_locked(operations: tuple[str, ...], record: str, title: str) -> Scenario:
    """423: the record is locked by someone else's work on it (shared by several services)."""
    return Scenario(
        name="record-locked",
        description=f"The {record} is locked while an officer updates it: 423.",
        operations=operations,
        problem=CannedProblem(
            status=423,
            slug="record-locked",
            title=title,
            detail=f"The {record} is locked while it is being updated; try again later.",
        ),
    )


def not_found(
    operations: tuple[str, ...], name: str, record: str, title: str, **extra: Any
) -> Scenario:
    """404 as the service's own not-found problem (its slug is the scenario's name),
    whatever the identifier asked for."""
    return Scenario(
        name=name,
        description=f"No {record} with the identifier asked for: 404 {name}, without "
        "looking the identifier up.",
        operations=operations,
        problem=CannedProblem(
            status=404,
            slug=name,
            title=title,
            detail=f"No {record} with this identifier (sandbox scenario {name}).",
            extra=extra,
        ),
    )
