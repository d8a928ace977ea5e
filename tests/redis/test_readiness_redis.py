"""``GET /readyz`` with a real Redis: not ready until the listener is subscribed, then
ready. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from server.events import event_registry
from server.readiness import Readiness
from storage import SqlStore
from storage.redis_bus import RedisEventBus
from tests.e2e.test_readiness import _answer
from tests.redis.conftest import LISTEN_TIMEOUT

pytestmark = pytest.mark.redis


async def test_redis_that_answers_and_a_subscribed_listener_are_ready(
    store: SqlStore, redis_url: str, channel_prefix: str
) -> None:
    bus = RedisEventBus(redis_url, registry=event_registry(), channel_prefix=channel_prefix)
    readiness = Readiness(store, bus)
    try:
        status, body = await _answer(readiness)
        assert (status, body["checks"]["redis"]) == (503, "not subscribed yet")
        bus.start()
        async with asyncio.timeout(LISTEN_TIMEOUT):
            await bus.wait_listening()
        status, body = await _answer(readiness)
        assert (status, body) == (
            200,
            {"status": "ready", "checks": {"database": "ok", "redis": "ok"}},
        )
    finally:
        await bus.stop()
