"""An agency's own back end, as a test stands it up: it echoes what the platform sent it."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def create_echo_app() -> FastAPI:
    app = FastAPI()
    seen: list[str] = []  # message ids of the calls that reached this back end

    @app.get("/_seen")
    async def calls_seen() -> list[str]:
        return seen

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def echo(path: str, request: Request) -> JSONResponse:
        body = await request.body()
        if not path.endswith("healthz"):
            seen.append(request.headers.get("x-message-id", ""))
        if path.endswith("redirect"):
            return JSONResponse(
                {}, status_code=302, headers={"Location": "http://169.254.169.254/"}
            )
        if path.endswith("slow"):
            await asyncio.sleep(2)  # longer than the test platforms wait
        return JSONResponse(
            {
                "method": request.method,
                "path": "/" + path,
                "raw_path": request.scope["raw_path"].decode("latin-1"),
                "query": request.url.query,
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "body": body.decode("utf-8", errors="replace"),
            },
            headers={"X-Echo": "1", "Connection": "keep-alive"},
        )

    return app
