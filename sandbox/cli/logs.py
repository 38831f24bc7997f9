"""`gsp-sandbox logs`: the node logs of a sandbox started with `up`, whole or followed."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape

from sandbox.cli.options import DATA_DIR, Subcommands, add, errors


def register(sub: Subcommands) -> None:
    logs = add(sub, "logs", run, help="node logs of a sandbox started with `up`")
    logs.add_argument("nodes", nargs="*", help="node names (default: every node)")
    logs.add_argument("--data-dir", type=Path, default=DATA_DIR)
    logs.add_argument("--follow", "-f", action="store_true", help="keep showing new lines")
    logs.add_argument("--pretty", action="store_true", help="text for people, not JSON lines")
    logs.add_argument("--message-id", help="only lines of this exchange, on every node")
    logs.add_argument("--lines", "-n", type=int, default=50, help="last N lines (0: all)")


def run(args: argparse.Namespace) -> int:
    from sandbox.cli.logview import NoLogs, existing_lines, follow, log_files

    try:
        files = log_files(args.data_dir, args.nodes)
    except NoLogs as exc:
        errors.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        return 2
    lines, tails = existing_lines(files, args.lines, args.message_id)
    for line in lines:
        print(line.render(args.pretty), flush=True)
    if args.follow:
        try:
            for line in follow(tails, args.message_id):
                print(line.render(args.pretty), flush=True)
        except KeyboardInterrupt:
            return 0
    return 0
