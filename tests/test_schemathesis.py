"""Schemathesis against every platform's and every back end's OpenAPI document.

No 5xx, every response of its documented shape and status, for generated requests valid
and invalid. The topology runs on its own thread (our pytest plugin's `gsp_sandbox`), so
Schemathesis' synchronous calls reach real servers over real sockets. The example budget per
operation is small: this is a tripwire in every CI run, not an exhaustive search.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from contracts.topology import Role
from sandbox.testing.pytest_plugin import SandboxHandle

pytestmark = pytest.mark.sockets

MAX_EXAMPLES = 8
# Platform operations that change what every later call sees (keys, registrations, grants):
# fuzzing them would turn this run's platform into a different one mid-test.
STATEFUL = ("/admin/",)
# What the contracts promise. Not "every schema-valid request is accepted": business rules
# that span fields (a date range of at most 5 days, a province code that matches the
# agency) refuse some schema-valid requests with 422, as the real connection guides do.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _nodes(handle: SandboxHandle) -> Iterator[tuple[str, str]]:
    for name in handle.topology.platforms:
        yield name, "platform"
    for name in handle.topology.backends:
        yield name, "backend"


def _admin_token(handle: SandboxHandle, platform: str) -> str:
    admin = next(c for c in handle.topology.consumers_at(platform) if Role.ADMIN in c.roles)
    return handle.token_at(platform, admin.id)


def _run(url: str, headers: dict[str, str], skip: tuple[str, ...] = ()) -> int:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]
    tested = 0
    for operation in operations:
        if any(s in operation.path for s in skip):
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=url, headers=headers, timeout=10)
            case.validate_response(response, checks=CHECKS)

        check()
        tested += 1
    return tested


@pytest.mark.parametrize("kind", ["backend", "platform"])
def test_every_openapi_document_holds_under_generated_requests(
    gsp_sandbox: SandboxHandle, kind: str
) -> None:
    total = 0
    for node, node_kind in _nodes(gsp_sandbox):
        if node_kind != kind:
            continue
        url = gsp_sandbox.url(node)
        headers = {}
        if kind == "platform":
            headers = {"Authorization": f"Bearer {_admin_token(gsp_sandbox, node)}"}
        total += _run(url, headers, STATEFUL if kind == "platform" else ())
    # every node's document was exercised: 12 back ends, 2 platforms, several operations each
    assert total >= (20 if kind == "backend" else 2 * 8), total


def test_the_back_ends_2023_adds_hold_too(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Shared categories and judicial records run only in bac-giang-2023."""
    from sandbox.testing.pytest_plugin import start_sandbox

    with start_sandbox("bac-giang-2023", tmp_path_factory.mktemp("t2023")) as handle:
        apps = {"shared-categories", "judicial-records"}
        nodes = [n for n, b in handle.topology.backends.items() if b.app in apps]
        assert len(nodes) == 2
        total = sum(_run(handle.url(node), {}) for node in nodes)
    assert total == 3 + 5, total  # dmdc's three operations, judicial records' five
