"""create_backend_app(): the shape every sample back end shares."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TypedDict

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from apikit.openapi import problem_openapi
from apikit.problems import install_problem_handlers
from services.common.config import BackendConfig
from services.common.database import Database


class BackendState(TypedDict):
    config: BackendConfig
    db: Database | None


def create_backend_app(
    config: BackendConfig,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    schema: str | None = None,
) -> FastAPI:
    """`schema`: the SQL of a stateful back end's tables; it then gets its own SQLite file."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[BackendState]:
        db = Database(config.database_path, schema) if schema else None
        if db is not None:
            await db.open()
        try:
            yield {"config": config, "db": db}
        finally:
            if db is not None:
                await db.close()

    app = FastAPI(title=title, description=description, version="1.0", lifespan=lifespan)
    install_problem_handlers(app)
    problem_openapi(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> JSONResponse:
        db: Database | None = request.state.db
        ok = db is None or await db.ping()
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "service": config.name},
            status_code=200 if ok else 503,
        )

    @app.post("/_sandbox/reset", include_in_schema=False)
    async def reset(request: Request) -> JSONResponse:
        # Back to the seeded state: the sample data is generated, so only what callers
        # submitted since (dossiers, documents, shipments) is stored, and it goes.
        db: Database | None = request.state.db
        cleared = await db.clear() if db is not None else []
        return JSONResponse({"service": config.name, "cleared_tables": cleared})

    for router in routers:
        app.include_router(router)
    return app


def config_of(request: Request) -> BackendConfig:
    config: BackendConfig = request.state.config
    return config


def db_of(request: Request) -> Database:
    db: Database | None = request.state.db
    assert db is not None, "this back end has no database"
    return db
