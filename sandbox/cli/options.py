"""What every command shares: its consoles, the data dir default, the options that find a sandbox.

Commands register with `add(sub, name, run, help=...)`: the parser it returns takes the
command's own options, and `main` calls `run(args)` with what was parsed.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.cli.consoles import stderr_console, stdout_console
from sandbox.topology.loading import DEFAULT_TOPOLOGY

console = stdout_console()
errors = stderr_console()
# Where `up` and the commands that talk to it keep and find the sandbox's files. GSP_DATA_DIR
# (the node processes' own setting) moves it: the image sets /data, its volume.
DATA_DIR = Path(os.environ.get("GSP_DATA_DIR") or "data")

Run = Callable[[argparse.Namespace], int]
Subcommands = Any  # argparse's _SubParsersAction, which is private


def add(sub: Subcommands, name: str, run: Run, **kwargs: Any) -> argparse.ArgumentParser:
    """A command's parser, `run` its handler."""
    parser: argparse.ArgumentParser = sub.add_parser(name, **kwargs)
    parser.set_defaults(run=run)
    return parser


def where(parser: argparse.ArgumentParser, *, platform: bool = True) -> None:
    """Options that find a running sandbox: the same topology and ports `up` used."""
    running_topology_options(parser)
    parser.add_argument("--port-offset", type=int, default=0, help="as given to `up`")
    if platform:
        parser.add_argument(
            "--platform", help="e.g. ngsp or lgsp-bac-giang (default: the provincial one)"
        )
    parser.add_argument("--url", help="the platform's base URL, if not where the topology says")


def running_topology_options(parser: argparse.ArgumentParser) -> None:
    """--topology, defaulting to the running sandbox's (`sandbox/cli/which.py`), and the
    --data-dir of the `up` to ask."""
    parser.add_argument(
        "--topology",
        help="shipped name or file (default: what the running sandbox says, see --data-dir; "
        f"else {DEFAULT_TOPOLOGY})",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=DATA_DIR, help="of the running `up` (default data)"
    )


def say(message: str) -> None:
    console.print(f"{time.strftime('%H:%M:%S')} {message}", highlight=False)
