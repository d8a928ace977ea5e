"""``GET /readyz`` (server/readiness.py): ready while the database and, when configured,
Redis answer; 503 with the failing check otherwise. SQLite and PostgreSQL; Redis real
(INBOX_TEST_REDIS_URL) or a port where nothing listens."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from inbox.bus import InProcessEventBus
from server.events import event_registry
from server.readiness import Readiness
from storage import SqlStore, open_store
from storage.redis_bus import RedisEventBus
from tests.e2e.conftest import Live


async def _answer(readiness: Readiness) -> tuple[int, dict[str, Any]]:
    response: web.Response = await readiness.handle(make_mocked_request("GET", "/readyz"))
    assert response.text is not None
    return response.status, json.loads(response.text)


async def test_a_serving_process_without_redis_is_ready(live: Live) -> None:
    async with live.http.get(live.url("/readyz")) as resp:
        assert resp.status == 200
        assert await resp.json() == {
            "status": "ready",
            "checks": {"database": "ok", "redis": "off"},
        }


async def test_a_closed_database_is_not_ready(database_url: str) -> None:
    store: SqlStore = await open_store(database_url)
    await store.close()
    status, body = await _answer(Readiness(store, InProcessEventBus()))
    assert status == 503
    assert body["status"] == "not_ready"
    assert body["checks"]["database"].startswith("unreachable")


async def test_redis_that_does_not_answer_is_not_ready(store: SqlStore) -> None:
    bus = RedisEventBus("redis://127.0.0.1:1/0", registry=event_registry(), publish_timeout=0.5)
    try:
        status, body = await _answer(Readiness(store, bus, timeout=2.0))
    finally:
        await bus.stop()
    assert status == 503
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith(("unreachable", "no answer"))
    assert "127.0.0.1" not in json.dumps(body)  # no addresses in the answer
