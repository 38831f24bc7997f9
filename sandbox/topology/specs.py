"""From a topology to what one node is given: a platform's spec, or a back end's config."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from contracts.platform import PlatformUrls
from contracts.topology import Mailbox, Service, Topology
from gateway.spec import MailboxSpec, PeerSpec, PlatformSpec, RouteSpec, UpstreamSpec
from sandbox.topology.addresses import AddressBook
from services.common.config import BackendConfig


def _route(
    topology: Topology, service: Service, target: Literal["backend", "upstream"], url: str
) -> RouteSpec:
    backend = topology.backends.get(service.backend) if service.backend else None
    own_spec = backend.contract_file if backend is not None else None
    return RouteSpec(
        code=service.code,
        version=service.version,
        title=service.title,
        owner=service.owner,
        owner_name=topology.agency_name(service.owner),
        tier=service.tier,
        target=target,
        url=url,
        contract=service.contract or (f"{service.code}.openapi" if own_spec else None),
        contract_file=own_spec if not service.contract else None,
        timeout_seconds=service.timeout_seconds,
    )


def _backend_url(service: Service, addresses: AddressBook) -> str:
    if service.address is not None:
        return str(service.address).rstrip("/")
    assert service.backend is not None
    return addresses.url(service.backend)


def platform_spec(topology: Topology, name: str, addresses: AddressBook) -> PlatformSpec:
    platform = topology.platforms[name]
    routes = [
        _route(topology, s, "backend", _backend_url(s, addresses))
        for s in topology.services_at(name)
    ]
    upstream = None
    if platform.upstream is not None:
        link = platform.upstream
        up = topology.platforms[link.platform]
        creds = next(c for c in topology.consumers_at(link.platform) if c.id == link.consumer)
        upstream = UpstreamSpec(
            platform=link.platform,
            title=up.title,
            agency=up.agency,
            url=addresses.url(link.platform),
            client_id=creds.client_id,
            client_secret=creds.client_secret,
        )
        routes += [
            _route(topology, s, "upstream", upstream.url) for s in topology.upstream_services(name)
        ]
    downstream = [_peer(topology, n, addresses) for n in topology.downstream_of(name)]
    return PlatformSpec(
        name=name,
        tier=platform.tier,
        title=platform.title,
        agency=platform.agency,
        agency_name=topology.agency_name(platform.agency),
        urls=PlatformUrls(http=addresses.url(name), https=addresses.https_url(name)),
        routes=routes,
        consumers=topology.consumers_at(name),
        upstream=upstream,
        downstream=downstream,
        mailboxes=[_mailbox(m, addresses) for m in topology.mailboxes],
        # Where the service is registered: one platform breaks it, not every hop on the way.
        faults=[f for f in topology.faults if f.service in _codes_at(topology, name)],
        validate_requests=platform.validate_requests,
        token_format=platform.token_format,
        unversioned_paths=platform.unversioned_paths,
        lgsp_access_token=platform.lgsp_access_token,
        context_aliases=platform.context_aliases,
        document_signatures=platform.document_signatures,
        axis_systems=topology.axis_systems_at(name),
        axis_agencies=topology.agencies,
    )


def _codes_at(topology: Topology, platform: str) -> set[str]:
    return {s.code for s in topology.services_at(platform)}


def _peer(topology: Topology, name: str, addresses: AddressBook) -> PeerSpec:
    platform = topology.platforms[name]
    link = platform.upstream
    creds = next(
        (
            c
            for c in topology.consumers_at(name)
            if link is not None and c.id == link.return_consumer
        ),
        None,
    )
    return PeerSpec(
        name=name,
        title=platform.title,
        tier=platform.tier,
        agency=platform.agency,
        url=addresses.url(name),
        client_id=creds.client_id if creds else None,
        client_secret=creds.client_secret if creds else None,
    )


def _mailbox(box: Mailbox, addresses: AddressBook) -> MailboxSpec:
    base = None
    if box.address is not None:
        base = str(box.address).rstrip("/")
    elif box.backend is not None:
        base = addresses.url(box.backend)
    return MailboxSpec(
        agency=box.agency, platform=box.platform, push_url=f"{base}{box.path}" if base else None
    )


def backend_config(topology: Topology, name: str, data_dir: Path) -> BackendConfig:
    backend = topology.backends[name]
    return BackendConfig(
        name=name, app=backend.app, seed=topology.seed, data_dir=data_dir, params=backend.params
    )
