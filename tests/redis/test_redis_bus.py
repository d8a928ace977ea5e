"""The Redis event bus against a real Redis: local and remote delivery exactly once,
every event type across, failing handlers, reconnection, clean stop."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from redis.asyncio import Redis

from inbox.domain.events import Event, OutboxReady, Typing
from inbox.domain.ids import ChannelId
from server.events import event_registry
from storage.redis_bus import RedisEventBus, default_channel_prefix
from tests.redis.conftest import Buses
from tests.redis.samples import ALL_EVENTS, CHANNEL, CONVERSATION_ID, MESSAGE

pytestmark = pytest.mark.redis

TIMEOUT = 5.0


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Condition()

    async def __call__(self, event: Event) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    async def wait_for(self, count: int, timeout: float = TIMEOUT) -> list[Event]:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.events) >= count)
        return self.events


def ready(n: int) -> OutboxReady:
    return OutboxReady(ChannelId(f"channel-{n}"))


async def settle() -> None:
    """Long enough for a stray duplicate to arrive over a local Redis."""
    await asyncio.sleep(0.3)


async def test_local_subscribers_get_each_event_exactly_once(buses: Buses) -> None:
    bus = await buses.new()
    seen = Recorder()
    bus.subscribe(seen)
    await bus.publish([ready(1), ready(2)])
    assert seen.events == [ready(1), ready(2)]  # delivered in publish(), before it returns
    await settle()
    assert seen.events == [ready(1), ready(2)]  # our own message from Redis was skipped


async def test_an_event_reaches_the_other_process_once_and_ours_once(buses: Buses) -> None:
    a, b = await buses.new(), await buses.new()
    assert a.process_id != b.process_id
    seen_a, seen_b = Recorder(), Recorder()
    a.subscribe(seen_a)
    b.subscribe(seen_b)

    await a.publish([ready(1)])
    assert seen_a.events == [ready(1)]
    assert await seen_b.wait_for(1) == [ready(1)]
    await b.publish([ready(2)])
    assert seen_b.events == [ready(1), ready(2)]
    assert await seen_a.wait_for(2) == [ready(1), ready(2)]
    await settle()
    assert seen_a.events == [ready(1), ready(2)]
    assert seen_b.events == [ready(1), ready(2)]


async def test_three_processes_each_see_each_event_once(buses: Buses) -> None:
    trio = [await buses.new() for _ in range(3)]
    seen = [Recorder() for _ in trio]
    for bus, recorder in zip(trio, seen, strict=True):
        bus.subscribe(recorder)
    for n, bus in enumerate(trio):
        await bus.publish([ready(n)])
    for recorder in seen:
        await recorder.wait_for(3)
    await settle()
    for recorder in seen:
        assert sorted(e.channel_id for e in recorder.events if isinstance(e, OutboxReady)) == [
            "channel-0",
            "channel-1",
            "channel-2",
        ]


async def test_every_event_type_survives_the_trip_in_order(buses: Buses) -> None:
    a, b = await buses.new(), await buses.new()
    seen = Recorder()
    b.subscribe(seen)
    await a.publish(ALL_EVENTS)
    assert await seen.wait_for(len(ALL_EVENTS)) == list(ALL_EVENTS)


async def test_a_failing_handler_does_not_stop_the_others(
    buses: Buses, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = await buses.new(), await buses.new()

    async def broken(event: Event) -> None:
        raise RuntimeError("handler bug")

    seen_a, seen_b = Recorder(), Recorder()
    for bus, recorder in ((a, seen_a), (b, seen_b)):
        bus.subscribe(broken)
        bus.subscribe(recorder)
    caplog.set_level(logging.ERROR)
    await a.publish([ready(1)])  # does not raise
    assert seen_a.events == [ready(1)]
    assert await seen_b.wait_for(1) == [ready(1)]
    failures = [r for r in caplog.records if "failed on OutboxReady" in r.getMessage()]
    assert len(failures) == 2  # once here, once in the other process
    assert all(r.exc_info is not None for r in failures)


async def test_payloads_are_never_logged(
    buses: Buses, redis_admin: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = await buses.new(), await buses.new()

    async def broken(event: Event) -> None:
        raise RuntimeError("handler bug")

    b.subscribe(broken)
    seen = Recorder()
    b.subscribe(seen)
    caplog.set_level(logging.DEBUG)
    await a.publish(ALL_EVENTS)
    # A newer process's event type, with a body: skipped with a warning that quotes no body.
    doc = event_registry().to_dict(ALL_EVENTS[0])
    doc["type"] = "message_created_v9"
    await redis_admin.publish(a.channel, json.dumps({"origin": "newer", "event": doc}))
    await redis_admin.publish(a.channel, "not json at all")
    await a.publish([ready(99)])
    await seen.wait_for(len(ALL_EVENTS) + 1)
    assert seen.events[-1] == ready(99)  # the listener lived through the garbage
    assert any("unknown event type" in r.getMessage() for r in caplog.records)
    assert any("not an event" in r.getMessage() for r in caplog.records)
    logged = caplog.text
    assert "астигматизма" not in logged
    assert MESSAGE.author_name not in logged


async def test_the_listener_reconnects_after_its_connection_is_killed(
    buses: Buses, redis_admin: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    a = await buses.new()
    b = await buses.new(backoff_initial=0.05, backoff_max=0.2)
    seen = Recorder()
    b.subscribe(seen)
    caplog.set_level(logging.INFO)

    clients = await redis_admin.client_list()
    ids = [c["id"] for c in clients if c.get("name") == b.listener_client_name]
    assert len(ids) == 1, clients
    killed = await redis_admin.client_kill_filter(_id=ids[0])
    assert killed == 1

    # Pub/sub does not keep what is sent while nobody listens: probe until b is back.
    probe = 0
    async with asyncio.timeout(TIMEOUT):
        while not seen.events:
            probe += 1
            await a.publish([ready(probe)])
            await asyncio.sleep(0.05)
    assert any(
        "lost its connection" in r.getMessage() and r.exc_info is not None for r in caplog.records
    )
    assert b.listening

    before = len(seen.events)
    await a.publish([Typing(CONVERSATION_ID, CHANNEL, None, "customer")])
    events = await seen.wait_for(before + 1)
    await settle()
    assert events[before:] == [Typing(CONVERSATION_ID, CHANNEL, None, "customer")]
    # and a new connection it is, under the same name
    names = [c.get("name") for c in await redis_admin.client_list()]
    assert names.count(b.listener_client_name) == 1


async def test_stop_is_clean_and_publish_afterwards_stays_local(buses: Buses) -> None:
    before = asyncio.all_tasks()
    bus = await buses.new()
    seen = Recorder()
    bus.subscribe(seen)
    await bus.publish([ready(1)])
    await bus.stop()
    assert not bus.listening
    assert asyncio.all_tasks() == before
    await bus.publish([ready(2)])  # no Redis any more; the local handlers still run
    assert seen.events == [ready(1), ready(2)]
    await bus.stop()  # twice is fine
    bus.start()  # and a stopped bus does not start again
    assert asyncio.all_tasks() == before


async def test_the_default_channel_is_named_after_the_database_number() -> None:
    assert default_channel_prefix("redis://127.0.0.1:6379/0") == "inbox:db0:"
    assert default_channel_prefix("redis://:pw@redis.internal:6379/3") == "inbox:db3:"
    assert default_channel_prefix("redis://localhost") == "inbox:db0:"
    assert (
        RedisEventBus("redis://localhost/5", registry=event_registry()).channel
        == "inbox:db5:events"
    )
    assert (
        RedisEventBus("redis://localhost/5", registry=event_registry(), channel_prefix="x:").channel
        == "x:events"
    )


async def test_without_redis_publish_still_delivers_locally_and_does_not_raise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Needs no Redis: a port where nothing listens."""
    bus = RedisEventBus(
        "redis://127.0.0.1:9/0",
        registry=event_registry(),
        channel_prefix="nowhere:",
        backoff_initial=0.05,
        backoff_max=0.1,
    )
    seen = Recorder()
    bus.subscribe(seen)
    before = asyncio.all_tasks()
    bus.start()
    caplog.set_level(logging.INFO)
    try:
        await bus.publish([ready(1)])
        await bus.publish([ready(2)])
        assert seen.events == [ready(1), ready(2)]
        await asyncio.sleep(0.3)  # the listener retries with back-off meanwhile
        assert not bus.listening
    finally:
        await bus.stop()
    assert asyncio.all_tasks() == before
    publish_errors = [r for r in caplog.records if "publishing events to Redis" in r.getMessage()]
    assert len(publish_errors) == 1  # one traceback per outage, not one per event
    assert sum("lost its connection" in r.getMessage() for r in caplog.records) >= 2
