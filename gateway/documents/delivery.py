"""The background worker that moves documents and statuses on from the outbox.

At-least-once on the wire: an item is marked done only after the next hop acknowledged it,
so a crash between the two repeats the call, and every receiver (a platform, or an agency's
back end) deduplicates by document id or event id. Failures back off exponentially with
jitter; after the last attempt a document is marked failed for its receivers and the sender
is told so through the same status path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time

import httpx

from apikit import headers as h
from gateway.documents.directory import UPSTREAM
from gateway.documents.service import DocumentService
from gateway.documents.store import OutboxItem
from gateway.settings import GatewaySettings
from gateway.trust.upstream_token import UpstreamToken

log = logging.getLogger(__name__)


class Permanent(Exception):
    """The next hop refused for good (a 4xx): retrying would not change its answer."""


class DeliveryWorker:
    def __init__(
        self,
        service: DocumentService,
        client: httpx.AsyncClient,
        settings: GatewaySettings,
        upstream_token: UpstreamToken | None,
        wakeup: asyncio.Event,
    ) -> None:
        self.service = service
        self.store = service.store
        self.client = client
        self.settings = settings
        self._tokens: dict[str, UpstreamToken] = {}
        if upstream_token is not None:
            self._tokens[UPSTREAM] = upstream_token
        # Set by the document service when it commits outbox rows (and by finished attempts).
        self._wakeup = wakeup
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[int] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"delivery:{self.service.spec.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        limit = asyncio.Semaphore(self.settings.delivery_concurrency)
        running: set[asyncio.Task[None]] = set()
        while True:
            self._wakeup.clear()
            due = await self.store.due(self.settings.delivery_concurrency * 4)
            items = [i for i in due if i.id not in self._in_flight]
            for item in items:
                self._in_flight.add(item.id)
                await limit.acquire()
                task = asyncio.create_task(self._attempt(item, limit))
                running.add(task)
                task.add_done_callback(running.discard)
            if items:
                continue
            next_at = None if due else await self.store.next_due_at()
            # Sleep until the next retry is due, an attempt ends, or a new item wakes us.
            wait = 1.0 if next_at is None else min(1.0, max(0.01, next_at - time.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=wait)

    async def _attempt(self, item: OutboxItem, limit: asyncio.Semaphore) -> None:
        try:
            await self._try(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one item's bug must not stop the worker; it is retried
            log.exception("delivery of outbox item %d failed unexpectedly", item.id)
            if item.attempts + 1 >= self.settings.delivery_max_attempts:
                # Bounded like any other failure: an item that always fails stops, and its
                # sender is told, instead of being retried for ever.
                try:
                    await self._give_up(item, f"internal error: {type(exc).__name__}")
                except Exception:  # the item is marked failed first; the rest is best effort
                    log.exception("outbox item %d: recording its failure failed too", item.id)
            else:
                await self.store.retry_later(item, self.settings.delivery_max_delay_seconds, "bug")
        finally:
            self._in_flight.discard(item.id)
            limit.release()
            self._wakeup.set()

    async def _try(self, item: OutboxItem) -> None:
        try:
            if item.kind == "deliver":
                await self._deliver(item)
            else:
                await self._relay_status(item)
        except Permanent as exc:
            await self._give_up(item, str(exc))
            return
        except (httpx.HTTPError, _Retry) as exc:
            reason = f"{type(exc).__name__}: {exc}"[:300]
            if item.attempts + 1 >= self.settings.delivery_max_attempts:
                await self._give_up(item, f"gave up after {item.attempts + 1} attempts: {reason}")
                return
            delay = min(
                self.settings.delivery_base_delay_seconds * 2**item.attempts,
                self.settings.delivery_max_delay_seconds,
            ) * random.uniform(0.5, 1.0)
            if item.kind == "deliver" and item.attempts == 0:
                await self.service.retrying(item.document_id, item.receivers, reason)
            await self.store.retry_later(item, delay, reason)
            return
        # The outbox row and what the delivery means for its receivers: one transaction.
        async with self.store.transaction() as db:
            await self.store.finish(db, item, "done")
            if item.kind == "deliver":
                await self.service.delivered(db, item.document_id, item.hop, item.receivers)

    async def _give_up(self, item: OutboxItem, reason: str) -> None:
        log.warning("outbox item %d (%s %s) failed: %s", item.id, item.kind, item.hop, reason)
        async with self.store.transaction() as db:
            await self.store.finish(db, item, "failed")
            if item.kind == "deliver":
                await self.service.failed(db, item.document_id, item.receivers, reason)

    async def _deliver(self, item: OutboxItem) -> None:
        doc = await self.store.get(item.document_id)
        assert doc is not None
        push = item.hop.startswith("push:")
        delivery = self.service.delivery(doc, item.receivers, to_receiver=push)
        body = delivery.model_dump_json(by_alias=True, exclude_none=True)
        headers = {"Content-Type": "application/json", h.MESSAGE_ID: doc.message_id}
        if push:
            box = self.service.directory.mailbox(item.hop.removeprefix("push:"))
            assert box is not None and box.push_url is not None
            response = await self.client.post(
                box.push_url,
                content=body,
                headers=headers,
                timeout=self.settings.delivery_timeout_seconds,
            )
        else:
            response = await self._platform_call(item.hop, "/documents/relay", body, headers)
        _check(response)

    async def _relay_status(self, item: OutboxItem) -> None:
        assert item.payload is not None
        headers = {"Content-Type": "application/json"}
        doc = await self.store.get(item.document_id)
        if doc is not None:
            headers[h.MESSAGE_ID] = doc.message_id
        response = await self._platform_call(
            item.hop, "/documents/relay-status", item.payload, headers
        )
        _check(response)

    async def _platform_call(
        self, hop: str, path: str, body: str, headers: dict[str, str]
    ) -> httpx.Response:
        peer = self.service.directory.credentials(hop)
        if peer is None:
            raise Permanent(f"no route or credential for hop {hop}")
        token = self._tokens.get(hop)
        if token is None:
            token = self._tokens[hop] = UpstreamToken(
                self.client, peer, self.settings.upstream_token_margin_seconds
            )
        try:
            bearer = await token.bearer()
        except Exception as exc:  # a token refusal surfaces as a ProblemError: retry later
            raise _Retry(f"no token from {peer.platform}: {exc}") from None
        response = await self.client.post(
            f"{peer.url}{path}",
            content=body,
            headers={**headers, "Authorization": f"Bearer {bearer}"},
            timeout=self.settings.delivery_timeout_seconds,
        )
        if response.status_code == 401:
            token.invalidate()
        return response


class _Retry(Exception):
    pass


def _check(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"{status} from {response.request.url}: {response.text[:200]}"
    if status in (401, 408, 425, 429) or status >= 500:
        raise _Retry(detail)
    raise Permanent(detail)
