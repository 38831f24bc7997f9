"""Where a document goes next from this platform, for each receiving agency.

Within a province the LGSP delivers itself; anything else goes up to the national platform,
which hands it down to the receiving province's LGSP or delivers to a ministry's system.
Hops are strings because they are stored in the outbox: "push:<agency>", "inbox:<agency>",
"upstream", "peer:<platform>".
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.spec import MailboxSpec, PlatformSpec, UpstreamSpec

UPSTREAM = "upstream"


@dataclass(frozen=True)
class Unroutable:
    agency: str
    reason: str


class Directory:
    def __init__(self, spec: PlatformSpec) -> None:
        self.spec = spec
        self._boxes = {m.agency: m for m in spec.mailboxes}
        self._peers = {p.name: p for p in spec.downstream}

    def mailbox(self, agency: str) -> MailboxSpec | None:
        return self._boxes.get(agency)

    def hop(self, agency: str) -> str | Unroutable:
        box = self._boxes.get(agency)
        if box is None:
            return Unroutable(agency, "no agency with this code receives documents here")
        if box.platform == self.spec.name:
            return f"push:{agency}" if box.push_url else f"inbox:{agency}"
        if self.spec.upstream is not None:
            return UPSTREAM
        peer = self._peers.get(box.platform)
        if peer is None:
            return Unroutable(agency, f"its platform {box.platform} is not connected here")
        if peer.client_id is None:
            return Unroutable(agency, f"{self.spec.name} holds no credential at {peer.name}")
        return f"peer:{peer.name}"

    def back(self, platform: str) -> str | None:
        """The hop that leads back to a neighbouring platform a document came from."""
        if self.spec.upstream is not None and self.spec.upstream.platform == platform:
            return UPSTREAM
        return f"peer:{platform}" if platform in self._peers else None

    def credentials(self, hop: str) -> UpstreamSpec | None:
        """Base URL and credentials for a platform hop."""
        if hop == UPSTREAM:
            return self.spec.upstream
        peer = self._peers.get(hop.removeprefix("peer:"))
        if peer is None or peer.client_id is None or peer.client_secret is None:
            return None
        return UpstreamSpec(
            platform=peer.name,
            title=peer.title,
            agency=peer.agency,
            url=peer.url,
            client_id=peer.client_id,
            client_secret=peer.client_secret,
        )
