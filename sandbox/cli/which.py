"""Which topology the command line talks to: the one the running sandbox says, before a default.

The CLI assumed bac-giang-2022 unless `--topology` was given: against a running `vietnam`,
`call` fetched its token at the wrong URL (401) and `topology` printed the wrong name. In
order: `--topology` as given; the running `up` of the data dir (its control socket names the
topology it loaded); a running platform's `/healthz` (every node names its topology) at
`--url`, else at where the national platform listens in the shipped presets (`--port-offset`
applied); the default last.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import httpx

from sandbox.runtime import control
from sandbox.runtime.identity import NodeIdentity
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import (
    DEFAULT_TOPOLOGY,
    TopologyError,
    load_topology,
    resolve_topology_path,
)

# A /healthz that does not answer within this is no running sandbox (the probe is local).
PROBE_TIMEOUT_SECONDS = 2.0


def topology_ref(args: argparse.Namespace) -> str:
    """The topology to load for a command's arguments (see the module's docstring)."""
    given: str | None = getattr(args, "topology", None)
    if given:
        return given
    data_dir: Path | None = getattr(args, "data_dir", None)
    if data_dir is not None:
        found = from_control(data_dir)
        if found is not None:
            return found
    url: str | None = getattr(args, "url", None)
    found = from_healthz(url or default_platform_url(getattr(args, "port_offset", 0) or 0))
    return found or DEFAULT_TOPOLOGY


def from_control(data_dir: Path) -> str | None:
    """The topology the `up` of this data dir loaded, if one runs there."""
    try:
        answer = control.request(data_dir, {"command": "ps"}, timeout=PROBE_TIMEOUT_SECONDS)
    except (OSError, ValueError):  # NotRunning is an OSError: no `up` there
        return None
    topology = answer.get("topology")
    return topology if isinstance(topology, str) and _loadable(topology) else None


def from_healthz(base_url: str) -> str | None:
    """The topology a running node at `base_url` names, if it is one this machine can load."""
    try:
        response = httpx.get(
            f"{base_url.rstrip('/')}/healthz", timeout=PROBE_TIMEOUT_SECONDS, trust_env=False
        )
        identity = NodeIdentity.of(response.json())
    except (httpx.HTTPError, ValueError):
        return None
    if identity is None or not _loadable(identity.topology):
        return None
    return identity.topology


def default_platform_url(port_offset: int) -> str:
    """Where the national platform listens in every shipped preset (`ports: base`)."""
    topology = load_topology(DEFAULT_TOPOLOGY)
    national = next(n for n, p in topology.platforms.items() if p.upstream is None)
    return AddressBook(topology).shifted(port_offset).url(national)


def _loadable(ref: str) -> bool:
    try:
        resolve_topology_path(ref)
    except TopologyError:
        return False
    return True
