"""The bots' scope of a channel (server.bots): the queue that takes its conversations,
read from the queues at most once per ttl, never kept while there are no queues."""

from __future__ import annotations

from datetime import UTC, datetime

from bots.records import Scope
from inbox.domain.ids import ChannelId, new_id
from routing import QueueId, QueueRecord, RoutingTx
from server.bots import CachedQueueOf, queue_of
from storage import SqlStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SHOP, OTHER = ChannelId("ch-shop"), ChannelId("ch-other")


def queue(name: str, channels: list[str], *, is_default: bool = False) -> QueueRecord:
    return QueueRecord(
        QueueId(new_id()), name, {"channels": channels}, T0, T0, is_default=is_default
    )


async def test_the_cache_answers_as_queue_of_and_rereads_after_its_ttl(store: SqlStore) -> None:
    now = [0.0]
    cached = CachedQueueOf(2.0, clock=lambda: now[0])

    async def both(tx: RoutingTx, channel: ChannelId) -> tuple[object, object]:
        return await cached(tx, channel), await queue_of(tx, channel)

    # No queues yet: nothing, and nothing kept.
    assert await store.read(lambda tx: both(tx, SHOP)) == (None, None)
    default, shop = queue("Default", [], is_default=True), queue("Shop", [SHOP])
    await store.transact(lambda tx: tx.routing.add_queue(default))
    assert await store.read(lambda tx: both(tx, SHOP)) == (default.id, default.id)
    await store.transact(lambda tx: tx.routing.add_queue(shop))
    # Within the ttl the kept list answers (the new queue is not seen yet)...
    got = await store.read(lambda tx: both(tx, SHOP))
    assert got == (default.id, shop.id)
    # ...after it, the queues are read again.
    now[0] = 2.5
    assert await store.read(lambda tx: both(tx, SHOP)) == (shop.id, shop.id)
    assert await store.read(lambda tx: both(tx, OTHER)) == (default.id, default.id)


async def test_a_ttl_of_zero_reads_every_time(store: SqlStore) -> None:
    cached = CachedQueueOf(0.0, clock=lambda: 0.0)
    default = queue("Default", [], is_default=True)
    await store.transact(lambda tx: tx.routing.add_queue(default))
    assert await store.read(lambda tx: cached(tx, SHOP)) == Scope(default.id)
    shop = queue("Shop", [SHOP])
    await store.transact(lambda tx: tx.routing.add_queue(shop))
    assert await store.read(lambda tx: cached(tx, SHOP)) == Scope(shop.id)
