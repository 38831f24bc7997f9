"""Hostile inputs against a running sandbox: what each is answered, and how many 5xx.

Sends each input of the promises issue `--times` times to the provincial platform of a
running `gsp-sandbox up --port-offset K` and prints one line per input: the statuses it got,
the 5xx count, and (for the huge body) the platform's RSS before and after. Nothing is
asserted here; `tests/` holds the checks. Run:
`.venv/bin/python -m bench.hostile_inputs --port-offset K [--data-dir DIR] [--times 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from sandbox.cli.platform_client import address_book
from sandbox.topology.loading import DEFAULT_TOPOLOGY, load_topology
from sandbox.topology.parties import default_caller, provincial_platform

Probe = Callable[[], Awaitable[int]]


async def _raw(url: str, request: bytes, *, within: float = 30.0) -> int:
    """Write `request` as is, then read the status line (0 if the server just closed)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(within):
            line = await reader.readline()
        return int(line.split()[1]) if line else 0
    finally:
        writer.close()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _pid_of(data_dir: Path, node: str) -> int | None:
    pids = data_dir / "logs" / "zygote.pids.json"
    if not pids.exists():
        return None
    found = json.loads(pids.read_text()).get(node)
    return int(found) if found is not None else None


def _nested_json(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def _nested_xml(depth: int) -> bytes:
    return b"<?xml version='1.0'?>" + b"<a>" * depth + b"x" + b"</a>" * depth


async def run(topology_ref: str, port_offset: int, data_dir: Path, times: int) -> int:
    topology = load_topology(topology_ref)
    platform = provincial_platform(topology)
    lgsp = address_book(topology, port_offset).url(platform)
    caller = default_caller(topology, platform)
    async with httpx.AsyncClient(timeout=30.0, trust_env=False) as client:
        issued = await client.post(
            f"{lgsp}/token",
            data={"grant_type": "client_credentials"},
            auth=(caller.client_id, caller.client_secret),
        )
        issued.raise_for_status()
        token = issued.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        def get(path: str) -> Probe:
            async def probe() -> int:
                line = f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
                return await _raw(lgsp, line.encode())

            return probe

        def post(path: str, body: bytes, content_type: str) -> Probe:
            async def probe() -> int:
                headers = {**auth, "Content-Type": content_type}
                return (
                    await client.post(f"{lgsp}{path}", content=body, headers=headers)
                ).status_code

            return probe

        async def huge_admin_body() -> int:
            head = (
                "PUT /admin/services/apiX/1.0 HTTP/1.1\r\nHost: x\r\n"
                f"Content-Type: application/json\r\nContent-Length: {256 * 1024 * 1024}\r\n\r\n"
            )
            return await _raw(lgsp, head.encode() + b'{"title": "')

        async def slow_admin_body() -> int:
            head = (
                b"PUT /admin/services/apiX/1.0 HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
            return await _raw(lgsp, head)

        async def slow_headers() -> int:
            return await _raw(lgsp, b"GET /topology HTTP/1.1\r\nHost: x\r\nX-Slow: ")

        forged = {
            "from": {"organId": "000.00.01.H04", "organName": "VP UBND"},
            "to": [{"organId": "000.00.12.H04", "organName": "Sở TT&TT"}],
            "code": {"codeNumber": "1", "codeNotation": "UBND-HOSTILE"},
            "promulgationInfo": {"place": "Bắc Giang", "promulgationDate": "2026/11/20"},
            "documentType": {"type": 1, "typeName": "Công văn"},
            "subject": "Hostile",
            "signerInfo": {"position": "CVP", "fullName": "A"},
            "bussiness": {"bussinessDocType": 0},
            "traceHeaderList": [
                {"organId": f"000.00.{i:02d}.H99", "timestamp": "2026/11/20 08:00:00"}
                for i in range(20)
            ],
            "attachments": [],
        }
        probes: list[tuple[str, Probe]] = [
            ("256 MiB body, no token, PUT /admin/services", huge_admin_body),
            ("slow body, PUT /admin/services", slow_admin_body),
            ("slow headers", slow_headers),
            ("path with %3F", get("/apiKhoDuLieu/1.0/danhMuc%3FDuLieu")),
            ("path with %23", get("/apiKhoDuLieu/1.0/danhMuc%23DuLieu")),
            ("path with %252e%252e", get("/apiKhoDuLieu/1.0/%252e%252e/x")),
            ("path with %13", get("/apiKhoDuLieu/1.0/a%13b")),
            ("path with %2F", get("/apiKhoDuLieu/1.0/a%2Fb")),
            (
                "JSON nested 5,000 deep to /documents",
                post("/documents", _nested_json(5000), "application/json"),
            ),
            (
                "XML nested 2,000 deep to /documents",
                post("/documents", _nested_xml(2000), "application/xml"),
            ),
            (
                "20 forged trace entries",
                post("/documents", json.dumps(forged).encode(), "application/json"),
            ),
        ]
        pid = _pid_of(data_dir, platform)
        total_5xx = 0
        for name, probe in probes:
            before = _rss_mb(pid) if pid else None
            started = time.monotonic()
            statuses: Counter[int] = Counter()
            for _ in range(times):
                try:
                    statuses[await probe()] += 1
                except (OSError, TimeoutError, httpx.HTTPError) as exc:
                    statuses[type(exc).__name__] += 1  # type: ignore[index]
            elapsed = (time.monotonic() - started) / times
            server_errors = sum(n for s, n in statuses.items() if isinstance(s, int) and s >= 500)
            total_5xx += server_errors
            counts = " ".join(f"{s}×{n}" for s, n in sorted(statuses.items(), key=str))
            rss = f" RSS {before:.0f}→{_rss_mb(pid):.0f} MB" if pid and before else ""
            print(f"{name:<42} {counts:<14} 5xx={server_errors}  {elapsed * 1000:.0f} ms{rss}")
    print(f"total 5xx: {total_5xx}")
    return 1 if total_5xx else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", default=DEFAULT_TOPOLOGY)
    parser.add_argument("--port-offset", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--times", type=int, default=5)
    args = parser.parse_args()
    return asyncio.run(run(args.topology, args.port_offset, args.data_dir, args.times))


if __name__ == "__main__":
    sys.exit(main())
