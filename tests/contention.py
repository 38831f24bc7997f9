"""The contention tier: tests marked `contention` run while CPU burner processes compete with
them for every core.

Why: failures that show only on a loaded machine (a connect that missed its time because the
event loop was starved, not because the back end was down) passed on a quiet machine and
failed on CI. These tests run loaded by design, every time, never retried.
`GSP_TEST_BURNERS` sets the number of burners (default: one per core; 0 turns them off).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

MARKER = "contention"
BURNERS_ENV = "GSP_TEST_BURNERS"
# Pure CPU, no I/O, no sleep; -S -I: no site, no project imports, so one starts in
# milliseconds even on a loaded machine.
_BURN = [sys.executable, "-S", "-I", "-c", "while True: pass"]


def burner_count() -> int:
    value = os.environ.get(BURNERS_ENV, "").strip()
    return max(0, int(value)) if value else (os.cpu_count() or 1)


@contextmanager
def cpu_burners(count: int | None = None) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` processes spinning on the CPU until the block ends."""
    burners: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(burner_count() if count is None else count):
            burners.append(subprocess.Popen(_BURN, stdin=subprocess.DEVNULL))
        yield burners
    finally:
        for burner in burners:
            burner.kill()  # by its own pid: the one this block started
        for burner in burners:
            burner.wait(timeout=30)
