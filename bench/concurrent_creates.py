"""Concurrent creates through a running LGSP: how many are answered 5xx, are the numbers distinct.

Every back end that creates records (dossiers, documents, birth registrations, shipments,
portal syncs) gets N submissions at once, each with its own client key, then N more that
all share one key (a retried submission: one record, not N). Prints one line per service.
Run against `gsp-sandbox up --port-offset K`:
`.venv/bin/python -m bench.concurrent_creates --port-offset K [--count 40]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import httpx
from pydantic import BaseModel

from contracts.services.civil_status import DangKyHoTich
from contracts.services.documents import VanBan
from contracts.services.one_stop_shop import NopHoSo
from contracts.services.postal import MOrder
from contracts.services.public_service_portal import DangNhap, YeuCau
from contracts.topology import Topology
from sandbox.cli.platform_client import address_book
from sandbox.topology.loading import DEFAULT_TOPOLOGY, load_topology
from sandbox.topology.parties import default_caller, provincial_platform


@dataclass(frozen=True)
class CreateCall:
    """One creating operation: where it is posted, the body for a client key, the number the
    back end gave in its answer (or, where the answer carries none, the key it acknowledged),
    and whether a new record is answered 201 (a repeat 200)."""

    path: str
    body: Callable[[str], dict[str, Any]]
    record_of: Callable[[dict[str, Any], str], str | None]
    answers_201: bool = True


def _example(model: type[BaseModel], **changes: Any) -> dict[str, Any]:
    example: dict[str, Any] = dict(model.model_json_schema()["examples"][0])
    return example | changes


def _sync(key: str, session: str = "") -> dict[str, Any]:
    body = _example(YeuCau)
    return body | {"session": session, "data": [body["data"][0] | {"MaHoSo": key}]}


async def dvcqg_session(client: httpx.AsyncClient, base_url: str, headers: dict[str, str]) -> str:
    """The portal's session, logged in as OpenCPS does before it syncs."""
    response = await client.post(
        f"{base_url}/apiDVCQG/1.0/dangNhap",
        json=_example(DangNhap),
        headers={**headers, "dstcode": "DVCQG"},
    )
    response.raise_for_status()
    return str(response.json()["session"])


CREATE_CALLS = [
    CreateCall(
        "/apiMotCua/1.0/hoSo",
        lambda key: _example(NopHoSo, maThamChieu=key),
        lambda answer, _: answer["maHoSo"],
    ),
    CreateCall(
        "/apiQLVB/1.0/guiVanBan",
        lambda key: _example(VanBan, maThamChieu=key),
        lambda answer, _: answer["id"],
    ),
    CreateCall(
        "/apiTrucVBQG/1.0/guiVanBan",
        lambda key: _example(VanBan, maThamChieu=key),
        lambda answer, _: answer["id"],
    ),
    # The registry acknowledges (status 1) without a number of its own: the key it took.
    CreateCall(
        "/apiHoTichTuPhap/1.0/dangKyHoTich",
        lambda key: _example(DangKyHoTich, maHoSo=key),
        lambda answer, key: key if answer.get("status") == 1 else None,
        answers_201=False,
    ),
    # VNPost answers {Status, Message}: the order number it took.
    CreateCall(
        "/apiVNPostNGSP/p1.0/order/post",
        lambda key: _example(MOrder, OrderNumber=key),
        lambda answer, key: key if answer.get("Status") == "1" else None,
        answers_201=False,
    ),
    CreateCall(
        "/apiDVCQG/1.0/dongBoHoSo",
        _sync,
        lambda answer, key: key if answer.get("error_code") == "00" else None,
        answers_201=False,
    ),
]


@dataclass
class Outcome:
    statuses: Counter[int] = field(default_factory=Counter)
    ids: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def distinct(self) -> int:
        return len(set(self.ids))


async def _post(
    client: httpx.AsyncClient, url: str, call: CreateCall, key: str, headers: dict[str, str]
) -> tuple[int, str | None]:
    response = await client.post(url, json=call.body(key), headers=headers)
    if response.status_code in (200, 201):
        return response.status_code, call.record_of(response.json(), key)
    return response.status_code, None


async def create_at_once(
    client: httpx.AsyncClient,
    base_url: str,
    call: CreateCall,
    keys: list[str],
    headers: dict[str, str],
) -> Outcome:
    """POST one create per key, all started together; what came back."""
    url = f"{base_url}{call.path}"
    answers = await asyncio.gather(*(_post(client, url, call, k, headers) for k in keys))
    outcome = Outcome()
    for status, record_id in answers:
        outcome.statuses[status] += 1
        if record_id is not None:
            outcome.ids.append(record_id)
    return outcome


async def bearer_for(
    client: httpx.AsyncClient, base_url: str, topology: Topology
) -> dict[str, str]:
    caller = default_caller(topology, provincial_platform(topology))
    response = await client.post(
        f"{base_url}/token",
        data={"grant_type": "client_credentials"},
        auth=(caller.client_id, caller.client_secret),
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def prepared_calls(
    client: httpx.AsyncClient, base_url: str, headers: dict[str, str]
) -> list[CreateCall]:
    """CREATE_CALLS with what they need from a log-in first (the portal's session)."""
    session = await dvcqg_session(client, base_url, headers)
    return [
        replace(call, body=partial(_sync, session=session)) if call.body is _sync else call
        for call in CREATE_CALLS
    ]


def _line(call: CreateCall, kind: str, outcome: Outcome) -> str:
    counts = " ".join(f"{s}×{n}" for s, n in sorted(outcome.statuses.items()))
    return (
        f"{call.path:<36} {kind:<10} {counts:<22} 5xx={outcome.server_errors:<3} "
        f"distinct ids={outcome.distinct}"
    )


async def run(topology_ref: str, port_offset: int, count: int, run_id: str) -> int:
    topology = load_topology(topology_ref)
    lgsp = provincial_platform(topology)
    base_url = address_book(topology, port_offset).url(lgsp)
    total_5xx = 0
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(timeout=30.0, trust_env=False, limits=limits) as client:
        headers = await bearer_for(client, base_url, topology)
        for call in await prepared_calls(client, base_url, headers):
            keys = [f"bench-{run_id}-{i}" for i in range(count)]
            distinct = await create_at_once(client, base_url, call, keys, headers)
            same = await create_at_once(
                client, base_url, call, [f"bench-{run_id}-same"] * count, headers
            )
            print(_line(call, "distinct", distinct), flush=True)
            print(_line(call, "same key", same), flush=True)
            total_5xx += distinct.server_errors + same.server_errors
    print(f"total 5xx: {total_5xx}")
    return 1 if total_5xx else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", default=DEFAULT_TOPOLOGY)
    parser.add_argument("--port-offset", type=int, default=0)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--run-id", default="", help="keeps keys apart between runs")
    args = parser.parse_args()
    run_id = args.run_id or format(time.time_ns(), "x")
    return asyncio.run(run(args.topology, args.port_offset, args.count, run_id))


if __name__ == "__main__":
    sys.exit(main())
