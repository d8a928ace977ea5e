"""The channel cache of the hot paths (inbox/usecases/channel_cache.py): a change through
this process's use cases is seen at once, one written behind its back (another store on the
same database: another process) after the ttl and not before, a missing channel is never
kept, and the cache stays bounded -- on a real database (SQLite and PostgreSQL), with a
monotonic clock the test moves by hand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inbox.bus import InProcessEventBus
from inbox.domain.channel_io import (
    MediaBlob,
    WebhookBatch,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
)
from inbox.domain.channel_spec import ChannelCatalog, ChannelSpec
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import MediaRef
from inbox.domain.errors import Forbidden, NotFound
from inbox.domain.ids import ChannelId
from inbox.domain.messages import OutboundMessage
from inbox.ports import SendReceipt, Tx
from inbox.usecases import (
    ChannelCache,
    Core,
    Outcome,
    add_channel,
    cached_channel,
    receive_webhook,
    run,
    set_channel_enabled,
)
from server.config import ConfigError, load_settings
from storage import SqlStore, open_store

HOOK = ChannelKind("hook")
SPEC = ChannelSpec(kind=HOOK, options=frozenset({"secret"}), secrets=frozenset({"secret"}))
OK = WebhookReply(200, b"ok", "text/plain")


class Ticker:
    """A monotonic clock in seconds that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class HookAdapter:
    """A channel kind whose webhook body must be the channel's ``secret`` option: what a
    request is answered with shows which copy of the channel it was checked against."""

    kind: str = str(HOOK)
    checked: list[Channel] = field(default_factory=list)

    async def handle_webhook(self, channel: Channel, request: WebhookRequest) -> WebhookBatch:
        self.checked.append(channel)
        if request.body.decode() != channel.options.get("secret"):
            raise WebhookRejected(401, "unauthorized", "bad secret")
        return WebhookBatch(reply=OK)

    async def send(self, channel: Channel, message: OutboundMessage) -> SendReceipt:
        raise NotImplementedError

    async def fetch_media(self, channel: Channel, ref: MediaRef) -> MediaBlob:
        raise NotImplementedError

    async def setup(self, channel: Channel, public_url: str | None) -> Mapping[str, str]:
        return {}


def _hook(body: str) -> WebhookRequest:
    return WebhookRequest(method="POST", headers={}, query={}, body=body.encode())


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


def _core(store: SqlStore, ticker: Ticker) -> Core:
    return Core(
        store=store,
        bus=InProcessEventBus(),
        clock=FixedClock(),
        channels=ChannelCatalog.of([SPEC]),
        channel_cache=ChannelCache(2.0, clock=ticker),
    )


@pytest.fixture
def core(store: SqlStore, ticker: Ticker) -> Core:
    return _core(store, ticker)


@pytest.fixture
async def other(database_url: str) -> AsyncIterator[Core]:
    """Another process on the same database: its own store and its own cache."""
    store = await open_store(database_url)
    try:
        yield _core(store, Ticker())
    finally:
        await store.close()


async def test_a_disable_in_this_process_is_refused_at_once(core: Core) -> None:
    adapter = HookAdapter()
    channel = await add_channel(core, HOOK, "shop", {"secret": "s1"})
    assert await receive_webhook(core, adapter, channel.id, _hook("s1")) == OK
    assert await receive_webhook(core, adapter, channel.id, _hook("s1")) == OK
    assert core.channel_cache.reads == 1  # the second webhook did not read the row

    await set_channel_enabled(core, channel.id, False)  # the clock has not moved
    with pytest.raises(Forbidden):
        await receive_webhook(core, adapter, channel.id, _hook("s1"))
    await set_channel_enabled(core, channel.id, True)
    assert await receive_webhook(core, adapter, channel.id, _hook("s1")) == OK


async def test_a_change_behind_the_caches_back_is_seen_after_the_ttl_not_before(
    core: Core, other: Core, ticker: Ticker
) -> None:
    adapter = HookAdapter()
    channel = await add_channel(core, HOOK, "shop", {"secret": "s1"})
    assert await receive_webhook(core, adapter, channel.id, _hook("s1")) == OK

    await set_channel_enabled(other, channel.id, False)  # `inbox channel disable`
    ticker.advance(1.9)
    assert await receive_webhook(core, adapter, channel.id, _hook("s1")) == OK
    assert core.channel_cache.reads == 1
    ticker.advance(0.1)  # 2 s since the row was read
    with pytest.raises(Forbidden):
        await receive_webhook(core, adapter, channel.id, _hook("s1"))
    assert core.channel_cache.reads == 2

    await set_channel_enabled(other, channel.id, True)
    ticker.advance(2.0)
    assert await receive_webhook(core, adapter, channel.id, _hook("s1")) == OK


async def test_a_missing_channel_is_never_kept(core: Core, other: Core) -> None:
    """A flood of made-up ids stores nothing; an id another process adds later works at
    once."""
    adapter = HookAdapter()
    for n in range(50):
        with pytest.raises(NotFound):
            await receive_webhook(core, adapter, ChannelId(f"made-up-{n}"), _hook("x"))
    assert len(core.channel_cache) == 0
    assert core.channel_cache.reads == 50

    later = ChannelId("made-up-7")
    with pytest.raises(NotFound):
        await receive_webhook(core, adapter, later, _hook("s1"))
    added = Channel(
        id=later, kind=HOOK, name="late", created_at=datetime.now(UTC), options={"secret": "s1"}
    )

    async def add(tx: Tx) -> Outcome[None]:
        await tx.channels.add(added)
        return Outcome(None)

    await run(other, add)
    assert await receive_webhook(core, adapter, later, _hook("s1")) == OK  # clock unmoved


async def test_the_options_the_setup_returns_are_used_at_once(core: Core) -> None:
    """The provider calls the webhook while it is being registered (Viber): that request
    caches the channel without the secret the setup then returns; the next request is
    checked against the stored secret all the same."""
    adapter = HookAdapter()

    async def setup(channel: Channel) -> Mapping[str, str]:
        assert await receive_webhook(core, adapter, channel.id, _hook("first")) == OK
        return {"secret": "generated"}

    channel = await add_channel(core, HOOK, "shop", {"secret": "first"}, setup)
    assert await receive_webhook(core, adapter, channel.id, _hook("generated")) == OK
    with pytest.raises(WebhookRejected):
        await receive_webhook(core, adapter, channel.id, _hook("first"))


async def test_a_channel_removed_after_a_failed_setup_is_gone_at_once(core: Core) -> None:
    adapter = HookAdapter()
    seen: list[ChannelId] = []

    async def setup(channel: Channel) -> Mapping[str, str]:
        assert await receive_webhook(core, adapter, channel.id, _hook("s1")) == OK
        seen.append(channel.id)
        raise RuntimeError("the provider refused the token")

    with pytest.raises(RuntimeError):
        await add_channel(core, HOOK, "shop", {"secret": "s1"}, setup)
    with pytest.raises(NotFound):
        await receive_webhook(core, adapter, seen[0], _hook("s1"))


async def test_ttl_zero_reads_every_time(store: SqlStore) -> None:
    core = Core(
        store=store,
        bus=InProcessEventBus(),
        clock=FixedClock(),
        channels=ChannelCatalog.of([SPEC]),
        channel_cache=ChannelCache(0),
    )
    channel = await add_channel(core, HOOK, "shop", {"secret": "s1"})
    for _ in range(3):
        assert await cached_channel(core, channel.id) == channel
    assert (core.channel_cache.reads, len(core.channel_cache)) == (3, 0)


# The cache on its own: reads are plain coroutines, no database.


def _channel(n: int, *, enabled: bool = True) -> Channel:
    return Channel(
        id=ChannelId(f"c{n}"),
        kind=HOOK,
        name=f"c{n}",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        enabled=enabled,
    )


async def test_the_cache_is_bounded_and_drops_the_oldest_first(ticker: Ticker) -> None:
    cache = ChannelCache(2.0, max_entries=3, clock=ticker)
    rows = [_channel(n) for n in range(5)]
    for row in rows:
        await cache.get(row.id, _reader(row))
        ticker.advance(0.01)
    assert len(cache) == 3
    for row in rows[2:]:  # the newest three are kept
        assert await cache.get(row.id, _unread) == row
    reads = cache.reads
    assert await cache.get(rows[0].id, _reader(rows[0])) == rows[0]  # the oldest went
    assert cache.reads == reads + 1
    assert len(cache) == 3


async def test_a_full_cache_drops_expired_entries_before_fresh_ones(ticker: Ticker) -> None:
    cache = ChannelCache(2.0, max_entries=3, clock=ticker)
    rows = [_channel(n) for n in range(4)]
    await cache.get(rows[0].id, _reader(rows[0]))
    ticker.advance(1.5)
    await cache.get(rows[1].id, _reader(rows[1]))
    await cache.get(rows[2].id, _reader(rows[2]))
    ticker.advance(1.0)  # rows[0] expired, the others are fresh
    await cache.get(rows[3].id, _reader(rows[3]))
    assert len(cache) == 3
    for row in rows[1:]:
        assert await cache.get(row.id, _unread) == row


async def test_a_read_in_flight_when_the_channel_changed_is_not_kept(ticker: Ticker) -> None:
    """The read may have found the row from before the change: keeping it would bring the
    old row back for a whole ttl after this process changed it."""
    cache = ChannelCache(2.0, clock=ticker)
    before, after = _channel(1), _channel(1, enabled=False)
    release = asyncio.Event()

    async def slow_read() -> Channel | None:
        await release.wait()
        return before

    in_flight = asyncio.create_task(cache.get(before.id, slow_read))
    await asyncio.sleep(0)
    cache.forget(before.id)  # the change committed while the read was under way
    release.set()
    assert await in_flight == before
    assert len(cache) == 0
    assert await cache.get(before.id, _reader(after)) == after


async def test_the_age_counts_from_when_the_read_started(ticker: Ticker) -> None:
    cache = ChannelCache(2.0, clock=ticker)
    row = _channel(1)

    async def slow_read() -> Channel | None:
        ticker.advance(1.5)  # the database took its time
        return row

    await cache.get(row.id, slow_read)
    ticker.advance(0.5)
    assert await cache.get(row.id, _reader(row)) == row
    assert cache.reads == 2


def _reader(channel: Channel) -> Callable[[], Awaitable[Channel | None]]:
    """A read that finds ``channel``."""

    async def read() -> Channel | None:
        return channel

    return read


async def _unread() -> Channel | None:
    raise AssertionError("read again: the entry should have been kept")


def test_nonsense_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="ttl"):
        ChannelCache(-1)
    with pytest.raises(ValueError, match="max_entries"):
        ChannelCache(max_entries=0)


def test_the_setting_defaults_to_two_seconds_and_refuses_a_negative(tmp_path: Path) -> None:
    none = str(tmp_path / "none.toml")
    assert load_settings({}, none).channel_cache_seconds == 2.0
    assert load_settings({"INBOX_CHANNEL_CACHE_SECONDS": "0"}, none).channel_cache_seconds == 0
    with pytest.raises(ConfigError, match="INBOX_CHANNEL_CACHE_SECONDS"):
        load_settings({"INBOX_CHANNEL_CACHE_SECONDS": "-1"}, none)
