"""Bursts of concurrent calls spaced by about the back ends' keep-alive (uvicorn: 5 s).

Waves of `--connections` calls at once, spaced by gaps swept around the back end's idle
timeout: that is when a pooled connection can be closed by the back end just as the platform
reuses it, and a call that is not retried fails (a 502, and the service marked down).

- `direct` (default): the platform's forwarder, in this process, against a uvicorn back end
  with uvicorn's default keep-alive, started here. A failed call is what the platform answers
  502 (`Unreachable`). To compare with an older commit, run this file by its path with
  PYTHONPATH pointing at that commit's tree (`git archive REV | tar -x -C DIR`).
- `sandbox`: through a running sandbox's LGSP (`gsp-sandbox up --port-offset N`): 1 hop GET,
  2 hops GET and POST, counted by status.

Prints the counts; asserts nothing. Run: `.venv/bin/python -m bench.keepalive_burst direct`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp

from gateway.proxy.forwarder import TimedOut, Unreachable, create_forwarder
from gateway.settings import GatewaySettings
from sandbox.topology.loading import load_topology
from services.common.sampledata import citizens

CONSUMER_KEY, CONSUMER_SECRET = "motcua-bac-giang-key", "motcua-bac-giang-secret-2022"


# A back end as the sample ones are served: FastAPI on uvicorn, uvicorn's default keep-alive.
_BACKEND = """
import sys, uvicorn
from fastapi import FastAPI, Request
app = FastAPI()
@app.api_route("/{path:path}", methods=["GET", "POST"])
async def echo(path: str, request: Request) -> dict:
    await request.body()
    return {"ok": True}
uvicorn.run(app, port=int(sys.argv[1]), log_level="warning", backlog=4096)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


async def _waves(args: argparse.Namespace, one: Callable[[int], Awaitable[None]]) -> None:
    steps = max(args.waves - 1, 1)
    for wave in range(args.waves):
        await asyncio.gather(*(one(i) for i in range(args.connections)))
        gap = args.gap_from + (args.gap_to - args.gap_from) * wave / steps
        print(f"wave {wave + 1}/{args.waves}, then idle {gap:.3f} s", flush=True)
        await asyncio.sleep(gap)


def run_direct(args: argparse.Namespace) -> collections.Counter[str]:
    port = _free_port()
    backend = subprocess.Popen([sys.executable, "-c", _BACKEND, str(port)])
    try:
        _wait_listening(port)
        return asyncio.run(_direct(args, f"http://127.0.0.1:{port}/x"))
    finally:
        backend.terminate()
        backend.wait()


async def _direct(args: argparse.Namespace, url: str) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    forwarder = create_forwarder(GatewaySettings())
    headers = [("Content-Type", "application/json")]

    async def one(i: int) -> None:
        method = "POST" if i % 2 else "GET"
        try:
            reply = await forwarder.send(method, url, headers, b"{}" if i % 2 else b"")
            counts[f"{method} {reply.status}"] += 1
        except (Unreachable, TimedOut) as exc:
            status = 502 if isinstance(exc, Unreachable) else 504
            counts[f"{method} {status} ({exc})"] += 1

    try:
        await _waves(args, one)
    finally:
        await forwarder.aclose()
    return counts


async def run_sandbox(args: argparse.Namespace) -> collections.Counter[str]:
    lgsp = f"http://127.0.0.1:{8001 + args.port_offset}"
    citizen = citizens(load_topology("bac-giang-2022").seed, 1)[0]
    calls = [
        ("GET", f"{lgsp}/apiKhoDuLieu/1.0/danhMucDuLieu", None),
        ("GET", f"{lgsp}/apiCSDLDC/1.0/congDan?soDinhDanh={citizen.so_dinh_danh}", None),
        (
            "POST",
            f"{lgsp}/apiCSDLDC/1.0/xacThucCongDan",
            json.dumps(
                {"soDinhDanh": citizen.so_dinh_danh, "hoTen": "X", "ngaySinh": "1990-01-01"}
            ).encode(),
        ),
    ]
    counts: collections.Counter[str] = collections.Counter()
    connector = aiohttp.TCPConnector(limit=args.connections, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        reply = await session.post(
            f"{lgsp}/token",
            data={"grant_type": "client_credentials"},
            auth=aiohttp.BasicAuth(CONSUMER_KEY, CONSUMER_SECRET),
        )
        token = (await reply.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        async def one(i: int) -> None:
            method, url, body = calls[i % len(calls)]
            try:
                async with session.request(method, url, data=body, headers=headers) as r:
                    await r.read()
                    counts[f"{method} {r.status}"] += 1
            except aiohttp.ClientError as exc:
                counts[type(exc).__name__] += 1

        await _waves(args, one)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["direct", "sandbox"], nargs="?", default="direct")
    parser.add_argument("--port-offset", type=int, default=0)
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--waves", type=int, default=16)
    parser.add_argument("--gap-from", type=float, default=4.95)
    parser.add_argument("--gap-to", type=float, default=5.05)
    args = parser.parse_args()
    counts = run_direct(args) if args.mode == "direct" else asyncio.run(run_sandbox(args))
    total = sum(counts.values())
    bad = sum(n for k, n in counts.items() if " 502" in k)
    print(f"{total} calls, {bad} answered 502: {dict(counts)}")


if __name__ == "__main__":
    main()
