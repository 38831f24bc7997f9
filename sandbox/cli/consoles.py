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


# Where no screen limits a line (a file, a pipe, CI's log), tables take the width their
# content needs: squeezed to rich's default 80 columns, `up`'s table cut every URL short.
UNBOUNDED_WIDTH = 240


def stdout_console() -> Console:
    console = TerminalOnlyConsole()
    if not console.is_terminal:
        console.width = UNBOUNDED_WIDTH
    return console


def stderr_console() -> Console:
    return TerminalOnlyConsole(stderr=True, soft_wrap=True)
