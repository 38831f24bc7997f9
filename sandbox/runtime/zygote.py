"""Start node processes fast: import once, then fork one process per node, on request.

Importing FastAPI, pydantic, the contracts and every sample back end costs most of a node's
start-up; fifteen processes each paying it on a 2-core machine take seconds. The zygote
pays it once and forks: every node is still its own process (own pid, own event loop, own
log file, own SQLite files), started in a few milliseconds — at launch and again whenever
the launcher restarts one. Nothing that holds threads or sockets exists before a fork.
A forked unit may also be a worker serving several nodes (the launcher's packing): then the
start command names them, and the worker logs to its own file.

`python -m sandbox.runtime.zygote` with the same GSP_* environment as `python -m
sandbox.runtime.node`, and GSP_ZYGOTE_FD naming a connected stream socket to the launcher.
Over it, one JSON object a line: the launcher sends `{"op": "start", "node": N}` (or `{"op":
"start", "node": W, "nodes": [N, …]}` for a worker W serving those nodes) and `{"op":
"signal", "node": N, "signal": S}`; the zygote answers `{"event": "started", "node": N,
"pid": P}`, `{"event": "exited", "node": N, "pid": P, "code": C}` (a negative code: killed
by that signal) and `{"event": "refused", "node": N, "reason": …}`. The zygote restarts
nothing itself: what to do about an exit is the launcher's policy. SIGTERM, SIGINT or the
launcher closing the socket stop every node; the zygote exits once all are gone."""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import select
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from sandbox.runtime import node as node_process
from sandbox.runtime.launcher import CONTROL_FD_ENV
from sandbox.runtime.settings import SandboxSettings
from sandbox.topology.loading import TopologyError
from services.catalog import load_factory

_PR_SET_PDEATHSIG = 1
_IMPORTED_AT_SERVER_START = (
    "anyio._backends._asyncio",
    "anyio.streams.memory",
    "anyio.streams.stapled",
    "anyio.streams.tls",
    # a platform's HTTPS listener: reads (or, once, makes) its certificate
    "cryptography.hazmat.primitives.asymmetric.ec",
    "cryptography.x509",
    "sandbox.pki.tls",
    "fastapi.telemetry._runtime",
    "uvicorn.lifespan.on",
    "uvicorn.protocols.websockets.auto",
)


def _preload(settings: SandboxSettings) -> None:
    from sandbox.topology.loading import load_topology

    topology = load_topology(settings.topology)
    for backend in topology.backends.values():
        load_factory(backend.app)  # imports the back end's module once, for every child
    import lgsp.app  # noqa: F401 - warm the import cache before forking
    import ngsp.app  # noqa: F401
    from contracts import registry

    registry.contract_ref("")  # reads and caches the contract tables (a YAML file) once
    from gateway.proxy.client import tls_context

    tls_context()  # the CA bundle read once (~30 ms), not once per node

    # What a server imports only when it starts (its lifespan, protocols, anyio's backend):
    # imported here once, not again in every forked node — 0.3 s of CPU each otherwise,
    # fifteen times over on two cores for the default topology.
    for module in _IMPORTED_AT_SERVER_START:
        with contextlib.suppress(ImportError):  # another version may not have it: no harm
            importlib.import_module(module)


def _child(settings: SandboxSettings, node: str, nodes: list[str], inherited: list[int]) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    signal.set_wakeup_fd(-1)
    for fd in inherited:  # the zygote's control socket and wake-up pipe are not the node's
        with contextlib.suppress(OSError):
            os.close(fd)
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    fd = os.open(logs / f"{node}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    code = 0
    try:
        node_process.run(settings.model_copy(update={"nodes": nodes}), label=node)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # the child must never return into the zygote's loop
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def pid_file(data_dir: Path) -> Path:
    """Where the zygote says which pid serves which node now."""
    return data_dir / "logs" / "zygote.pids.json"


class ForkServer:
    def __init__(self, settings: SandboxSettings, control: socket.socket) -> None:
        self._settings = settings
        self._control: socket.socket | None = control
        self._children: dict[int, str] = {}
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    def _send(self, message: dict[str, Any]) -> None:
        if self._control is None:
            return
        try:
            self._control.sendall(json.dumps(message).encode() + b"\n")
        except OSError:  # the launcher is gone: stop everything
            self._control = None
            self.stop_all()

    def _write_pids(self) -> None:
        pids = {name: pid for pid, name in self._children.items()}
        path = pid_file(self._settings.data_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(pids), encoding="utf-8")

    def stop_all(self, *_: object) -> None:
        self._stopping = True
        for pid in self._children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _start(self, node: str, nodes: list[str]) -> None:
        if self._stopping:
            self._send({"event": "refused", "node": node, "reason": "stopping"})
            return
        if node in self._children.values():
            self._send({"event": "refused", "node": node, "reason": "already running"})
            return
        assert self._control is not None
        pid = os.fork()
        if pid == 0:
            inherited = [self._control.fileno(), self._wake_r, self._wake_w]
            _child(self._settings, node, nodes, inherited)
        self._children[pid] = node
        self._write_pids()
        self._send({"event": "started", "node": node, "pid": pid})

    def _signal(self, node: str, signum: int) -> None:
        for pid, name in self._children.items():
            if name == node:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum)

    def _handle(self, line: bytes) -> None:
        try:
            command = json.loads(line)
            op, node = command["op"], str(command["node"])
            nodes = [str(n) for n in command.get("nodes", [node])]
        except (ValueError, KeyError, TypeError):
            print(f"zygote: ignoring malformed command {line[:200]!r}", flush=True)
            return
        if op == "start":
            self._start(node, nodes)
        elif op == "signal":
            self._signal(node, int(command.get("signal", signal.SIGTERM)))

    def _reap(self) -> None:
        while self._children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            name = self._children.pop(pid, None)
            if name is None:
                continue
            self._write_pids()
            code = os.waitstatus_to_exitcode(status)
            self._send({"event": "exited", "node": name, "pid": pid, "code": code})

    def serve(self) -> None:
        signal.set_wakeup_fd(self._wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes select through the pipe
        signal.signal(signal.SIGTERM, self.stop_all)
        signal.signal(signal.SIGINT, self.stop_all)
        buffer = b""
        while not (self._stopping and not self._children):
            watched = [self._wake_r] + ([self._control] if self._control is not None else [])
            readable, _, _ = select.select(watched, [], [], 1.0)
            if self._wake_r in readable:
                with contextlib.suppress(BlockingIOError):
                    while os.read(self._wake_r, 512):
                        pass
            self._reap()
            if self._control is not None and self._control in readable:
                data = self._control.recv(65536)
                if not data:  # the launcher is gone: nobody would restart or stop a node
                    self._control = None
                    self.stop_all()
                    continue
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        self._handle(line)


def main() -> int:
    settings = SandboxSettings()
    try:
        _preload(settings)
    except TopologyError as exc:
        raise SystemExit(str(exc)) from None
    control = socket.socket(fileno=int(os.environ[CONTROL_FD_ENV]))
    print(f"zygote {os.getpid()}: ready to start nodes", flush=True)
    ForkServer(settings, control).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
