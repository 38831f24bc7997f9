"""National document exchange axis: send a document, list received, get one, update status."""

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
        title="Trục liên thông văn bản quốc gia (sample)",
        description="Official documents between agencies, edXML header fields as JSON.",
        routers=[document_router("VBQG"), mailbox.router],
        schema=SCHEMA + MAILBOX_SCHEMA,
    )
