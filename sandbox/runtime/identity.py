"""Who answers on a port: topology, node and the launch it belongs to.

`up` starts every node with a fresh instance id and accepts a node as its own only when the
node's `/healthz` names the same topology, node and instance: a port held by another sandbox
(or an older launch of this one) never passes for one of ours.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the compose health check imports this module: no FastAPI import there
    from fastapi import FastAPI


@dataclass(frozen=True)
class NodeIdentity:
    topology: str
    node: str
    instance: str

    @staticmethod
    def new_instance() -> str:
        return secrets.token_hex(8)

    def stamp(self, app: FastAPI) -> FastAPI:
        """The `/healthz` handlers of platforms and back ends add `app.state.identity`."""
        app.state.identity = asdict(self)
        return app

    @classmethod
    def of(cls, healthz_body: Any) -> NodeIdentity | None:
        """The identity a `/healthz` answer carries, or None if it carries none."""
        if not isinstance(healthz_body, dict):
            return None
        topology, node, instance = (healthz_body.get(k) for k in ("topology", "node", "instance"))
        if not (isinstance(topology, str) and isinstance(node, str) and isinstance(instance, str)):
            return None
        return cls(topology, node, instance)

    def describe(self) -> str:
        return f"{self.node} of topology {self.topology}, instance {self.instance}"
