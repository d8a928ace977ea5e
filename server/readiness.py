"""``GET /readyz``: whether this process can do its work now -- the database answers a
read and, with ``INBOX_REDIS_URL`` set, Redis answers a PING and the listener is
subscribed. ``/healthz`` says only that the process serves; a load balancer or an
orchestrator routes traffic by this one instead (docs/metrics.md).

200 ``{"status": "ready", "checks": {...}}`` or 503 ``{"status": "not_ready", ...}``;
each check is ``"ok"``, ``"off"`` (not configured) or why it failed (the exception's
class only: no addresses or credentials in the answer). Each check is bounded by
``timeout`` seconds, so a hung database answers 503 instead of hanging the probe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from aiohttp import web

from inbox.domain.ids import ChannelId
from inbox.ports import EventBus, Tx
from storage.redis_bus import RedisEventBus
from storage.store import SqlStore

__all__ = ["Readiness"]


class Readiness:
    def __init__(self, store: SqlStore, bus: EventBus, *, timeout: float = 2.0) -> None:
        self._store = store
        self._bus = bus
        self._timeout = timeout

    async def handle(self, request: web.Request) -> web.Response:
        checks = {"database": await self._database(), "redis": await self._redis()}
        ready = all(value in ("ok", "off") for value in checks.values())
        return web.json_response(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status=200 if ready else 503,
        )

    async def _database(self) -> str:
        async def probe(tx: Tx) -> None:
            await tx.channels.get(ChannelId("readyz-probe"))  # a primary-key read

        return await self._check(self._store.read(probe))

    async def _redis(self) -> str:
        bus = self._bus
        if not isinstance(bus, RedisEventBus):
            return "off"
        answer = await self._check(bus.ping())
        if answer == "ok" and not bus.listening:
            return "not subscribed yet"
        return answer

    async def _check(self, probe: Awaitable[object]) -> str:
        try:
            async with asyncio.timeout(self._timeout):
                await probe
        except TimeoutError:
            return f"no answer within {self._timeout:g} s"
        except Exception as exc:
            return f"unreachable ({type(exc).__name__})"
        return "ok"
