"""Small things many tests need: credentials from the topology, tokens, admin reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from contracts.audit import AuditRecord
from contracts.problem import PROBLEM_MEDIA_TYPE, problem_type
from contracts.topology import Role, Topology
from sandbox.runtime.hosting import bind_socket


def credentials(topology: Topology, consumer_id: str) -> tuple[str, str]:
    consumer = next(c for c in topology.consumers if c.id == consumer_id)
    return consumer.client_id, consumer.client_secret


def admin_of(topology: Topology, platform: str) -> str:
    return next(c.id for c in topology.consumers_at(platform) if Role.ADMIN in c.roles)


async def token(client: httpx.AsyncClient, base: str, topology: Topology, consumer: str) -> str:
    response = await client.post(
        f"{base}/token",
        data={"grant_type": "client_credentials"},
        auth=credentials(topology, consumer),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def bearer(
    client: httpx.AsyncClient, base: str, topology: Topology, consumer: str
) -> dict[str, str]:
    return {"Authorization": f"Bearer {await token(client, base, topology, consumer)}"}


async def audit_records(
    client: httpx.AsyncClient, base: str, topology: Topology, platform: str, **query: str
) -> list[AuditRecord]:
    headers = await bearer(client, base, topology, admin_of(topology, platform))
    response = await client.get(f"{base}/audit", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return [AuditRecord.model_validate(r) for r in response.json()["records"]]


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """An RFC 9457 problem of this status and type, with the exchange's message id."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    problem: dict[str, Any] = response.json()
    assert problem["type"] == problem_type(slug)
    assert problem["status"] == status
    assert problem["title"] and problem["detail"]
    if "X-Message-Id" in response.headers:
        assert problem["message_id"] == response.headers["X-Message-Id"]
    return problem


def assert_fault(
    response: httpx.Response, status: int, code: int, slug: str | None = None
) -> dict[str, Any]:
    """A WSO2 API Manager fault `{"fault": {code, message, description}}` of this status and
    code; with `slug`, the sandbox's own diagnosis in X-Sandbox-Problem names that problem."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert list(body) == ["fault"], body
    fault: dict[str, Any] = body["fault"]
    assert fault["code"] == code  # a JSON number, as WSO2's gateway writes it
    assert isinstance(fault["message"], str) and fault["message"]
    assert isinstance(fault["description"], str) and fault["description"]
    if slug is not None:
        assert response.headers["X-Sandbox-Problem"] == problem_type(slug)
        assert response.headers["X-Sandbox-Detail"]
    return fault


def free_ports(names: list[str]) -> dict[str, int]:
    """A free loopback port per name (bound at once, so no two names get the same)."""
    sockets = [bind_socket("127.0.0.1", 0) for _ in names]
    ports = {n: s.getsockname()[1] for n, s in zip(names, sockets, strict=True)}
    for s in sockets:
        s.close()
    return ports


def full_name(record: dict[str, Any]) -> str:
    """The name of a population record (GET /congDan): Ho, ChuDem and Ten joined."""
    parts = record["CongDan"]["HoVaTen"]
    return " ".join(p for p in (parts["Ho"], parts["ChuDem"], parts["Ten"]) if p)


def child_pids(pid: int) -> set[int]:
    """The processes whose parent is `pid`, read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # field 4: the parent pid
                found.add(int(entry.name))
    return found


def zygote_of(pid: int) -> int:
    """The one process `up` forks nodes from (beside it: the PKI's certificate maker)."""
    (zygote,) = [
        child
        for child in child_pids(pid)
        if b"sandbox.runtime.zygote" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]
    return zygote
