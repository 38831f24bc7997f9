"""create_backend_app(): the shape every sample back end shares."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TypedDict

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from apikit.openapi import problem_openapi
from apikit.problems import install_problem_handlers
from contracts.registry import ref_of_app, scenarios_for_app
from services.common.backend_data import SampleData
from services.common.config import BackendConfig
from services.common.database import Database
from services.common.fidelity import document_fidelity
from services.common.request_log import RequestLogMiddleware
from services.common.scenario_middleware import ScenarioMiddleware
from services.common.scenarios import ScenarioBook, document_scenarios
from services.common.seeds import load_seeds


class BackendState(TypedDict):
    config: BackendConfig
    db: Database | None
    data: SampleData


def create_backend_app(
    config: BackendConfig,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    schema: str | None = None,
) -> FastAPI:
    """`schema`: the SQL of a stateful back end's tables; it then gets its own SQLite file.

    Seeds are read here, so a bad seed file stops the back end before it serves (SeedError).
    """
    data = SampleData(config.seed, load_seeds(config.seeds))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[BackendState]:
        db = Database(config.database_path, schema) if schema else None
        if db is not None:
            await db.open()
        try:
            yield {"config": config, "db": db, "data": data}
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
            {
                "status": "ok" if ok else "unavailable",
                "service": config.name,
                # topology, node, instance: set by whoever hosts the app (sandbox.runtime.identity)
                **getattr(request.app.state, "identity", {}),
            },
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
    # X-Sandbox-Scenario: the canned outcomes the back end's contract declares.
    scenarios = scenarios_for_app(config.app, config.params)
    document_scenarios(app, scenarios)
    ref = ref_of_app(config.app, config.params)
    if ref is not None:  # the e-office speaks the axis's contract: the axis documents it
        document_fidelity(app, ref)
    app.add_middleware(ScenarioMiddleware, book=ScenarioBook(config.name, scenarios), backend=app)
    app.add_middleware(RequestLogMiddleware)  # outermost: it sees what the caller got
    return app


def config_of(request: Request) -> BackendConfig:
    config: BackendConfig = request.state.config
    return config


def data_of(request: Request) -> SampleData:
    """The sample data with the seeded records: what lookups should read."""
    data: SampleData = request.state.data
    return data


def db_of(request: Request) -> Database:
    db: Database | None = request.state.db
    assert db is not None, "this back end has no database"
    return db
