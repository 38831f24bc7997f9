"""Build the ASGI app of any node of a topology: a platform of either tier, or a back end."""

from __future__ import annotations

from fastapi import FastAPI

from contracts.topology import Tier, Topology
from gateway.settings import GatewaySettings
from lgsp.app import create_app as create_lgsp
from ngsp.app import create_app as create_ngsp
from sandbox.topology.addresses import AddressBook
from sandbox.topology.specs import backend_config, platform_spec
from services.catalog import load_factory
from services.common.seeds import seed_paths


def build_app(
    topology: Topology, node: str, addresses: AddressBook, settings: GatewaySettings
) -> FastAPI:
    if node in topology.platforms:
        spec = platform_spec(topology, node, addresses)
        factory = create_ngsp if spec.tier is Tier.NATIONAL else create_lgsp
        return factory(spec, settings)
    if node in topology.backends:
        config = backend_config(topology, node, settings.data_dir)
        config.seeds = seed_paths(topology.seeds)
        return load_factory(config.app)(config)
    raise KeyError(f"{node!r} is not a node of topology {topology.name!r}")
