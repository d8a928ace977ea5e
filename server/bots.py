"""The root's glue between the bots and routing features: which routing queue (the bots'
*scope*) a channel's conversations go to, and queue names to scopes for the CLI and REST.

The features never import each other; the root, above both, knows the storage's
transaction carries every feature's repositories."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from bots import BotService, hours
from bots.hours import Schedule
from bots.ports import BotsTx
from bots.records import DEFAULT_SCOPE, Scope
from inbox.domain.errors import NotFound
from inbox.domain.ids import ChannelId
from inbox.ports import Tx
from routing import QueueId, RoutingTx, parse_settings
from storage.repositories.tx import SqlTx

__all__ = ["BotOpeningHours", "CachedQueueOf", "as_bots_tx", "queue_of", "scope_named"]


def as_bots_tx(tx: Tx) -> BotsTx:
    """The core's transaction as the bots' one: the storage's carries every repository."""
    if not isinstance(tx, SqlTx):  # pragma: no cover - the root always wires the SqlStore
        raise TypeError("the bots need the storage's transaction")
    return tx


async def queue_of(tx: Tx, channel_id: ChannelId) -> Scope | None:
    """The id of the queue that takes the channel's conversations, as routing chooses it
    (the first queue by name that lists the channel, else the default queue); ``None``
    when there are no queues yet."""
    return _scope_in(await _queues(tx), channel_id)


async def _queues(tx: Tx) -> list[tuple[QueueId, frozenset[ChannelId], bool]]:
    """Every queue by name: its id, its channels, whether it is the default."""
    if not isinstance(tx, SqlTx):  # pragma: no cover - the root always wires the SqlStore
        raise TypeError("queue_of needs the storage's transaction")
    routing_tx: RoutingTx = tx
    records = await routing_tx.routing.list_queues()  # by name
    return [(r.id, parse_settings(r).config.channel_ids, r.is_default) for r in records]


def _scope_in(
    queues: list[tuple[QueueId, frozenset[ChannelId], bool]], channel_id: ChannelId
) -> Scope | None:
    for queue_id, channels, _default in queues:
        if channel_id in channels:
            return Scope(queue_id)
    default = next((q for q, _c, is_default in queues if is_default), None)
    return Scope(default) if default is not None else None


class CachedQueueOf:
    """:func:`queue_of` for the bots' intake, which asks it for every customer message:
    the queues (a small table) are read at most once per ``ttl`` seconds (the channel
    cache's, ``INBOX_CHANNEL_CACHE_SECONDS``), so a queue's channels changed anywhere
    change the bots' scope within that long. No queues yet is never kept (the first
    routing pass creates the default queue). ``ttl`` 0 reads every time. It cost about
    6 % of the SQLite writer in docs/performance.md's profile."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._queues: list[tuple[QueueId, frozenset[ChannelId], bool]] | None = None
        self._read_at = 0.0

    async def __call__(self, tx: Tx, channel_id: ChannelId) -> Scope | None:
        now = self._clock()
        queues = self._queues
        if queues is None or now - self._read_at >= self._ttl:
            queues = await _queues(tx)
            self._queues, self._read_at = (queues, now) if queues and self._ttl > 0 else (None, 0.0)
        return _scope_in(queues, channel_id)


async def scope_named(tx: RoutingTx, name: str) -> Scope:
    """``default`` (the whole inbox) or a queue's name or id; raises NotFound."""
    if name == DEFAULT_SCOPE:
        return DEFAULT_SCOPE
    record = await tx.routing.get_queue_by_name(name) or await tx.routing.get_queue(QueueId(name))
    if record is None:
        raise NotFound(f"no queue named {name!r} (or use 'default' for the whole inbox)")
    return Scope(record.id)


class BotOpeningHours:
    """Routing's ``OpeningHours`` port over the bots' business hours: a queue's own
    schedule, else the whole inbox's; no schedule at all means always open."""

    def __init__(self, bots: BotService) -> None:
        self._bots = bots

    def _schedule(self, queue_id: str) -> Schedule | None:
        return self._bots.settings.settings_for(Scope(queue_id)).hours

    def is_open(self, queue_id: str, at: datetime) -> bool:
        schedule = self._schedule(queue_id)
        return schedule is None or hours.is_open(schedule, at)

    def next_open(self, queue_id: str, at: datetime) -> datetime | None:
        schedule = self._schedule(queue_id)
        return at if schedule is None else hours.next_open(schedule, at)

    def add_open_seconds(self, queue_id: str, start: datetime, seconds: float) -> datetime | None:
        schedule = self._schedule(queue_id)
        if schedule is None:
            return start + timedelta(seconds=seconds)
        return hours.add_business_seconds(schedule, start, seconds)
