"""`gsp-sandbox stop|start|restart NODE` and `ps` ask the running `up`; `node` serves nodes here.

`ps` answers from the control socket alone: nothing here imports the platforms until `node`
runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from sandbox.cli.options import DATA_DIR, Subcommands, add, console, errors
from sandbox.runtime import control
from sandbox.topology.loading import DEFAULT_TOPOLOGY


def register(sub: Subcommands) -> None:
    for name, what in (
        ("stop", "stop a node of the running `up`; it stays down (an outage on purpose)"),
        ("start", "start a node of the running `up` again"),
        ("restart", "stop and start a node of the running `up`"),
    ):
        outage = add(sub, name, run, help=what)
        outage.add_argument("node", help="e.g. population or lgsp-bac-giang")
        outage.add_argument("--data-dir", type=Path, default=DATA_DIR, help="as given to `up`")
    ps = add(sub, "ps", run, help="the nodes of the running `up`: status, pid, restarts")
    ps.add_argument("--data-dir", type=Path, default=DATA_DIR, help="as given to `up`")

    node = add(sub, "node", run_node, help="serve some nodes of a topology in this process")
    node.add_argument("nodes", nargs="+")
    node.add_argument("--topology", default=DEFAULT_TOPOLOGY)
    node.add_argument("--data-dir", type=Path, default=DATA_DIR)
    node.add_argument("--pretty", action="store_true", help="logs as text, not JSON lines")


def run_node(args: argparse.Namespace) -> int:
    from sandbox.runtime.node import run
    from sandbox.runtime.settings import SandboxSettings

    settings = SandboxSettings(topology=args.topology, nodes=args.nodes, data_dir=args.data_dir)
    if args.pretty:
        settings = settings.model_copy(update={"log_format": "pretty"})
    run(settings)
    return 0


def run(args: argparse.Namespace) -> int:
    """stop, start, restart or ps: asks the running `up` for this data dir."""
    message: dict[str, object] = {"command": args.command}
    if args.command != "ps":
        message["node"] = args.node
    try:
        answer = control.request(args.data_dir, message)
    except control.NotRunning as exc:
        errors.print(f"[red]{exc}[/] (start it with `gsp-sandbox up`)", highlight=False)
        return 1
    except (OSError, ValueError) as exc:
        errors.print(f"[red]{args.data_dir}: the running `up` did not answer: {exc}[/]")
        return 1
    if not answer.get("ok"):
        errors.print(f"[red]{answer.get('error', 'refused')}[/]", highlight=False)
        return 2 if answer.get("unknown_node") else 1
    if args.command == "ps":
        console.print(_ps_table(args.data_dir, answer["nodes"]))
        return 0
    console.print(answer["message"], highlight=False)
    return 0


def _ps_table(data_dir: Path, nodes: list[dict[str, Any]]) -> Table:
    table = Table(title=f"nodes of the sandbox in {data_dir}")
    packed = any(n.get("nodes", [n["node"]]) != [n["node"]] for n in nodes)
    for column in ("worker" if packed else "node", "status", "pid", "restarts", "last exit"):
        table.add_column(column)
    table.add_column("nodes" if packed else "urls")
    for n in nodes:
        urls: dict[str, list[str]] = n.get("urls", {})
        if packed:
            # A worker's back ends are listed by name; its platforms with their URLs,
            # the HTTPS one beside the HTTP one.
            listed = [
                f"{m} {' '.join(urls[m])}" if len(urls.get(m, [])) > 1 else m
                for m in n.get("nodes", [])
            ]
            last = ", ".join(listed)
        else:
            last = "\n".join(urls.get(n["node"], []))
        table.add_row(
            n["node"],
            n["status"],
            str(n["pid"] or "-"),
            str(n["restarts"]),
            n["last_exit"] or "",
            last,
        )
    return table
