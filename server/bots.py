"""The root's glue between the bots and routing features: which routing queue (the bots'
*scope*) a channel's conversations go to, and queue names to scopes for the CLI and REST.

The features never import each other; the root, above both, knows the storage's
transaction carries every feature's repositories."""

from __future__ import annotations

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

__all__ = ["BotOpeningHours", "as_bots_tx", "queue_of", "scope_named"]


def as_bots_tx(tx: Tx) -> BotsTx:
    """The core's transaction as the bots' one: the storage's carries every repository."""
    if not isinstance(tx, SqlTx):  # pragma: no cover - the root always wires the SqlStore
        raise TypeError("the bots need the storage's transaction")
    return tx


async def queue_of(tx: Tx, channel_id: ChannelId) -> Scope | None:
    """The id of the queue that takes the channel's conversations, as routing chooses it
    (the first queue by name that lists the channel, else the default queue); ``None``
    when there are no queues yet."""
    if not isinstance(tx, SqlTx):  # pragma: no cover - the root always wires the SqlStore
        raise TypeError("queue_of needs the storage's transaction")
    routing_tx: RoutingTx = tx
    records = await routing_tx.routing.list_queues()  # by name
    for record in records:
        if channel_id in parse_settings(record).config.channel_ids:
            return Scope(record.id)
    default = next((r for r in records if r.is_default), None)
    return Scope(default.id) if default is not None else None


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
