"""Start many node processes fast: import once, then fork one process per node.

Importing FastAPI, pydantic, the contracts and every sample back end costs most of a node's
start-up; fifteen processes each paying it on a 2-core machine take seconds. The zygote
pays it once and forks: every node is still its own process (own pid, own event loop, own
log file, own SQLite files), started in a few milliseconds. Nothing that holds threads or
sockets exists before the fork.

`python -m sandbox.zygote` with the same GSP_* environment as `python -m sandbox.node`;
GSP_NODES lists every node to start. SIGTERM or SIGINT stops them all; if one node dies,
the others are stopped and the zygote exits non-zero, so a launcher sees the failure.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
import time
from pathlib import Path

from sandbox import node as node_process
from sandbox.settings import SandboxSettings
from sandbox.topology import TopologyError
from services.catalog import load_factory

_PR_SET_PDEATHSIG = 1


def _preload(settings: SandboxSettings) -> None:
    from sandbox.topology import load_topology

    topology = load_topology(settings.topology)
    for backend in topology.backends.values():
        load_factory(backend.app)  # imports the back end's module once, for every child
    import lgsp.app  # noqa: F401 - warm the import cache before forking
    import ngsp.app  # noqa: F401


def _child(settings: SandboxSettings, node: str) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
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
        node_process.run(settings.model_copy(update={"nodes": [node]}))
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
    """Where the zygote says which pid serves which node."""
    return data_dir / "logs" / "zygote.pids.json"


def main() -> int:
    settings = SandboxSettings()
    try:
        _preload(settings)
    except TopologyError as exc:
        raise SystemExit(str(exc)) from None
    children: dict[int, str] = {}
    stopping = False

    def stop_all(*_: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    for name in settings.nodes:
        pid = os.fork()
        if pid == 0:
            _child(settings, name)
        children[pid] = name
    pids = {name: pid for pid, name in children.items()}
    pid_file(settings.data_dir).write_text(json.dumps(pids), encoding="utf-8")
    print(f"zygote {os.getpid()}: started {len(children)} nodes", flush=True)
    failed = 0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        name = children.pop(pid, None)
        code = os.waitstatus_to_exitcode(status)
        if name is not None and not stopping:
            print(f"{name} exited with code {code}; stopping the others", flush=True)
            failed = 1
            stop_all()
    time.sleep(0)
    return failed


if __name__ == "__main__":
    sys.exit(main())
