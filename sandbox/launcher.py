"""Start every node of a topology as its own process, report when all are up, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from contracts.platform import TopologyReport
from contracts.topology import Topology
from sandbox.addresses import AddressBook
from sandbox.harness import all_healthy
from sandbox.zygote import pid_file

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # A node must not outlive a launcher that was killed without the chance to stop it.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class NodeProcess:
    node: str
    process: asyncio.subprocess.Process
    log_path: Path


@dataclass
class Launcher:
    topology_ref: str
    topology: Topology
    data_dir: Path
    addresses: AddressBook
    processes: dict[str, NodeProcess] = field(default_factory=dict)
    # One zygote that imports once and forks a process per node (fast start), or one
    # fresh interpreter per node (lets a test signal a single node's process).
    fork: bool = False

    def _env(self, node: str) -> dict[str, str]:
        return self._env_for([node])

    def _env_for(self, nodes: list[str]) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            GSP_TOPOLOGY=self.topology_ref,
            GSP_NODES=json.dumps(nodes),
            GSP_DATA_DIR=str(self.data_dir),
            GSP_PORTS=json.dumps(self.addresses.ports),
            PYTHONUNBUFFERED="1",
        )
        return env

    async def start(self, nodes: list[str] | None = None) -> None:
        chosen = nodes if nodes is not None else self.addresses.nodes()
        if self.fork:
            await self._spawn("zygote", "sandbox.zygote", self._env_for(chosen))
            return
        for node in chosen:
            await self.start_node(node)

    def node_pids(self) -> dict[str, int]:
        if not self.fork:
            return {n: p.process.pid for n, p in self.processes.items()}
        pids: dict[str, int] = json.loads(pid_file(self.data_dir).read_text(encoding="utf-8"))
        return pids

    async def start_node(self, node: str) -> None:
        await self._spawn(node, "sandbox.node", self._env(node))

    async def _spawn(self, node: str, module: str, env: dict[str, str]) -> None:
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{node}.log"
        with log_path.open("ab") as log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                module,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,  # Ctrl-C reaches the launcher, which stops nodes
                preexec_fn=_die_with_parent,
            )
        self.processes[node] = NodeProcess(node, process, log_path)

    def exited(self) -> list[NodeProcess]:
        return [p for p in self.processes.values() if p.process.returncode is not None]

    async def wait_ready(
        self, within: float, progress: Callable[[int, int], None] | None = None
    ) -> dict[str, TopologyReport]:
        """Every node answers /healthz and every platform sees all of its services healthy."""
        deadline = time.monotonic() + within
        nodes = self.addresses.nodes()
        async with httpx.AsyncClient(timeout=1.0, trust_env=False) as client:
            up: set[str] = set()
            while len(up) < len(nodes):
                dead = self.exited()
                if dead:
                    raise RuntimeError(_exit_message(dead))
                if time.monotonic() > deadline:
                    missing = ", ".join(sorted(set(nodes) - up))
                    raise TimeoutError(f"not healthy after {within:g} s: {missing}")
                for node in set(nodes) - up:
                    with contextlib.suppress(httpx.HTTPError):
                        response = await client.get(f"{self.addresses.url(node)}/healthz")
                        if response.status_code == 200:
                            up.add(node)
                if progress:
                    progress(len(up), len(nodes))
                await asyncio.sleep(0.05)
            reports: dict[str, TopologyReport] = {}
            while True:
                for platform in self.topology.platforms:
                    response = await client.get(f"{self.addresses.url(platform)}/topology")
                    reports[platform] = TopologyReport.model_validate_json(response.content)
                if all(all_healthy(r) for r in reports.values()):
                    return reports
                if time.monotonic() > deadline:
                    return reports  # the table shows what is not healthy
                await asyncio.sleep(0.1)

    async def stop(self, grace: float = 10.0) -> None:
        for p in self.processes.values():
            if p.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    p.process.send_signal(signal.SIGTERM)
        waits = [p.process.wait() for p in self.processes.values()]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), grace)
        except TimeoutError:
            for p in self.processes.values():
                if p.process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        p.process.kill()
            await asyncio.gather(*(p.process.wait() for p in self.processes.values()))


def _exit_message(dead: list[NodeProcess]) -> str:
    lines = []
    for p in dead:
        tail = p.log_path.read_text(errors="replace").strip().splitlines()[-5:]
        lines.append(f"{p.node} exited with code {p.process.returncode}; log {p.log_path}:")
        lines += [f"    {line}" for line in tail]
    return "\n".join(lines)
