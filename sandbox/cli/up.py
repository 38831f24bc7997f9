"""`gsp-sandbox up` (every node of a topology, supervised) and `node` (some nodes, here).

What `up` starts, keeps up and stops is `sandbox.runtime.sandbox.Sandbox`; this file holds
the options, the checks that refuse a start with a clear message, and what is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
from pathlib import Path

from pydantic import ValidationError
from rich.markup import escape

from sandbox.cli.options import DATA_DIR, Subcommands, add, console, errors, say
from sandbox.cli.up_report import print_ready, warn_ephemeral
from sandbox.runtime.launcher import AUTO_WORKERS, PACK_ABOVE_NODES, auto_nodes_per_worker
from sandbox.runtime.supervisor import RestartCondition, RestartPolicy
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import DEFAULT_TOPOLOGY, load_topology, shipped_topologies
from services.common.seeds import load_seeds, seed_paths


def register(sub: Subcommands) -> None:
    up = add(
        sub,
        "up",
        lambda args: asyncio.run(run_up(args)),
        help="start every node of a topology (a process each, or packed into workers)",
    )
    up.add_argument(
        "--topology",
        default=DEFAULT_TOPOLOGY,
        help=f"shipped name ({', '.join(shipped_topologies())}) or a file path",
    )
    up.add_argument("--data-dir", type=Path, default=DATA_DIR)
    up.add_argument(
        "--port-offset",
        type=int,
        default=0,
        help="add this to every port (to run a second sandbox)",
    )
    up.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for health")
    up.add_argument(
        "--pretty", action="store_true", help="node logs as text for people, not JSON lines"
    )
    up.add_argument(
        "--restart",
        choices=[c.value for c in RestartCondition],
        help="restart policy for a node that exits, as Compose's (default: unless-stopped)",
    )
    up.add_argument(
        "--restart-max-attempts",
        type=int,
        help="restarts in a row before `up` gives up and exits non-zero (0: never; default 5)",
    )
    up.add_argument(
        "--restart-delay", type=float, help="seconds before the first restart (default 0.5)"
    )
    up.add_argument(
        "--restart-max-delay", type=float, help="backoff doubles up to this (default 10)"
    )
    up.add_argument(
        "--restart-window",
        type=float,
        help="a node up this many seconds has recovered: its attempts reset (default 10)",
    )
    up.add_argument(
        "--nodes-per-worker",
        type=int,
        help=(
            "pack nodes into worker processes of at most N nodes each (1: a process per "
            f"node; default 1 up to {PACK_ABOVE_NODES} nodes, else {AUTO_WORKERS} workers)"
        ),
    )
    up.add_argument(
        "--exit-when-ready",
        action="store_true",
        help="stop again once everything is healthy (a smoke check)",
    )


async def run_up(args: argparse.Namespace) -> int:
    """`up` (and `mock`, `record`, `replay`, which start a topology they wrote)."""
    from sandbox.runtime.sandbox import Sandbox
    from sandbox.runtime.supervisor import CannotKeepUp

    topology = load_topology(args.topology)
    load_seeds(seed_paths(topology.seeds))  # a bad seed file stops here, before any node
    addresses = AddressBook(topology).shifted(args.port_offset)
    try:
        policy = _restart_policy(args)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(map(str, error["loc"]))
            errors.print(f"[red]restart policy: {where}: {error['msg']}[/]", highlight=False)
        return 2
    if Sandbox.running_in(args.data_dir):
        errors.print(
            f"[red]another `gsp-sandbox up` is running with data dir {args.data_dir}[/]: "
            "stop it, or give this one its own --data-dir and --port-offset",
            highlight=False,
        )
        return 1
    if args.pretty:
        os.environ["GSP_LOG_FORMAT"] = "pretty"  # the node processes inherit it
    if args.nodes_per_worker is not None and args.nodes_per_worker < 1:
        errors.print("[red]--nodes-per-worker must be 1 or more[/]", highlight=False)
        return 2
    per_worker = args.nodes_per_worker or auto_nodes_per_worker(len(addresses.nodes()))
    try:
        running = Sandbox(
            args.topology,
            topology,
            args.data_dir,
            addresses,
            policy,
            nodes_per_worker=per_worker,
            health_within=args.timeout,
            say=say,
        )
    except ValueError as exc:
        errors.print(f"[red]cannot pack: {exc}[/]", highlight=False)
        return 2
    if running.launcher.packed:
        say(
            f"{len(addresses.nodes())} nodes packed into {len(running.launcher.units)} worker "
            f"processes of at most {per_worker} nodes (--nodes-per-worker)"
        )
    taken = await running.taken_ports()
    if taken:
        errors.print(
            f"[red]cannot start: {len(taken)} of the {len(addresses.all_ports())} ports this "
            "sandbox needs are taken[/]",
            highlight=False,
        )
        for port in taken:
            errors.print(f"  {port.describe()}", highlight=False)
        ports = sorted(port for _, port in addresses.all_ports())
        clear = (ports[-1] - ports[0]) // 1000 * 1000 + 1000  # an offset past the whole span
        errors.print(
            f"This topology uses ports {ports[0]}–{ports[-1]}. Another sandbox? Stop it, or "
            f"start this one beside it with --port-offset {clear} and its own --data-dir.",
            highlight=False,
        )
        return 1
    warn_ephemeral(addresses)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = time.monotonic()
    try:
        with console.status("starting nodes…") as status:
            reports = await running.start(
                args.timeout,
                lambda done, total: status.update(f"starting nodes… {done}/{total} healthy"),
                stop,
            )
        if reports is None:
            return 130  # Ctrl-C before everything was up
        print_ready(args, topology, addresses, reports, running.policy, started)
        if not args.exit_when_ready:
            await running.serve(stop)
        return 0
    except CannotKeepUp as exc:
        errors.print(f"[red]cannot keep the sandbox up:[/] {exc}", highlight=False)
        return 1
    except (RuntimeError, TimeoutError) as exc:
        errors.print(f"[red]start-up failed:[/] {escape(str(exc))}", highlight=False)
        return 1
    finally:
        console.print("stopping…")
        await running.close()
        console.print("all nodes stopped")


def _restart_policy(args: argparse.Namespace) -> RestartPolicy:
    given = {
        "condition": args.restart,
        "max_attempts": args.restart_max_attempts,
        "delay_seconds": args.restart_delay,
        "max_delay_seconds": args.restart_max_delay,
        "window_seconds": args.restart_window,
    }
    return RestartPolicy(**{k: v for k, v in given.items() if v is not None})
