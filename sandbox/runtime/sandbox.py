"""One `gsp-sandbox up`: a topology's nodes started, kept up, answering on the control socket.

`Sandbox` owns the launcher (the node processes), the supervisor (restarts under the policy)
and the control socket (`stop|start|restart|ps` from another shell), and starts and stops them
in the one order that is safe: the socket and the supervisor before any node, every node
before the socket goes. What to print about it is the CLI's (`sandbox/cli/up.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from contracts.platform import TopologyReport
from contracts.topology import Topology
from sandbox.runtime import control
from sandbox.runtime.launcher import Launcher, TakenPort
from sandbox.runtime.supervisor import (
    CannotKeepUp,
    PackedNode,
    RestartCondition,
    RestartPolicy,
    Supervisor,
    UnknownNode,
)
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import resolve_topology_path

Progress = Callable[[int, int], None]


class Sandbox:
    """A topology's nodes as processes under a restart policy, for as long as `up` runs.

    Building one checks nothing on the machine; `running_in` and `taken_ports` say what would
    stop a start. A ValueError from the constructor: the nodes cannot be packed as asked.
    """

    def __init__(
        self,
        source: str,
        topology: Topology,
        data_dir: Path,
        addresses: AddressBook,
        policy: RestartPolicy,
        *,
        nodes_per_worker: int,
        health_within: float,
        say: Callable[[str], None],
    ) -> None:
        self.source = source
        self.topology = topology
        self.data_dir = data_dir
        self.addresses = addresses
        self.policy = policy
        self.launcher = Launcher(
            source,
            topology,
            data_dir,
            addresses,
            fork=True,
            nodes_per_worker=nodes_per_worker,
        )
        self.supervisor = Supervisor(self.launcher, policy, say, health_within=health_within)
        self._server: asyncio.Server | None = None
        self._watch: asyncio.Task[None] | None = None

    @staticmethod
    def running_in(data_dir: Path) -> bool:
        """Another `up` answers on this data dir's control socket."""
        return control.running(data_dir)

    async def taken_ports(self) -> list[TakenPort]:
        return await self.launcher.check_ports()

    async def start(
        self, within: float, progress: Progress, stop: asyncio.Event
    ) -> dict[str, TopologyReport] | None:
        """Start every node and wait until the platforms say all is healthy: their reports.

        None when `stop` is set first. CannotKeepUp when the supervisor gives up on a node
        meanwhile; RuntimeError or TimeoutError when start-up fails.
        """
        loaded = str(resolve_topology_path(self.source).resolve())
        self._server = await control.serve(self.data_dir, self._control_handler(loaded))
        await self.supervisor.start()
        self._watch = watch = asyncio.create_task(self.supervisor.run(), name="supervisor")
        waiter = asyncio.create_task(stop.wait())
        ready = asyncio.create_task(
            self.launcher.wait_ready(
                within,
                progress,
                # Under `--restart no` a node that exits while starting stays down.
                fail_on_exit=self.policy.condition is RestartCondition.NO,
            )
        )
        try:
            await asyncio.wait({ready, watch, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if not ready.done():
            ready.cancel()
            if watch.done():
                await watch  # raises CannotKeepUp
            return None
        reports = await ready
        self.supervisor.mark_up()
        return reports

    async def serve(self, stop: asyncio.Event) -> None:
        """Keep the nodes up until `stop` is set; CannotKeepUp if the supervisor gives up."""
        if self._watch is None:
            raise RuntimeError("the sandbox was not started")
        waiter = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({waiter, self._watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if self._watch.done():
            await self._watch  # raises CannotKeepUp

    async def close(self) -> None:
        """Stop every node and the control socket; safe after a failed or partial start."""
        await self.supervisor.shutdown()
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, CannotKeepUp):
                await self._watch
        if self._server is not None:
            self._server.close()
            control.remove(self.data_dir)
        await self.launcher.stop()

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def _control_handler(self, topology: str) -> control.Handler:
        supervisor = self.supervisor

        async def handle(message: dict[str, object]) -> dict[str, object]:
            command = message.get("command")
            if command == "ps":
                addresses = supervisor.launcher.addresses
                nodes = supervisor.status()
                for unit in nodes:
                    unit["urls"] = {n: addresses.urls(n) for n in unit["nodes"]}
                return {
                    "ok": True,
                    "instance": supervisor.launcher.instance,
                    "topology": topology,  # what the other commands load (sandbox/cli/which.py)
                    "nodes": nodes,
                }
            actions = {
                "stop": supervisor.stop_node,
                "start": supervisor.start_node,
                "restart": supervisor.restart_node,
            }
            node = message.get("node")
            if command not in actions or not isinstance(node, str):
                return {"ok": False, "error": f"unknown command {command!r}"}
            try:
                return {"ok": True, "message": await actions[command](node)}
            except UnknownNode as exc:
                return {"ok": False, "error": str(exc), "unknown_node": True}
            except PackedNode as exc:
                return {"ok": False, "error": str(exc)}
            except RuntimeError as exc:
                return {"ok": False, "error": f"{node}: {exc}"}

        return handle
