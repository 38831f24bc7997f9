"""Keep a launch's nodes up: report each exit, restart with backoff, give up on a crash loop.

The policy is Compose's restart policy: `no`, `on-failure`, `always`, `unless-stopped`, with
the delay, attempts and window of its `deploy.restart_policy`. A node stopped on purpose
(`gsp-sandbox stop NODE`) is never restarted; `start NODE` brings it back. Within one `up`,
`always` and `unless-stopped` act alike: Compose tells them apart only when its daemon
restarts.

What is supervised is the launcher's unit: a node, or, when nodes are packed, a worker with
its nodes. A worker that exits is restarted with all its nodes. `stop|start|restart NODE`
of a node packed in a worker is refused, naming the worker: its server shares a process
with the others, so the worker is what stops, starts and restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sandbox.runtime.launcher import ZYGOTE, Launcher, NodeExit


class RestartCondition(StrEnum):
    NO = "no"
    ON_FAILURE = "on-failure"
    ALWAYS = "always"
    UNLESS_STOPPED = "unless-stopped"


class RestartPolicy(BaseSettings):
    """`up --restart …` flags, or GSP_RESTART_* in the environment."""

    model_config = SettingsConfigDict(env_prefix="GSP_RESTART_", extra="ignore")

    condition: RestartCondition = Field(
        default=RestartCondition.UNLESS_STOPPED,
        description="which exits restart a node; a node stopped on purpose stays down",
    )
    max_attempts: int = Field(
        default=5, ge=0, description="restarts in a row before `up` gives up (0: never)"
    )
    delay_seconds: float = Field(default=0.5, ge=0, description="before the first restart")
    max_delay_seconds: float = Field(default=10.0, ge=0, description="backoff doubles to this")
    window_seconds: float = Field(
        default=10.0, ge=0, description="a node up this long has recovered: attempts reset"
    )

    def restarts(self, code: int) -> bool:
        if self.condition is RestartCondition.NO:
            return False
        if self.condition is RestartCondition.ON_FAILURE:
            return code != 0
        return True

    def delay(self, attempt: int) -> float:
        return float(min(self.delay_seconds * 2 ** (attempt - 1), self.max_delay_seconds))

    def limit_hint(self) -> str:
        """Which limit was reached and how to raise it, for the refusal that names it."""
        return (
            f"the limit is --restart-max-attempts {self.max_attempts} "
            f"(GSP_RESTART_MAX_ATTEMPTS): restarts of one node in a row, a row ending when it "
            f"stays up {self.window_seconds:g} s (--restart-window, GSP_RESTART_WINDOW_SECONDS); "
            "raise either, or give 0 attempts never to give up"
        )

    def describe(self) -> str:
        if self.condition is RestartCondition.NO:
            return "restart: no"
        limit = f"{self.max_attempts} attempts" if self.max_attempts else "no limit"
        return (
            f"restart: {self.condition.value}, {limit}, backoff {self.delay_seconds:g}–"
            f"{self.max_delay_seconds:g} s"
        )


class CannotKeepUp(RuntimeError):
    """A node crash-loops past the restart limit, or the node processes are gone."""


class UnknownNode(LookupError):
    pass


class PackedNode(RuntimeError):
    """A node that shares its worker's process cannot be stopped or started alone."""


@dataclass
class NodeState:
    name: str
    members: list[str] = field(default_factory=list)  # the nodes a worker serves
    status: str = "starting"  # starting, up, stopped, restarting, exited
    pid: int | None = None
    started_at: float = 0.0
    attempts: int = 0  # restarts in a row without staying up for the window
    restarts: int = 0  # since launch
    last_exit: NodeExit | None = None
    pending: asyncio.Task[None] | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "node": self.name,
            "nodes": self.members or [self.name],
            "status": self.status,
            "pid": self.pid,
            "restarts": self.restarts,
            "last_exit": self.last_exit.describe() if self.last_exit else None,
        }


@dataclass
class Supervisor:
    launcher: Launcher
    policy: RestartPolicy
    say: Callable[[str], None]
    health_within: float = 60.0
    nodes: dict[str, NodeState] = field(default_factory=dict)
    _stopping_on_purpose: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    _shutting_down: bool = False
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        units = self.launcher.units
        self.nodes = {
            u: NodeState(u, members=[] if members == [u] else list(members))
            for u, members in units.items()
        }
        names = list(units)
        await self.launcher.start([])
        await asyncio.gather(*(self._start(n, announce=False) for n in names))

    def _state(self, node: str) -> NodeState:
        if node not in self.nodes and node in self.launcher.addresses.nodes():
            worker = self.launcher.unit_of(node)
            others = len(self.launcher.units[worker]) - 1
            raise PackedNode(
                f"{node} is packed into {worker} with {others} other nodes, one process: "
                f"stop, start or restart {worker} (all its nodes), or run `up "
                "--nodes-per-worker 1` to handle nodes one by one"
            )
        if node not in self.nodes:
            known = ", ".join(self.nodes)
            raise UnknownNode(f"{node!r} is not a node of this sandbox (nodes: {known})")
        return self.nodes[node]

    async def _start(self, node: str, *, announce: bool = True) -> int:
        state = self.nodes[node]
        state.status = "starting"
        pid = await self.launcher.start_node(node)
        state.started_at = time.monotonic()
        if state.last_exit is None or state.last_exit.pid != pid:  # not gone already
            state.pid = pid
        if announce:  # at launch, `up` waits for every node at once (mark_up)
            self._spawn(self._mark_healthy(node, pid), f"healthy:{node}")
        return pid

    def mark_up(self) -> None:
        """Every node answered as ours: those still marked starting are up."""
        for state in self.nodes.values():
            if state.status == "starting" and state.pid is not None:
                state.status = "up"

    def _spawn(self, coroutine: Any, name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _mark_healthy(self, node: str, pid: int) -> None:
        started = time.monotonic()
        try:
            healthy = await self.launcher.wait_node_healthy(node, self.health_within)
        except RuntimeError:  # another sandbox's node answers there: wait_ready says so
            return
        if not healthy:
            return
        state = self.nodes[node]
        if state.pid == pid and state.status == "starting" and not self._shutting_down:
            state.status = "up"
            took = time.monotonic() - started
            self.say(f"{node} is up (pid {pid}, healthy {took:.1f} s after its start)")

    async def run(self) -> None:
        """Handle exits until shut down; CannotKeepUp when a node cannot be kept up."""
        while True:
            event = await self.launcher.exits.get()
            if self._shutting_down:
                continue
            if event.node == ZYGOTE:
                raise CannotKeepUp(
                    f"the node process server (zygote, pid {event.pid}) {event.describe()}: "
                    f"no node can be restarted; log {self.launcher.log_path(ZYGOTE)}"
                )
            self._exited(event)

    def _exited(self, event: NodeExit) -> None:
        state = self.nodes.get(event.node)
        # pid None: the exit can arrive before start_node() has handed over the pid
        if state is None or state.pid not in (None, event.pid) or state.status == "stopped":
            return
        state.pid = None
        state.last_exit = event
        on_purpose = self._stopping_on_purpose.pop(event.node, None)
        if on_purpose is not None:
            state.status = "stopped"
            if not on_purpose.done():
                on_purpose.set_result(None)
            return
        if not self.policy.restarts(event.code):
            state.status = "exited"
            self.say(
                f"{event.node} {event.describe()}; not restarted ({self.policy.describe()}). "
                f"`{self.command('start', event.node)}` starts it again"
            )
            return
        if time.monotonic() - state.started_at >= self.policy.window_seconds:
            state.attempts = 0
        if self.policy.max_attempts and state.attempts >= self.policy.max_attempts:
            tail = "\n".join(f"    {line}" for line in self.launcher.log_tail(event.node))
            raise CannotKeepUp(
                f"{event.node} {event.describe()} after {state.attempts} restarts in a row "
                f"(restart limit {self.policy.max_attempts}); {self.policy.limit_hint()}; "
                f"its log {self.launcher.log_path(event.node)} ends:\n{tail}"
            )
        state.attempts += 1
        delay = self.policy.delay(state.attempts)
        state.status = "restarting"
        limit = f" of {self.policy.max_attempts}" if self.policy.max_attempts else ""
        self.say(
            f"{event.node} {event.describe()}; restarting in {delay:g} s "
            f"(attempt {state.attempts}{limit})"
        )
        state.pending = self._spawn(self._restart_later(event.node, delay), f"restart:{event.node}")

    async def _restart_later(self, node: str, delay: float) -> None:
        await asyncio.sleep(delay)
        state = self.nodes[node]
        state.pending = None
        if state.status == "restarting" and not self._shutting_down:
            state.restarts += 1
            await self._start(node)

    async def stop_node(self, node: str, grace: float = 10.0) -> str:
        state = self._state(node)
        if state.pending is not None:  # waiting for its restart: it stays down instead
            state.pending.cancel()
            state.pending = None
        if state.pid is None:
            state.status = "stopped"
            return f"{node} is stopped (it was not running)"
        pid = state.pid
        stopped = asyncio.get_running_loop().create_future()
        self._stopping_on_purpose[node] = stopped
        self.launcher.signal_node(node, signal.SIGTERM)  # clean: databases closed
        try:
            await asyncio.wait_for(asyncio.shield(stopped), grace)
        except TimeoutError:
            self.launcher.signal_node(node, signal.SIGKILL)
            await stopped
        self.say(f"{node} stopped on purpose (was pid {pid}); it stays down until started")
        return f"{node} stopped (was pid {pid}); `{self.command('start', node)}` brings it back"

    async def start_node(self, node: str) -> str:
        state = self._state(node)
        if state.pid is not None:
            return f"{node} is already running (pid {state.pid})"
        if state.pending is not None:
            state.pending.cancel()
            state.pending = None
        state.attempts = 0
        pid = await self._start(node)
        self.say(f"{node} started on request (pid {pid})")
        return f"{node} started (pid {pid})"

    def command(self, action: str, node: str) -> str:
        """The command line that does `action` to `node` of this sandbox: with its data dir,
        which names the sandbox (without it, the command looks in ./data)."""
        return f"gsp-sandbox {action} {node} --data-dir {self.launcher.data_dir}"

    async def restart_node(self, node: str) -> str:
        stopped = await self.stop_node(node)
        started = await self.start_node(node)
        return f"{stopped.split(';')[0]}; {started}"

    def status(self) -> list[dict[str, Any]]:
        return [s.summary() for s in self.nodes.values()]

    async def shutdown(self) -> None:
        self._shutting_down = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
