"""Which nodes of a topology one process serves: GSP_NODES names them or selects them.

An entry is a node name (`population`) or a selector, so one fixed process definition (a
compose service) can serve a set of nodes that differs from topology to topology:

- `@app:<key>`: every back end of the topology running that app (`@app:generic`: the
  data-driven datasets — none in bac-giang-2022, 27 in bac-giang-2023).

A selector of a real app that matches nothing is not an error: the process then serves no
node.
(Not named `selectors`: a module of that name would shadow the standard library's.)
"""

from __future__ import annotations

from collections.abc import Iterable

from contracts.topology import Topology

APP_SELECTOR = "@app:"


class SelectionError(ValueError):
    """An entry of GSP_NODES that names no node and is no selector; the message says which."""


def select_nodes(topology: Topology, entries: Iterable[str]) -> list[str]:
    """The nodes the entries name or select, in the order given, each once."""
    chosen: dict[str, None] = {}
    for entry in entries:
        chosen.update(dict.fromkeys(_resolve(topology, entry)))
    return list(chosen)


def _resolve(topology: Topology, entry: str) -> list[str]:
    if entry.startswith(APP_SELECTOR):
        app = entry.removeprefix(APP_SELECTOR)
        if not app:
            raise SelectionError(f"GSP_NODES: {entry!r} names no app; expected @app:<app key>")
        matched = [name for name, backend in topology.backends.items() if backend.app == app]
        if not matched:
            _check_app(entry, app)
        return matched
    if entry.startswith("@"):
        raise SelectionError(
            f"GSP_NODES: unknown selector {entry!r}; expected a node name or @app:<app key>"
        )
    if entry in topology.platforms or entry in topology.backends:
        return [entry]
    known = ", ".join([*topology.platforms, *topology.backends])
    raise SelectionError(
        f"GSP_NODES: {entry!r} is not a node of topology {topology.name!r} (nodes: {known})"
    )


def _check_app(entry: str, app: str) -> None:
    """Matching nothing is fine for a real app, but a misspelt one would idle silently."""
    # Imported here: the catalog pulls in FastAPI, which the health check otherwise skips.
    from services.catalog import BACKEND_APPS

    if app not in BACKEND_APPS:
        known = ", ".join(sorted(BACKEND_APPS))
        raise SelectionError(f"GSP_NODES: {entry!r}: no back-end app {app!r} (apps: {known})")
