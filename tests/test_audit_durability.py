"""No exchange is answered unlogged: every answered call is in the audit log after a SIGKILL.

The LGSP and a back end are real processes (`python -m sandbox.runtime.node`, as `gsp-sandbox up`
starts them). Calls go in from many clients at once; the LGSP is SIGKILLed while they run,
with no chance to flush anything; after a restart, every call that got an answer must have
its record, and the chain must verify. Removing the newest records must not go unnoticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sandbox.runtime.launcher import Launcher
from tests.helpers import credentials
from tests.node_processes import node_processes, wait_healthy

pytestmark = pytest.mark.processes

LGSP = "lgsp-bac-giang"
BACKEND = "data-warehouse"
CALLERS = 16
KILL_AFTER = 300  # answered calls before the SIGKILL


@pytest.fixture
async def launcher(tmp_path: Path) -> AsyncIterator[Launcher]:
    async with node_processes(tmp_path) as launcher:
        yield launcher


def _verify(database: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "audit-verify", str(database)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _logged(database: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return {row[0] for row in db.execute("SELECT message_id FROM audit")}


async def test_every_answered_call_is_in_the_audit_after_a_sigkill(
    launcher: Launcher, client: httpx.AsyncClient
) -> None:
    lgsp = launcher.addresses.url(LGSP)
    await launcher.start([LGSP, BACKEND])
    await wait_healthy(client, lgsp)
    await wait_healthy(client, launcher.addresses.url(BACKEND))
    issued = await client.post(
        f"{lgsp}/token",
        data={"grant_type": "client_credentials"},
        auth=credentials(launcher.topology, "motcua-bac-giang"),
    )
    headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    answered: list[str] = [issued.headers["X-Message-Id"]]
    enough, killed = asyncio.Event(), asyncio.Event()

    async def caller(n: int) -> None:
        i = 0
        while not killed.is_set():
            i += 1
            # Alternate answers that pass and answers that are refused: both are exchanges.
            path = "danhMucDuLieu" if i % 4 else "khongCo"
            with contextlib.suppress(httpx.HTTPError):
                response = await client.get(
                    f"{lgsp}/apiKhoDuLieu/1.0/{path}",
                    headers={**headers, "X-Message-Id": f"c{n}-{i}"},
                )
                answered.append(response.headers["X-Message-Id"])
                if len(answered) >= KILL_AFTER:
                    enough.set()

    async def killer() -> None:
        async with asyncio.timeout(60):
            await enough.wait()
        launcher.processes[LGSP].process.send_signal(signal.SIGKILL)
        await launcher.processes[LGSP].process.wait()
        killed.set()

    await asyncio.gather(killer(), *(caller(n) for n in range(CALLERS)))
    database = launcher.data_dir / f"{LGSP}.audit.sqlite3"
    missing = set(answered) - _logged(database)
    print(f"answered {len(answered)} before the SIGKILL; missing from the audit: {len(missing)}")
    assert not missing

    # The platform comes back on the same log and carries the chain on.
    await launcher.start([LGSP])
    await wait_healthy(client, lgsp)
    after = await client.get(f"{lgsp}/apiKhoDuLieu/1.0/danhMucDuLieu", headers=headers)
    assert after.status_code == 200
    assert after.headers["X-Message-Id"] in _logged(database)
    await launcher.stop()
    checked = _verify(database)
    assert checked.returncode == 0, checked.stderr
    assert "hash chain intact" in checked.stdout


async def test_removing_the_newest_records_is_detected(
    launcher: Launcher, client: httpx.AsyncClient
) -> None:
    lgsp = launcher.addresses.url(LGSP)
    await launcher.start([LGSP])
    await wait_healthy(client, lgsp)
    for _ in range(5):  # refused token requests: exchanges all the same
        await client.post(f"{lgsp}/token", data={"grant_type": "client_credentials"})
    await launcher.stop()
    database = launcher.data_dir / f"{LGSP}.audit.sqlite3"
    assert _verify(database).returncode == 0

    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("DELETE FROM audit WHERE id > (SELECT MAX(id) - 2 FROM audit)")
    truncated = _verify(database)
    assert truncated.returncode == 1
    assert "the newest records were removed" in truncated.stderr

    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("DELETE FROM audit_head")
    headless = _verify(database)
    assert headless.returncode == 1
    assert "head is missing" in headless.stderr

    # Forging a head for the shorter log needs the key, kept outside the database.
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        last_id, last_hash = db.execute(
            "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1"
        ).fetchone()
        db.execute(
            "INSERT INTO audit_head (one, last_id, hash, mac) VALUES (1, ?, ?, ?)",
            (last_id, last_hash, "0" * 64),
        )
    forged = _verify(database)
    assert forged.returncode == 1
    assert "does not match its MAC" in forged.stderr
