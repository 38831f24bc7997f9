"""Who a package's sender is: the one decision every identity check on documents makes.

A package names its sender in three places a platform compares with the caller: From/OrganId,
the organ part of its DocumentId (`{organ},{yyyy/MM/dd},{number}`) and, in a status packet,
ResponseFor/OrganId (the sender of the document it answers). Real gateways write the axis
system id there (`vxp.saas.03`, PVN-Organization/API-Gateway-iOffice `EdxmlAggregateBuilder.java`),
which stands for the system's agency. Every check compares agencies after that mapping, here, so
a system id and its agency code are one sender everywhere, and nothing else is.
"""

from __future__ import annotations

from gateway.spec import PlatformSpec


def organ_of(document_id: str) -> str:
    """The organ part of an edXML DocumentId (the text before its first comma)."""
    return document_id.split(",", 1)[0].strip()


class Senders:
    def __init__(self, spec: PlatformSpec) -> None:
        self._systems = {s.systemid: s.agency for s in spec.axis_systems}

    def agency(self, organ_id: str) -> str:
        """The agency an OrganId stands for: an axis system id is its system's agency."""
        return self._systems.get(organ_id, organ_id)

    def same(self, organ_id: str, agency: str) -> bool:
        """`organ_id`, as a package writes it, names `agency`."""
        return self.agency(organ_id) == self.agency(agency)
