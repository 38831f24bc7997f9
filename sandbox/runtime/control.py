"""How `gsp-sandbox stop|start|restart|ps` reach the running `up`: a Unix socket in its data dir.

One JSON request a connection (`{"command": "stop", "node": "population"}`), one JSON answer
(`{"ok": true, "message": …}` or `{"ok": false, "error": …}`). The socket is `up.sock` in the
data dir, so the data dir names the sandbox, as it does for `gsp-sandbox logs`; where that
path is too long for a Unix socket (about 107 bytes), a Linux abstract socket named after
the data dir's full path stands in. A socket that answers also tells a second `up` that this
data dir is in use.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

SOCKET_NAME = "up.sock"
_MAX_PATH = 100  # sun_path holds 108 bytes on Linux, fewer elsewhere
_MAX_REQUEST = 4096

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class NotRunning(ConnectionError):
    """No `up` answers for this data dir."""


def control_address(data_dir: Path) -> str:
    path = str((data_dir / SOCKET_NAME).resolve())
    if len(path.encode()) <= _MAX_PATH:
        return path
    digest = hashlib.sha256(path.encode()).hexdigest()[:24]
    return f"\0gsp-sandbox-{digest}"


def request(data_dir: Path, message: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    """Send one request to the `up` serving `data_dir` and return its answer."""
    address = control_address(data_dir)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NotRunning(f"no `gsp-sandbox up` is running with data dir {data_dir}") from exc
        sock.sendall(json.dumps(message).encode() + b"\n")
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer: dict[str, Any] = json.loads(b"".join(chunks) or b"{}")
    return answer


def running(data_dir: Path) -> bool:
    """An `up` answers on this data dir's control socket."""
    with contextlib.suppress(NotRunning, OSError, ValueError):
        request(data_dir, {"command": "ps"}, timeout=2.0)
        return True
    return False


async def serve(data_dir: Path, handle: Handler) -> asyncio.Server:
    remove(data_dir)  # a socket file left by an `up` that was killed; `running()` said so

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5.0)
            if len(line) > _MAX_REQUEST:
                answer = {"ok": False, "error": "request too long"}
            else:
                try:
                    message = json.loads(line)
                    if not isinstance(message, dict):
                        raise ValueError("not an object")
                except ValueError as exc:
                    answer = {"ok": False, "error": f"malformed request: {exc}"}
                else:
                    answer = await handle(message)
            writer.write(json.dumps(answer).encode())
            await writer.drain()
        except (TimeoutError, ConnectionError, ValueError):  # slow, gone, or too long
            pass
        finally:
            writer.close()

    return await asyncio.start_unix_server(
        connection, path=control_address(data_dir), limit=_MAX_REQUEST * 2
    )


def remove(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    address = control_address(data_dir)
    if not address.startswith("\0"):
        with contextlib.suppress(FileNotFoundError):
            Path(address).unlink()
