"""problem+json everywhere: one exception type and the handlers that render it."""

from __future__ import annotations

import functools
import logging
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from apikit.gateway_fault import GatewayFault, OAuthError
from apikit.headers import MESSAGE_ID, MESSAGE_ID_FORMAT
from contracts.problem import PROBLEM_MEDIA_TYPE, FieldError, Problem, problem_type

log = logging.getLogger(__name__)

_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Request does not match the contract"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal-error", "Internal error"),
    502: ("bad-gateway", "Bad gateway"),
    503: ("service-unavailable", "Service unavailable"),
    504: ("gateway-timeout", "Gateway timeout"),
}


class ProblemError(Exception):
    """Raise anywhere in a request; the handler turns it into problem+json."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        errors: Iterable[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
        fault: GatewayFault | OAuthError | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        # How the real gateway (WSO2) answers this refusal of a routed call, if it is one.
        self.fault = fault
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extra = extra

    def to_problem(self, message_id: str | None, instance: str | None = None) -> Problem:
        return Problem(
            type=problem_type(self.slug),
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            message_id=message_id,
            errors=self.errors,
            **self.extra,
        )


class RaisedThroughFramework(StarletteHTTPException):
    """Carries a problem through framework code that passes only HTTPExceptions on untouched
    (FastAPI turns any other error raised while it reads a body into a generic 400)."""

    def __init__(self, problem: ProblemError) -> None:
        super().__init__(problem.status, problem.detail, problem.headers or None)
        self.problem = problem


def message_id_of(request: Request) -> str:
    """The exchange's message id: the one set for it, the caller's if well-formed, or new.

    Every error carries one, so a refusal can be quoted and found in the logs."""
    given = getattr(request.state, "message_id", None) or request.headers.get(MESSAGE_ID)
    if given is not None and MESSAGE_ID_FORMAT.match(given):
        return str(given)
    return uuid.uuid4().hex


def problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> JSONResponse:
    out = dict(headers or {})
    if problem.message_id:
        out.setdefault(MESSAGE_ID, problem.message_id)
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=out,
    )


def render(exc: ProblemError, request: Request) -> JSONResponse:
    return problem_response(
        exc.to_problem(message_id_of(request), instance=request.url.path), exc.headers
    )


def json_path(loc: Iterable[str | int]) -> str:
    """`("body", "items", 0, "id")` -> `$.body.items[0].id`"""
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


# A model-wide check names its field first ("bussiness.documentId: required ..."); pydantic
# puts it at the model's location, so the field is read from the message.
_NAMED_FIELD = re.compile(r"^(?:Value error, )?([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*): ")


def _location(error: Mapping[str, Any]) -> str:
    loc = tuple(error.get("loc", ()))
    named = _NAMED_FIELD.match(str(error.get("msg", "")))
    if named is not None:
        loc += tuple(named.group(1).split("."))
    return json_path(loc)


def field_errors(errors: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    return [FieldError(field=_location(e), reason=e.get("msg", "invalid")) for e in errors]


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return render(exc, request)


def validation_problem(errors: Iterable[Mapping[str, Any]]) -> ProblemError:
    """422 naming every wrong field (pydantic or FastAPI error dicts)."""
    found = field_errors(errors)
    names = ", ".join(e.field for e in found) or "the request"
    return ProblemError(
        422,
        "validation-error",
        "Request does not match the contract",
        f"Fix these fields: {names}",
        errors=found,
    )


def as_problem(exc: Exception) -> ProblemError | None:
    """The problem a framework exception stands for; None for an unexpected error."""
    if isinstance(exc, ProblemError):
        return exc
    if isinstance(exc, RaisedThroughFramework):
        return exc.problem
    if isinstance(exc, RequestValidationError):
        return validation_problem(exc.errors())
    if isinstance(exc, StarletteHTTPException):
        slug, title = _STATUS_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        return ProblemError(exc.status_code, slug, title, detail, headers=exc.headers)
    return None


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    problem = as_problem(exc)
    assert problem is not None
    return render(problem, request)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    problem = as_problem(exc)
    assert problem is not None
    if problem.status == 405:
        allowed = allowed_methods(request)
        if allowed:
            problem.headers["Allow"] = allowed
            problem.detail = f"{request.method} is not allowed here; allowed: {allowed}."
    return render(problem, request)


def allowed_methods(request: Request) -> str:
    """Every method the app documents at this path. Starlette's 405 names only the methods of
    the first route whose path matched (a GET and a POST route on one path are two routes),
    so `Allow` said GET where POST is the one that matters. Read from the app's OpenAPI
    document (built once, cached by FastAPI): the routes themselves sit in FastAPI's
    private included-router structures."""
    openapi = getattr(request.app, "openapi", None)
    if openapi is None:
        return ""
    methods: set[str] = set()
    for template, operations in openapi().get("paths", {}).items():
        if _template_pattern(template).fullmatch(request.url.path):
            methods |= {m.upper() for m in operations if m.upper() in _METHODS}
    return ", ".join(sorted(methods))


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


@functools.cache
def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile(
        "".join(
            ("(.+)" if p.endswith(":path}") else "([^/]+)") if p.startswith("{") else re.escape(p)
            for p in parts
        )
    )


def internal_error() -> ProblemError:
    """What an unexpected failure answers: the details go to the log, not to the caller."""
    return ProblemError(
        500,
        "internal-error",
        "Internal error",
        "The service failed while handling this request; it has been logged.",
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return render(internal_error(), request)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
