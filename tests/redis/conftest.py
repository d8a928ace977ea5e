"""Fixtures for the Redis event bus tests.

They need a real Redis, named by ``INBOX_TEST_REDIS_URL`` (e.g. ``redis://127.0.0.1:6379/0``).
Without it the tests that need Redis are skipped, with the reason, unless ``CI=true``: there
they fail, because CI must never skip them silently. Each test gets a channel prefix of its
own, so concurrent runs on one Redis do not see each other's events (pub/sub channels are
global to a Redis server, whatever the database number).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from server.events import event_registry
from storage import migrate
from storage.redis_bus import RedisEventBus
from tests.ci import in_ci
from tests.conftest import _execute, _new_schema_name, _postgres_base_url, _with_schema

REDIS_URL_ENV = "INBOX_TEST_REDIS_URL"
LISTEN_TIMEOUT = 5.0


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    if url:
        return url
    missing = f"{REDIS_URL_ENV} is not set (e.g. redis://127.0.0.1:6379/0)"
    if in_ci():
        pytest.fail(f"CI=true requires the Redis tests, but {missing}", pytrace=False)
    pytest.skip(f"{missing}: Redis test skipped")


@pytest.fixture
def channel_prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"


@pytest.fixture
async def redis_admin(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client, for what a test does to Redis behind the buses' backs."""
    client: Redis = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


class Buses:
    """Makes started, subscribed buses on one channel (each one a "process") and stops
    them all after the test."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self.made: list[RedisEventBus] = []

    async def new(
        self, *, backoff_initial: float = 0.2, backoff_max: float = 10.0
    ) -> RedisEventBus:
        bus = RedisEventBus(
            self.url,
            registry=event_registry(),
            channel_prefix=self.prefix,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
        )
        self.made.append(bus)
        bus.start()
        async with asyncio.timeout(LISTEN_TIMEOUT):
            await bus.wait_listening()
        return bus

    async def stop_all(self) -> None:
        for bus in self.made:
            await bus.stop()


@pytest.fixture
async def buses(redis_url: str, channel_prefix: str) -> AsyncIterator[Buses]:
    made = Buses(redis_url, channel_prefix)
    try:
        yield made
    finally:
        await made.stop_all()


@pytest.fixture
async def schema_url() -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL schema of this test's own, dropped afterwards."""
    base = _postgres_base_url()
    schema = _new_schema_name()
    await _execute(base, f"CREATE SCHEMA {schema}")
    try:
        url = _with_schema(base, schema)
        await migrate(url)
        yield url
    finally:
        await _execute(base, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
