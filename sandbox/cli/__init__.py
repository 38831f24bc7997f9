"""gsp-sandbox: run the sandbox topology, one node, or check a topology file.

The command line room: one module per group of commands, each declaring its options beside
its handler (`register(sub)`), and `main`, which registers them all, runs the one asked for
and turns the errors that mean "you asked for something that is not there" into exit code 2,
here and nowhere else. Also what the commands show: consoles, tables of a running sandbox
(`live.py`), the node logs (`logview.py`), the client that asks a running platform
(`platform_client.py`) and which topology a command talks to (`which.py`). Imports any room
beneath it; nothing imports it.
"""

from __future__ import annotations

import argparse

from rich.markup import escape

from sandbox.cli import export, logs, nodes, own, pki, running, up, validate, verify
from sandbox.cli.options import errors
from sandbox.topology.loading import TopologyError
from services.common.seeds import SeedError

DESCRIPTION = "gsp-sandbox: run the sandbox topology, one node, or check a topology file."
# In the order `gsp-sandbox --help` lists their commands.
COMMANDS = (up, nodes, pki, validate, verify, running, logs, export, own)


def _usage_error(exc: Exception) -> bool:
    """Does this error name something the caller asked for that is not there?"""
    if isinstance(exc, TopologyError | SeedError):
        return True
    # Only commands that ask a running platform raise it: imported when one did.
    from sandbox.topology.parties import PlatformNotFound

    return isinstance(exc, PlatformNotFound)


def parser() -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(prog="gsp-sandbox", description=DESCRIPTION)
    sub = made.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    return made


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except Exception as exc:
        if not _usage_error(exc):
            raise
        errors.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        return 2
    return code
