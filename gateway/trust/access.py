"""Who may call what: each consumer's grants, from the topology and the admin API."""

from __future__ import annotations

from contracts.topology import Consumer


class AccessRights:
    def __init__(self, consumers: list[Consumer]) -> None:
        self._grants: dict[str, set[str]] = {c.id: set(c.grants) for c in consumers}

    def may_call(self, consumer_id: str, code: str) -> bool:
        grants = self._grants.get(consumer_id, set())
        return "*" in grants or code in grants

    def grants_of(self, consumer_id: str) -> list[str]:
        return sorted(self._grants.get(consumer_id, set()))

    def grant(self, consumer_id: str, code: str) -> None:
        self._grants.setdefault(consumer_id, set()).add(code)

    def revoke(self, consumer_id: str, code: str) -> None:
        self._grants.setdefault(consumer_id, set()).discard(code)
