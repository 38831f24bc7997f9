"""One log line per call a back end answers, with the message id the platform gave it.

The platforms log each exchange under its X-Message-Id; with the same id here, `gsp-sandbox
logs --message-id` shows one call on every node it reached, the back end included. Pure
ASGI (no body is touched), and free when the log is at warning.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apikit.headers import MESSAGE_ID

log = logging.getLogger("gsp.backend")
_MESSAGE_ID = MESSAGE_ID.lower().encode("latin-1")
# The platforms' health checks, every second: not calls anyone wants to read about.
_QUIET_PATHS = frozenset({"/healthz"})


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in _QUIET_PATHS
            or not log.isEnabledFor(logging.INFO)
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the caller gets if the app fails before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            message_id = next(
                (v.decode("latin-1") for k, v in scope["headers"] if k == _MESSAGE_ID), None
            )
            log.log(
                logging.WARNING if status >= 500 else logging.INFO,
                "%s %s -> %d",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "message_id": message_id,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
