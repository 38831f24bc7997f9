"""Send bytes exactly as written: what a hostile or broken client sends, unnormalised."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:  # type: ignore[type-arg]
        return dict(json.loads(self.body))


async def send_raw(
    base_url: str, request: bytes, *, pause_after: float | None = None, within: float = 10.0
) -> RawResponse:
    """Write `request`; with `pause_after`, stop writing and wait (a slow client)."""
    url = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(within):
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            length = int(headers.get("content-length", "0"))
            body = await reader.readexactly(length) if length else b""
        return RawResponse(status, headers, body)
    finally:
        writer.close()
