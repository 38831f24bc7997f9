"""Import each first-party module alone, each in its own process; print what failed (JSON).

Run by tests/test_layering.py as `python -P tests/import_alone.py` with a JSON request on
stdin: {"first_party": [top-level packages], "preload": [third-party modules],
"modules": [modules to import]}.

A fresh interpreter per module costs its start-up and its third-party imports (fastapi,
pydantic, …: most of a second) 136 times over. So this interpreter, fresh itself, imports
only the third-party libraries, never a first-party module, and then forks one child per
module: each child starts with no first-party module loaded and imports just its own, so
a module that works only after another one was imported first (an order dependence, a
cycle's partly initialised module) fails as it would in a fresh interpreter.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from collections import deque
from collections.abc import Iterable

FIRST_PARTY: frozenset[str] = frozenset()


def loaded_first_party() -> list[str]:
    return sorted(m for m in sys.modules if m.partition(".")[0] in FIRST_PARTY)


def import_alone(module: str) -> str | None:
    """In a forked child: None when the module imports, else why not."""
    already = loaded_first_party()
    if already:
        return f"{module}: the process was not clean, it held {already}"
    try:
        importlib.import_module(module)
    except BaseException:  # a module may raise anything at import time, SystemExit included
        return f"{module}:\n{traceback.format_exc()}"
    return None


def _fork(module: str) -> tuple[str, int, int]:
    """A child that imports the module and writes why it failed (nothing: it imported)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        os.dup2(2, 1)  # whatever the module prints goes to stderr, not into the report
        failure = import_alone(module)
        with os.fdopen(write, "w", encoding="utf-8") as report:
            report.write(failure or "")
        os._exit(0)
    os.close(write)
    return module, pid, read


def _collect(module: str, pid: int, read: int) -> str | None:
    with os.fdopen(read, encoding="utf-8") as report:
        failure = report.read()
    _, status = os.waitpid(pid, 0)
    if failure:
        return failure
    code = os.waitstatus_to_exitcode(status)
    return None if code == 0 else f"{module}: the importing process ended with {code}"


def import_each_alone(modules: Iterable[str], at_once: int) -> list[str]:
    """One child per module, forked from this process, at most `at_once` running."""
    failures: list[str] = []
    running: deque[tuple[str, int, int]] = deque()
    for module in modules:
        if len(running) >= at_once:
            failures.append(_collect(*running.popleft()) or "")
        running.append(_fork(module))
    while running:
        failures.append(_collect(*running.popleft()) or "")
    return [f for f in failures if f]


def main() -> int:
    global FIRST_PARTY
    request = json.load(sys.stdin)
    FIRST_PARTY = frozenset(request["first_party"])
    for name in request["preload"]:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # an optional dependency: the module that needs it reports it
    leaked = loaded_first_party()
    if leaked:  # a third-party import pulled first-party code in: nothing would be "alone"
        print(json.dumps([f"preloading third-party modules imported {leaked}"]))
        return 1
    failures = import_each_alone(request["modules"], at_once=max(2, os.cpu_count() or 2))
    print(json.dumps(failures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
