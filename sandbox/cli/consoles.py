"""The command line's consoles: colour on a terminal, plain text anywhere else.

rich colours whenever FORCE_COLOR or TTY_COMPATIBLE says so, which many CI systems set for
every process; `up` redirected to a file (`make run > run.log`) then wrote colour codes
into it. What goes to a file or a pipe is read by grep and by people in editors: only a
real terminal gets colour.
"""

from __future__ import annotations

from rich.console import Console


class TerminalOnlyConsole(Console):
    @property
    def is_terminal(self) -> bool:
        isatty = getattr(self.file, "isatty", None)
        try:
            return bool(isatty is not None and isatty())
        except ValueError:  # a closed stream (the end of a pytest run) is no terminal
            return False


def stdout_console() -> Console:
    return TerminalOnlyConsole()


def stderr_console() -> Console:
    return TerminalOnlyConsole(stderr=True, soft_wrap=True)
