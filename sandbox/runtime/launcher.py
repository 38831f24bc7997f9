"""Start a topology's nodes as processes, report each exit, stop cleanly.

By default every node is its own process. With `nodes_per_worker` above 1 the nodes are
packed into worker processes ("worker-1", …), each serving several nodes from one event
loop, every node still on its own port with its own app, data files and /healthz. The unit
the launcher starts, signals and reports is a *unit*: a node, or a worker and its nodes.
What to do about an exit (restart it, give up) is the supervisor's policy
(sandbox.runtime.supervisor).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from contracts.platform import TopologyReport
from contracts.topology import Tier, Topology
from gateway.proxy.client import tls_context
from sandbox.pki.authority import ca_missing, make_ca, missing_agencies
from sandbox.runtime.identity import NodeIdentity
from sandbox.runtime.logformat import WORKERS_FILE
from sandbox.runtime.readiness import all_healthy
from sandbox.topology.addresses import AddressBook

_PR_SET_PDEATHSIG = 1
ZYGOTE = "zygote"
# The zygote's end of its socket to the launcher (sandbox/runtime/zygote.py).
CONTROL_FD_ENV = "GSP_ZYGOTE_FD"
WORKER_PREFIX = "worker-"
# Above this many nodes `up` packs them unless told otherwise: a process per node costs
# some 70 MB and an interpreter's start each, which a laptop pays for 15 nodes, not 170.
PACK_ABOVE_NODES = 40
# For an auto-packed topology (besides the national platform's own worker): keeps 2 cores
# busy while some wait on I/O.
AUTO_WORKERS = 4


def pack(
    nodes: list[str], nodes_per_worker: int, alone: list[str] | None = None
) -> dict[str, list[str]]:
    """Units of a launch: each node alone, or the nodes dealt round-robin into workers.

    Dealt, not cut in slices, so each kind of node spreads over the workers. A node in
    `alone` gets a worker of its own (a national platform that every provincial one polls).
    """
    if nodes_per_worker <= 1:
        return {node: [node] for node in nodes}
    solo = [n for n in alone or [] if n in nodes]
    rest = [n for n in nodes if n not in solo]
    count = -(-len(rest) // nodes_per_worker)
    groups: list[list[str]] = [[n] for n in solo] + [[] for _ in range(count)]
    for index, node in enumerate(rest):
        groups[len(solo) + index % count].append(node)
    return {f"{WORKER_PREFIX}{i + 1}": group for i, group in enumerate(groups)}


def start_order(topology: Topology, nodes: list[str]) -> list[str]:
    """Back ends, then the national platform, then the provincial ones.

    A worker starts its nodes one after the other in this order. A platform checks what it
    depends on every 0.1 s until all of it is healthy, and a provincial platform asks the
    national one for its whole /topology each time: starting what is depended on first
    keeps those start-up rounds few, where 63 provincial platforms polling a national one
    whose back ends are not up yet would slow every node sharing its process.
    """
    national = {n for n, p in topology.platforms.items() if p.tier is Tier.NATIONAL}

    def rank(node: str) -> int:
        if node in topology.backends:
            return 0
        return 1 if node in national else 2

    return sorted(nodes, key=rank)  # stable: the file's order within each rank


def auto_nodes_per_worker(node_count: int) -> int:
    """`up`'s default: one process per node, unless the topology is big."""
    if node_count <= PACK_ABOVE_NODES:
        return 1
    return -(-node_count // AUTO_WORKERS)


def _die_with_parent() -> None:
    # A node must not outlive a launcher that was killed without the chance to stop it.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(frozen=True)
class NodeExit:
    node: str
    pid: int
    code: int  # negative: killed by that signal

    def describe(self) -> str:
        if self.code < 0:
            with contextlib.suppress(ValueError):
                return f"was killed by {signal.Signals(-self.code).name}"
            return f"was killed by signal {-self.code}"
        return f"exited with code {self.code}"


@dataclass(frozen=True)
class TakenPort:
    node: str
    port: int
    occupant: str  # who answers there, when it says

    def describe(self) -> str:
        return f"{self.node}: port {self.port} is taken" + (
            f": {self.occupant}" if self.occupant else ""
        )


class ForeignNode(RuntimeError):
    """A node's port answers, as some other sandbox's node."""


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
    # One zygote that imports once and forks a process per node (fast start and restart),
    # or one fresh interpreter per node (lets a test hold a single node's process).
    fork: bool = False
    # 1: one process per node; more: nodes dealt into workers of at most this many.
    nodes_per_worker: int = 1
    # Fresh per launch: every node's /healthz says it, so no other sandbox passes for ours.
    instance: str = field(default_factory=NodeIdentity.new_instance)
    pids: dict[str, int] = field(default_factory=dict)  # the nodes running now
    history: list[NodeExit] = field(default_factory=list)
    exits: asyncio.Queue[NodeExit] = field(default_factory=asyncio.Queue)
    _zygote: asyncio.subprocess.Process | None = None
    _pki_filler: asyncio.subprocess.Process | None = None
    _writer: asyncio.StreamWriter | None = None
    _reader: asyncio.Task[None] | None = None
    _watchers: set[asyncio.Task[None]] = field(default_factory=set)
    _pending: dict[str, asyncio.Future[int]] = field(default_factory=dict)
    units: dict[str, list[str]] = field(init=False)
    _unit_of: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        nodes = self.addresses.nodes()
        # In a big topology the national platform answers every provincial platform's
        # start-up polls: alone, it slows no node sharing its process.
        national = [n for n, p in self.topology.platforms.items() if p.tier is Tier.NATIONAL]
        alone = national if len(nodes) > PACK_ABOVE_NODES else []
        self.units = pack(start_order(self.topology, nodes), self.nodes_per_worker, alone)
        clash = set(self.units) & set(nodes) if self.nodes_per_worker > 1 else set()
        if clash:
            raise ValueError(f"a node is named like a worker: {', '.join(sorted(clash))}")
        self._unit_of = {node: unit for unit, members in self.units.items() for node in members}

    @property
    def packed(self) -> bool:
        return any(members != [unit] for unit, members in self.units.items())

    def unit_of(self, node: str) -> str:
        return self._unit_of[node]

    def identity(self, node: str) -> NodeIdentity:
        return NodeIdentity(self.topology.name, node, self.instance)

    def _env_for(self, nodes: list[str]) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            GSP_TOPOLOGY=self.topology_ref,
            GSP_NODES=json.dumps(nodes),
            GSP_DATA_DIR=str(self.data_dir),
            GSP_PORTS=json.dumps(self.addresses.ports),
            GSP_TLS_PORTS=json.dumps(self.addresses.tls_ports),
            GSP_HTTPS=json.dumps(self.addresses.https),
            GSP_INSTANCE=self.instance,
            PYTHONUNBUFFERED="1",
        )
        return env

    def log_path(self, node: str) -> Path:
        return self.data_dir / "logs" / f"{node}.log"

    def _write_workers(self) -> None:
        """Which worker's log holds a packed node's records (read by `gsp-sandbox logs`)."""
        path = self.data_dir / "logs" / WORKERS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.packed:
            path.write_text(json.dumps(self.units), encoding="utf-8")
        else:
            path.unlink(missing_ok=True)

    async def start(self, units: list[str] | None = None) -> None:
        chosen = units if units is not None else list(self.units)
        self._write_workers()
        if self.fork:
            await self._start_zygote()
        if self.addresses.https and ca_missing(self.data_dir):
            await self._make_ca()
        await asyncio.gather(*(self.start_node(unit) for unit in chosen))

    async def _make_ca(self) -> None:
        """The platforms' HTTPS certificates are issued by the sandbox CA: on a fresh data dir
        it is made here (one RSA key, 0.1–0.7 s) while the zygote imports, rather than by the
        first platform while every node starts (a platform makes it if still missing).

        In a thread of its own, started after the zygote's fork and joined before any other
        process is started: a fork while a thread holds a lock (OpenSSL's, malloc's) could
        leave the child stuck before its exec."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-ca") as pool:
            await asyncio.get_running_loop().run_in_executor(pool, make_ca, self.data_dir)

    async def _fill_pki(self) -> None:
        """The sandbox PKI's agency certificates (an RSA key each; the CA too if HTTPS is off)
        are made by a low-priority process once the nodes are healthy, never in their way; a
        platform reads the CA on the first signed package, `pki issue` makes what is not there
        yet."""
        if self._pki_filler is not None:
            return
        agencies = {a.code: a.name for a in self.topology.agencies}
        missing = missing_agencies(self.data_dir, agencies)
        if not missing and not ca_missing(self.data_dir):
            return
        log_path = self.log_path("pki")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log_file:
            self._pki_filler = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "sandbox.pki.authority",
                str(self.data_dir),
                stdin=asyncio.subprocess.PIPE,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        assert self._pki_filler.stdin is not None
        self._pki_filler.stdin.write(json.dumps(missing).encode())
        self._pki_filler.stdin.close()

    async def pki_filled(self) -> int | None:
        """Wait for the certificate maker started at start, if any; its exit code."""
        return None if self._pki_filler is None else await self._pki_filler.wait()

    def node_pids(self) -> dict[str, int]:
        """The pid serving each node now (packed nodes share their worker's)."""
        return {
            node: self.pids[unit]
            for unit, members in self.units.items()
            if unit in self.pids
            for node in members
        }

    def unit_pids(self) -> dict[str, int]:
        return dict(self.pids)

    def process_pids(self) -> list[int]:
        """Every process of this launch: the zygote (when forking) and each unit's."""
        zygote = [self._zygote.pid] if self._zygote and self._zygote.returncode is None else []
        return zygote + list(self.pids.values())

    def running(self, node: str) -> bool:
        """The process of this node (or unit) runs."""
        return self._unit_of.get(node, node) in self.pids

    async def start_node(self, unit: str) -> int:
        """Start one unit's process (a node, or a worker with its nodes); its pid (the
        nodes may still be starting up)."""
        members = self.units[unit]
        if not self.fork:
            process = await self._spawn(unit, "sandbox.runtime.node", self._env_for(members))
            self.processes[unit] = NodeProcess(unit, process, self.log_path(unit))
            self.pids[unit] = process.pid
            self._watch(unit, process)
            return process.pid
        if self._writer is None:
            raise RuntimeError("the zygote is not running")
        started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending[unit] = started
        self._command({"op": "start", "node": unit, "nodes": members})
        return await started

    def signal_node(self, node: str, signum: int) -> None:
        if not self.fork:
            if node in self.processes:
                with contextlib.suppress(ProcessLookupError):
                    self.processes[node].process.send_signal(signum)
            return
        self._command({"op": "signal", "node": node, "signal": int(signum)})

    def _command(self, command: dict[str, object]) -> None:
        if self._writer is None:
            raise RuntimeError("the zygote is not running")
        self._writer.write(json.dumps(command).encode() + b"\n")

    def _exited(self, event: NodeExit) -> None:
        if self.pids.get(event.node) == event.pid:
            del self.pids[event.node]
        self.history.append(event)
        self.exits.put_nowait(event)

    def _watch(self, node: str, process: asyncio.subprocess.Process) -> None:
        async def watch() -> None:
            code = await process.wait()
            self._exited(NodeExit(node, process.pid, code))

        task = asyncio.create_task(watch(), name=f"watch:{node}")
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def _start_zygote(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = self._env_for([])
        env[CONTROL_FD_ENV] = str(theirs.fileno())
        try:
            self._zygote = await self._spawn(
                ZYGOTE, "sandbox.runtime.zygote", env, pass_fds=(theirs.fileno(),)
            )
        finally:
            theirs.close()
        reader, self._writer = await asyncio.open_connection(sock=ours)
        self._reader = asyncio.create_task(self._read_events(reader), name="zygote-events")

    async def _read_events(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            event = json.loads(line)
            node = event["node"]
            kind = event["event"]
            if kind == "started":
                self.pids[node] = event["pid"]
                if (waiter := self._pending.pop(node, None)) and not waiter.done():
                    waiter.set_result(event["pid"])
            elif kind == "refused":
                if (waiter := self._pending.pop(node, None)) and not waiter.done():
                    waiter.set_exception(RuntimeError(f"{node}: {event['reason']}"))
            elif kind == "exited":
                self._exited(NodeExit(node, event["pid"], event["code"]))
        # The zygote is gone (and its nodes with it): no node can be started any more.
        assert self._zygote is not None
        code = await self._zygote.wait()
        self._writer = None
        for waiter in self._pending.values():
            if not waiter.done():
                waiter.set_exception(RuntimeError("the zygote exited"))
        self._pending.clear()
        self._exited(NodeExit(ZYGOTE, self._zygote.pid, code))

    async def _spawn(
        self, node: str, module: str, env: dict[str, str], pass_fds: tuple[int, ...] = ()
    ) -> asyncio.subprocess.Process:
        log_path = self.log_path(node)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log_file:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                module,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,  # Ctrl-C reaches the launcher, which stops nodes
                preexec_fn=_die_with_parent,
                pass_fds=pass_fds,
            )

    def exited(self) -> list[NodeExit]:
        return list(self.history)

    async def check_ports(self, host: str = "127.0.0.1") -> list[TakenPort]:
        """Every port a node of this launch needs (HTTPS ones too) and cannot have, with who
        holds it."""
        taken = [(n, p) for n, p in self.addresses.all_ports() if _port_taken(host, p)]
        async with httpx.AsyncClient(timeout=0.5, trust_env=False, verify=tls_context()) as client:
            occupants = await asyncio.gather(*(_occupant(client, host, p) for _, p in taken))
        return [TakenPort(n, p, who) for (n, p), who in zip(taken, occupants, strict=True)]

    async def _answers_as_ours(self, client: httpx.AsyncClient, node: str) -> bool:
        """The node answers /healthz 200 as this launch's node; ForeignNode if as another."""
        with contextlib.suppress(httpx.HTTPError, ValueError):
            response = await client.get(f"{self.addresses.url(node)}/healthz")
            said = NodeIdentity.of(response.json())
            if said != self.identity(node):
                raise ForeignNode(
                    f"{self.addresses.url(node)} answers as "
                    + (said.describe() if said else "something that is not a sandbox node")
                    + f", not as {self.identity(node).describe()}"
                )
            return response.status_code == 200
        return False

    async def wait_node_healthy(self, unit: str, within: float) -> bool:
        """Every node of the unit answers /healthz as ours, while its process runs."""
        deadline = time.monotonic() + within
        waiting = set(self.units.get(unit, [unit]))
        async with httpx.AsyncClient(timeout=1.0, trust_env=False, verify=tls_context()) as client:
            while time.monotonic() < deadline:
                if not self.running(unit):
                    return False
                answers = await asyncio.gather(
                    *(self._answers_as_ours(client, n) for n in sorted(waiting))
                )
                waiting -= {n for n, ok in zip(sorted(waiting), answers, strict=True) if ok}
                if not waiting:
                    return True
                await asyncio.sleep(0.05)
        return False

    async def wait_ready(
        self,
        within: float,
        progress: Callable[[int, int], None] | None = None,
        *,
        fail_on_exit: bool = True,
    ) -> dict[str, TopologyReport]:
        """Every node answers /healthz as ours and every platform sees its services healthy.

        `fail_on_exit=False` when a supervisor restarts nodes that exit meanwhile.
        """
        deadline = time.monotonic() + within
        nodes = self.addresses.nodes()
        async with httpx.AsyncClient(timeout=1.0, trust_env=False, verify=tls_context()) as client:
            up: set[str] = set()
            while len(up) < len(nodes):
                if fail_on_exit and self.history:
                    raise RuntimeError(self.exit_message(self.history))
                if time.monotonic() > deadline:
                    missing = ", ".join(sorted(set(nodes) - up))
                    raise TimeoutError(f"not healthy after {within:g} s: {missing}")
                waiting = sorted(set(nodes) - up)
                answers = await asyncio.gather(
                    *(self._answers_as_ours(client, n) for n in waiting if self.running(n))
                )
                up.update(n for n, ok in zip(waiting, answers, strict=False) if ok)
                if progress:
                    progress(len(up), len(nodes))
                await asyncio.sleep(0.05)
            reports: dict[str, TopologyReport] = {}
            while True:
                for platform in self.topology.platforms:
                    with contextlib.suppress(httpx.HTTPError):
                        response = await client.get(f"{self.addresses.url(platform)}/topology")
                        reports[platform] = TopologyReport.model_validate_json(response.content)
                if len(reports) == len(self.topology.platforms) and all(
                    all_healthy(r) for r in reports.values()
                ):
                    await self._fill_pki()
                    return reports
                if time.monotonic() > deadline:
                    return reports  # the table shows what is not healthy
                await asyncio.sleep(0.1)

    async def stop(self, grace: float = 10.0) -> None:
        if self._pki_filler is not None and self._pki_filler.returncode is None:
            # Its files are linked into place whole: stopping it mid-way leaves none half made.
            with contextlib.suppress(ProcessLookupError):
                self._pki_filler.terminate()
            await self._pki_filler.wait()
        if self._zygote is not None:
            await self._stop_zygote(grace)
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
        await asyncio.gather(*self._watchers, return_exceptions=True)

    async def _stop_zygote(self, grace: float) -> None:
        assert self._zygote is not None
        if self._zygote.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._zygote.send_signal(signal.SIGTERM)  # it stops its nodes, then itself
        try:
            await asyncio.wait_for(self._zygote.wait(), grace)
        except TimeoutError:
            for pid in self.pids.values():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                self._zygote.kill()
            await self._zygote.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, grace)
        if self._writer is not None:
            self._writer.close()

    def log_tail(self, node: str, lines: int = 5) -> list[str]:
        """The log's last lines, each JSON record as its level and its message's last line
        (a traceback's last line names the error)."""
        try:
            text = self.log_path(node).read_text(errors="replace")
        except OSError:
            return []
        return [_readable(line) for line in text.strip().splitlines()[-lines:]]

    def exit_message(self, dead: list[NodeExit]) -> str:
        lines = []
        for event in dead:
            lines.append(f"{event.node} {event.describe()}; log {self.log_path(event.node)}:")
            lines += [f"    {line}" for line in self.log_tail(event.node)]
        return "\n".join(lines)


def _readable(line: str) -> str:
    try:
        record = json.loads(line)
        message = str(record["message"]).strip().splitlines()[-1]
        return f"{record.get('level', '')}: {message}"
    except (ValueError, KeyError, TypeError, IndexError):
        return line


def _port_taken(host: str, port: int) -> bool:
    # The same options a node binds with (sandbox.runtime.hosting): a port in TIME_WAIT is free.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


async def _occupant(client: httpx.AsyncClient, host: str, port: int) -> str:
    try:
        response = await client.get(f"http://{host}:{port}/healthz")
        said = NodeIdentity.of(response.json())
    except (httpx.HTTPError, ValueError):
        return ""
    return f"it answers as {said.describe()}" if said else ""
