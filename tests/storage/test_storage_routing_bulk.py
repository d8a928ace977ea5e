"""The routing repository's bulk reads and writes and the routing version, on SQLite and
PostgreSQL: what the kept routing state and bulk filing rely on (docs/routing.md, "Kept
state")."""

from __future__ import annotations

from inbox.domain.conversations import ConversationStatus
from inbox.domain.ids import ConversationId
from routing import QueueId, RoutingTx
from storage import SqlStore
from tests.storage.builders import make_conversation, seed_world
from tests.storage.test_storage_routing import add_conversations, full_task, make_task


async def test_tasks_in_bulk_round_trip_and_upsert(store: SqlStore) -> None:
    world = await seed_world(store)
    ids = [world.conversation.id, *await add_conversations(store, world, 3)]
    tasks = [make_task(cid, entered_queue_at=i) for i, cid in enumerate(ids)]
    await store.transact(lambda tx: tx.routing.put_tasks(tasks))
    await store.transact(lambda tx: tx.routing.put_tasks([]))
    got = await store.read(lambda tx: tx.routing.get_tasks([*ids[:3], ConversationId("none")]))
    assert got == {t.conversation_id: t for t in tasks[:3]}
    assert await store.read(lambda tx: tx.routing.get_tasks([])) == {}
    # Upsert: the same rows overwritten in one go, the others untouched.
    full = [full_task(cid, world.operator.id) for cid in ids[:2]]
    await store.transact(lambda tx: tx.routing.put_tasks(full))
    assert await store.read(lambda tx: tx.routing.get_tasks(ids)) == {
        **{t.conversation_id: t for t in tasks},
        **{t.conversation_id: t for t in full},
    }


async def test_set_queues_moves_each_conversation(store: SqlStore) -> None:
    world = await seed_world(store)
    ids = [world.conversation.id, *await add_conversations(store, world, 2)]
    moves = [(ids[0], QueueId("q-a")), (ids[2], QueueId("q-b"))]
    await store.transact(lambda tx: tx.routing.set_queues(moves))
    await store.transact(lambda tx: tx.routing.set_queues([]))

    async def queues(tx: RoutingTx) -> list[str | None]:
        found = [await tx.conversations.get(cid) for cid in ids]
        return [c.queue_id if c is not None else "missing" for c in found]

    assert await store.read(queues) == ["q-a", None, "q-b"]


async def test_list_routable_by_ids(store: SqlStore) -> None:
    world = await seed_world(store)
    resolved = make_conversation(world.channel, world.contact, status=ConversationStatus.RESOLVED)
    await store.transact(lambda tx: tx.conversations.add(resolved))
    ids = [world.conversation.id, resolved.id, ConversationId("none")]
    assert await store.read(lambda tx: tx.routing.list_routable(ids)) == [world.conversation]


async def test_the_lock_raises_the_routing_version(store: SqlStore) -> None:
    first = await store.transact(lambda tx: tx.routing.lock())
    second = await store.transact(lambda tx: tx.routing.lock())
    assert second == first + 1

    async def twice(tx: RoutingTx) -> tuple[int, int]:
        return await tx.routing.lock(), await tx.routing.lock()

    a, b = await store.transact(twice)
    assert (a, b) == (second + 1, second + 2)
