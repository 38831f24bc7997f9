"""Provincial e-office: documents between the province's agencies."""

from __future__ import annotations

from fastapi import FastAPI

from services.common import mailbox
from services.common.app import create_backend_app
from services.common.config import BackendConfig
from services.common.documents import document_router
from services.common.mailbox import MAILBOX_SCHEMA
from services.common.records import SCHEMA


def create_app(config: BackendConfig) -> FastAPI:
    return create_backend_app(
        config,
        title="Hệ thống quản lý văn bản và điều hành tỉnh (sample)",
        description="Internal official documents between agencies of the province.",
        routers=[document_router("QLVB"), mailbox.router],
        schema=SCHEMA + MAILBOX_SCHEMA,
    )
