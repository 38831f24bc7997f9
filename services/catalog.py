"""Which code serves each back-end app key named in a topology file."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from fastapi import FastAPI

from services.common.config import BackendConfig

BackendFactory = Callable[[BackendConfig], FastAPI]

BACKEND_APPS: dict[str, str] = {
    # national databases and systems, behind NGSP
    "population": "services.national.population:create_app",
    "business-registration": "services.national.business_registration:create_app",
    "civil-status": "services.national.civil_status:create_app",
    "social-insurance": "services.national.social_insurance:create_app",
    "tax": "services.national.tax:create_app",
    "land": "services.national.land:create_app",
    "public-service-portal": "services.national.public_service_portal:create_app",
    "document-axis": "services.national.document_axis:create_app",
    "postal": "services.national.postal:create_app",
    "shared-categories": "services.national.shared_categories:create_app",
    "judicial-records": "services.national.judicial_records:create_app",
    # provincial systems, behind an LGSP
    "one-stop-shop": "services.provincial.one_stop_shop:create_app",
    "e-office": "services.provincial.e_office:create_app",
    "data-warehouse": "services.provincial.data_warehouse:create_app",
    # any further service: one data-driven app, its dataset named in params.dataset
    "generic": "services.generic.app:create_app",
    # the agency's own: from its OpenAPI (params.spec), recording a real upstream
    # (params.upstream, params.cassette), replaying a cassette (params.cassette)
    "openapi": "services.own.mock:create_app",
    "recorder": "services.own.recorder:create_app",
    "replay": "services.own.replay:create_app",
}


def load_factory(app_key: str) -> BackendFactory:
    try:
        target = BACKEND_APPS[app_key]
    except KeyError:
        known = ", ".join(sorted(BACKEND_APPS))
        raise KeyError(f"unknown back-end app {app_key!r}; known: {known}") from None
    module_name, _, attr = target.partition(":")
    factory: BackendFactory = getattr(import_module(module_name), attr)
    return factory
