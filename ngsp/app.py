"""The NGSP app factory: the shared engine with the NGSP view of the topology."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from gateway.app import create_platform_app
from gateway.settings import GatewaySettings
from gateway.spec import PlatformSpec
from ngsp.report import ngsp_report


def create_app(
    spec: PlatformSpec,
    settings: GatewaySettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    return create_platform_app(spec, settings, ngsp_report, transport=transport)
