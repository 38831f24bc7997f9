"""Talk to a running platform from the command line: where it is, and tokens for its consumers.

Where: the topology's port, GSP_PORTS (as the launcher gives node processes) and
--port-offset, or --url for a platform somewhere else. Tokens: each consumer's own
credentials from the topology, through the platform's POST /token, as agency code does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from contracts.topology import Consumer, Topology
from sandbox.topology.addresses import AddressBook
from sandbox.topology.parties import admin_of

TIMEOUT_SECONDS = 10.0


def address_book(topology: Topology, port_offset: int = 0) -> AddressBook:
    """Where the nodes of a running sandbox listen, as `up` placed them."""
    raw = os.environ.get("GSP_PORTS")
    ports: dict[str, int] = json.loads(raw) if raw else {}
    return AddressBook(topology, ports).shifted(port_offset)


@dataclass
class PlatformClient:
    """One platform's HTTP client, with a token per consumer fetched once."""

    topology: Topology
    platform: str
    http: httpx.Client
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return str(self.http.base_url).rstrip("/")

    def token(self, consumer: Consumer) -> str:
        if consumer.id not in self._tokens:
            reply = self.http.post(
                "/token",
                data={"grant_type": "client_credentials"},
                auth=(consumer.client_id, consumer.client_secret),
            )
            reply.raise_for_status()
            self._tokens[consumer.id] = reply.json()["access_token"]
        return self._tokens[consumer.id]

    def bearer(self, consumer: Consumer) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(consumer)}"}

    def admin_headers(self) -> dict[str, str]:
        return self.bearer(admin_of(self.topology, self.platform))

    def get_as_admin(self, path: str, **params: str | int) -> httpx.Response:
        reply = self.http.get(path, params=params or None, headers=self.admin_headers())
        reply.raise_for_status()
        return reply


@contextmanager
def platform_client(
    topology: Topology, platform: str, *, url: str | None = None, port_offset: int = 0
) -> Iterator[PlatformClient]:
    base = url or address_book(topology, port_offset).url(platform)
    with httpx.Client(base_url=base, timeout=TIMEOUT_SECONDS, trust_env=False) as http:
        yield PlatformClient(topology, platform, http)
