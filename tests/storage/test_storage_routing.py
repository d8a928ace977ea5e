"""The routing repository (queues, tasks, offers, decisions, the routing lock) and
operators' ``last_seen_at``, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import func, select, text

from inbox.domain.conversations import ConversationStatus
from inbox.domain.errors import Conflict
from inbox.domain.ids import ContactId, ConversationId, OperatorId, new_id
from routing.ports import RoutingTx
from routing.records import (
    DecisionRecord,
    OfferRecord,
    QueueId,
    QueueRecord,
    RoutingTask,
    TaskStatus,
)
from storage import SqlStore, make_engine, migrate
from storage.repositories import SqlTx
from storage.tables import routing_lock
from tests.storage.builders import (
    T0,
    World,
    at,
    make_contact,
    make_conversation,
    make_identity,
    make_operator,
    seed_world,
)


def make_queue(name: str = "Sales", *, is_default: bool = False) -> QueueRecord:
    return QueueRecord(
        id=QueueId(new_id()),
        name=name,
        settings={"channels": ["webchat"], "sla": {"first_response": 60}, "members": []},
        created_at=T0,
        updated_at=T0,
        is_default=is_default,
        state={"turn": 3, "handling": [1.5, 2.0]},
    )


def make_task(
    conversation_id: ConversationId,
    *,
    queue_id: str = "q1",
    status: TaskStatus = TaskStatus.WAITING,
    entered_queue_at: int = 0,
    resolved_at: int | None = None,
) -> RoutingTask:
    return RoutingTask(
        conversation_id=conversation_id,
        queue_id=QueueId(queue_id),
        status=status,
        channel_kind="webchat",
        started_at=T0,
        entered_queue_at=at(entered_queue_at),
        updated_at=at(entered_queue_at),
        resolved_at=at(resolved_at) if resolved_at is not None else None,
    )


def full_task(conversation_id: ConversationId, operator_id: OperatorId) -> RoutingTask:
    """Every field set to something other than its default."""
    return RoutingTask(
        conversation_id=conversation_id,
        queue_id=QueueId("q-vip"),
        status=TaskStatus.ASSIGNED,
        channel_kind="telegram",
        started_at=at(1),
        entered_queue_at=at(2),
        updated_at=at(3),
        priority=7,
        last_operator_id=operator_id,
        declined_by=frozenset({OperatorId("op-b"), OperatorId("op-a")}),
        extra_skills={"lenses": 3, "ru": 1},
        assignee_id=operator_id,
        assigned_at=at(4),
        awaiting_reply_since=at(5),
        first_response_at=at(6),
        first_response_due=at(7),
        resolution_due=at(8),
        sla_warned_at=at(9),
        first_response_breached_at=at(10),
        resolution_breached_at=at(11),
        sla_met=False,
        response_alerted_at=at(12),
        position_sent_at=at(13),
        position_sent=4,
        resolved_at=at(14),
    )


async def add_conversations(store: SqlStore, world: World, n: int) -> list[ConversationId]:
    """``n`` more conversations of the world's contact; their ids."""
    added = [make_conversation(world.channel, world.contact) for _ in range(n)]

    async def add(tx: RoutingTx) -> None:
        for conversation in added:
            await tx.conversations.add(conversation)

    await store.transact(add)
    return [c.id for c in added]


# --------------------------------------------------------------------------- queues


async def test_queues_round_trip(store: SqlStore) -> None:
    sales = make_queue("Sales", is_default=True)
    bare = QueueRecord(
        id=QueueId(new_id()), name="Anything", settings={}, created_at=at(1), updated_at=at(1)
    )

    async def add(tx: RoutingTx) -> None:
        await tx.routing.add_queue(sales)
        await tx.routing.add_queue(bare)

    await store.transact(add)
    assert await store.read(lambda tx: tx.routing.get_queue(sales.id)) == sales
    assert await store.read(lambda tx: tx.routing.get_queue(QueueId("missing"))) is None
    assert await store.read(lambda tx: tx.routing.get_queue_by_name("Anything")) == bare
    assert await store.read(lambda tx: tx.routing.get_queue_by_name("nope")) is None
    assert await store.read(lambda tx: tx.routing.list_queues()) == [bare, sales]

    changed = dataclasses.replace(
        sales,
        name="Sales EU",
        settings={"strategy": "round_robin"},
        state={},
        is_default=False,
        updated_at=at(60),
        created_at=at(59),  # not overwritten
    )
    await store.transact(lambda tx: tx.routing.update_queue(changed))
    expected = dataclasses.replace(changed, created_at=sales.created_at)
    assert await store.read(lambda tx: tx.routing.get_queue(sales.id)) == expected
    assert await store.read(lambda tx: tx.routing.get_queue_by_name("Sales")) is None


async def test_taken_queue_name_is_a_conflict(store: SqlStore) -> None:
    await store.transact(lambda tx: tx.routing.add_queue(make_queue("Sales")))
    with pytest.raises(Conflict):
        await store.transact(lambda tx: tx.routing.add_queue(make_queue("Sales")))


# --------------------------------------------------------------------------- tasks


async def test_tasks_round_trip_and_upsert(store: SqlStore) -> None:
    world = await seed_world(store)
    conversation_id = world.conversation.id
    minimal = make_task(conversation_id)
    assert await store.read(lambda tx: tx.routing.get_task(conversation_id)) is None

    await store.transact(lambda tx: tx.routing.put_task(minimal))
    assert await store.read(lambda tx: tx.routing.get_task(conversation_id)) == minimal

    full = full_task(conversation_id, world.operator.id)
    await store.transact(lambda tx: tx.routing.put_task(full))
    loaded = await store.read(lambda tx: tx.routing.get_task(conversation_id))
    assert loaded == full
    assert loaded is not None
    assert isinstance(loaded.declined_by, frozenset)
    assert loaded.sla_met is False

    # And back: every field cleared again, sla_met met.
    cleared = dataclasses.replace(minimal, sla_met=True, updated_at=at(99))
    await store.transact(lambda tx: tx.routing.put_task(cleared))
    assert await store.read(lambda tx: tx.routing.get_task(conversation_id)) == cleared
    assert await store.read(lambda tx: tx.routing.list_tasks(list(TaskStatus))) == [cleared]


async def test_a_task_needs_its_conversation(store: SqlStore) -> None:
    orphan = make_task(ConversationId("no-such-conversation"))
    with pytest.raises(Conflict):
        await store.transact(lambda tx: tx.routing.put_task(orphan))


async def test_list_tasks_filters_by_status_and_queue_oldest_first(store: SqlStore) -> None:
    world = await seed_world(store)
    c1, c2, c3, c4 = [world.conversation.id, *await add_conversations(store, world, 3)]
    tasks = [
        make_task(c1, queue_id="a", entered_queue_at=30),
        make_task(c2, queue_id="b", entered_queue_at=10),
        make_task(c3, queue_id="a", entered_queue_at=20, status=TaskStatus.ASSIGNED),
        make_task(c4, queue_id="a", entered_queue_at=5, status=TaskStatus.DONE, resolved_at=40),
    ]

    async def put(tx: RoutingTx) -> None:
        for task in tasks:
            await tx.routing.put_task(task)

    await store.transact(put)
    waiting, waiting_b, assigned_a, done_a = tasks

    async def ids(statuses: list[TaskStatus], queue: str | None = None) -> list[RoutingTask]:
        queue_id = QueueId(queue) if queue is not None else None
        return await store.read(lambda tx: tx.routing.list_tasks(statuses, queue_id=queue_id))

    assert await ids([TaskStatus.WAITING]) == [waiting_b, waiting]
    assert await ids([TaskStatus.WAITING, TaskStatus.ASSIGNED]) == [waiting_b, assigned_a, waiting]
    assert await ids([TaskStatus.WAITING, TaskStatus.ASSIGNED], "a") == [assigned_a, waiting]
    assert await ids(list(TaskStatus), "a") == [done_a, assigned_a, waiting]
    assert await ids([TaskStatus.DONE], "b") == []
    assert await ids([]) == []


async def test_list_done_since_is_newest_first_and_limited(store: SqlStore) -> None:
    world = await seed_world(store)
    ids = [world.conversation.id, *await add_conversations(store, world, 4)]
    tasks = [
        make_task(ids[0], status=TaskStatus.DONE, resolved_at=10),
        make_task(ids[1], status=TaskStatus.DONE, resolved_at=20),
        make_task(ids[2], status=TaskStatus.DONE, resolved_at=30),
        make_task(ids[3], status=TaskStatus.DONE, resolved_at=5),  # before `since`
        make_task(ids[4], status=TaskStatus.WAITING),
    ]

    async def put(tx: RoutingTx) -> None:
        for task in tasks:
            await tx.routing.put_task(task)

    await store.transact(put)
    since = at(10)
    everything = await store.read(lambda tx: tx.routing.list_done_since(since, limit=10))
    assert everything == [tasks[2], tasks[1], tasks[0]]
    assert await store.read(lambda tx: tx.routing.list_done_since(since, limit=2)) == [
        tasks[2],
        tasks[1],
    ]
    assert await store.read(lambda tx: tx.routing.list_done_since(at(31), limit=5)) == []
    assert await store.read(lambda tx: tx.routing.list_done_since(since, limit=0)) == []


# --------------------------------------------------------------------------- offers


def make_offer(
    conversation_id: ConversationId, operator_id: OperatorId, offered_at: int
) -> OfferRecord:
    return OfferRecord(
        conversation_id=conversation_id,
        operator_id=operator_id,
        queue_id=QueueId("q1"),
        offered_at=at(offered_at),
        expires_at=at(offered_at + 30),
        weight=0.5,
    )


async def test_offers_round_trip_filter_and_delete(store: SqlStore) -> None:
    c1, c2 = ConversationId("conv-1"), ConversationId("conv-2")
    o1, o2 = OperatorId("op-1"), OperatorId("op-2")
    c1o1, c1o2, c2o1 = make_offer(c1, o1, 3), make_offer(c1, o2, 1), make_offer(c2, o1, 2)
    c1o1 = dataclasses.replace(c1o1, weight=1.25)

    async def add(tx: RoutingTx) -> None:
        for offer in (c1o1, c1o2, c2o1):
            await tx.routing.add_offer(offer)

    await store.transact(add)
    assert await store.read(lambda tx: tx.routing.list_offers()) == [c1o2, c2o1, c1o1]
    assert await store.read(lambda tx: tx.routing.list_offers(conversation_id=c1)) == [c1o2, c1o1]
    assert await store.read(lambda tx: tx.routing.list_offers(operator_id=o1)) == [c2o1, c1o1]
    both = await store.read(lambda tx: tx.routing.list_offers(conversation_id=c2, operator_id=o1))
    assert both == [c2o1]
    none = await store.read(lambda tx: tx.routing.list_offers(conversation_id=c2, operator_id=o2))
    assert none == []

    assert await store.transact(lambda tx: tx.routing.delete_offers(c1, o2)) == 1
    assert await store.transact(lambda tx: tx.routing.delete_offers(c1, o2)) == 0
    assert await store.read(lambda tx: tx.routing.list_offers(conversation_id=c1)) == [c1o1]
    await store.transact(lambda tx: tx.routing.add_offer(c1o2))
    assert await store.transact(lambda tx: tx.routing.delete_offers(c1)) == 2
    assert await store.transact(lambda tx: tx.routing.delete_offers(c1)) == 0
    assert await store.read(lambda tx: tx.routing.list_offers()) == [c2o1]


async def test_second_offer_to_one_operator_is_a_conflict(store: SqlStore) -> None:
    offer = make_offer(ConversationId("conv-1"), OperatorId("op-1"), 0)
    await store.transact(lambda tx: tx.routing.add_offer(offer))
    again = dataclasses.replace(offer, offered_at=at(5), weight=2.0)
    with pytest.raises(Conflict):
        await store.transact(lambda tx: tx.routing.add_offer(again))
    assert await store.read(lambda tx: tx.routing.list_offers()) == [offer]


# --------------------------------------------------------------------------- decisions


async def test_decisions_are_oldest_first_of_the_newest(store: SqlStore) -> None:
    conversation_id = ConversationId("conv-1")
    decisions = [
        DecisionRecord(
            id=new_id(),
            conversation_id=conversation_id,
            queue_id=QueueId("q1"),
            decided_at=at(i),
            outcome="offered" if i % 2 else "waiting",
            explanation={"step": i, "candidates": [{"id": "op-1", "score": 0.5}], "why": None},
        )
        for i in (3, 1, 4, 2, 0)
    ]
    other = dataclasses.replace(decisions[0], id=new_id(), conversation_id=ConversationId("conv-2"))

    async def add(tx: RoutingTx) -> None:
        for decision in (*decisions, other):
            await tx.routing.add_decision(decision)

    await store.transact(add)
    by_time = sorted(decisions, key=lambda d: d.decided_at)
    assert await store.read(lambda tx: tx.routing.list_decisions(conversation_id)) == by_time
    newest = await store.read(lambda tx: tx.routing.list_decisions(conversation_id, limit=2))
    assert newest == by_time[-2:]
    assert await store.read(lambda tx: tx.routing.list_decisions(conversation_id, limit=0)) == []
    unknown = ConversationId("conv-x")
    assert await store.read(lambda tx: tx.routing.list_decisions(unknown)) == []


# --------------------------------------------------------------------------- conversations


async def test_list_routable_is_queued_and_assigned_conversations(store: SqlStore) -> None:
    world = await seed_world(store)
    queued = world.conversation
    assigned = make_conversation(
        world.channel,
        world.contact,
        status=ConversationStatus.ASSIGNED,
        created_at=at(10),
        assignee_id=world.operator.id,
    )
    bot = make_conversation(world.channel, world.contact, status=ConversationStatus.BOT)
    resolved = make_conversation(world.channel, world.contact, status=ConversationStatus.RESOLVED)

    async def add(tx: RoutingTx) -> None:
        for conversation in (assigned, bot, resolved):
            await tx.conversations.add(conversation)

    await store.transact(add)
    assert await store.read(lambda tx: tx.routing.list_routable()) == [queued, assigned]


async def test_count_contact_conversations(store: SqlStore) -> None:
    world = await seed_world(store)
    other = make_contact(name="Boris")
    identity = make_identity(other, world.channel, "boris")
    await store.transact(lambda tx: tx.contacts.add(other, identity))
    await add_conversations(store, world, 2)
    count = store.read
    assert await count(lambda tx: tx.routing.count_contact_conversations(world.contact.id)) == 3
    assert await count(lambda tx: tx.routing.count_contact_conversations(other.id)) == 0
    missing = ContactId("missing")
    assert await count(lambda tx: tx.routing.count_contact_conversations(missing)) == 0


# --------------------------------------------------------------------------- operators


async def test_touch_seen_sets_last_seen_of_the_given_operators(store: SqlStore) -> None:
    amy, bob, cat = make_operator(login="amy"), make_operator(login="bob"), make_operator()

    async def add(tx: RoutingTx) -> None:
        for operator in (amy, bob, cat):
            await tx.operators.add(operator)

    await store.transact(add)
    assert amy.last_seen_at is None
    await store.transact(lambda tx: tx.operators.touch_seen([amy.id, bob.id], at(5)))
    await store.transact(lambda tx: tx.operators.touch_seen([], at(6)))
    await store.transact(lambda tx: tx.operators.touch_seen([OperatorId("ghost")], at(7)))
    listed = {o.id: o.last_seen_at for o in await store.read(lambda tx: tx.operators.list())}
    assert listed == {amy.id: at(5), bob.id: at(5), cat.id: None}

    seen = dataclasses.replace(cat, last_seen_at=at(9))
    await store.transact(lambda tx: tx.operators.update(seen))
    assert await store.read(lambda tx: tx.operators.get(cat.id)) == seen


# --------------------------------------------------------------------------- the lock


async def test_lock_inside_transact_then_write(store: SqlStore) -> None:
    queue = make_queue()

    async def work(tx: RoutingTx) -> None:
        await tx.routing.lock()
        await tx.routing.add_queue(queue)
        await tx.routing.lock()  # again in the same transaction: fine

    await store.transact(work)
    await store.transact(lambda tx: tx.routing.lock())
    assert await store.read(lambda tx: tx.routing.get_queue(queue.id)) == queue


async def test_migration_inserts_the_lock_row(empty_database_url: str) -> None:
    await migrate(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(routing_lock.c.id))).scalars().all()
    finally:
        await engine.dispose()
    assert rows == [1]


async def test_lock_serialises_postgres_transactions(database_url: str) -> None:
    """A second transaction's lock() waits until the first one commits."""
    engine = make_engine(database_url)
    try:
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite serialises writing transactions itself")
        order: list[str] = []
        async with engine.connect() as first, engine.connect() as second, engine.connect() as spy:
            await first.begin()
            await SqlTx(first).routing.lock()
            order.append("first locked")

            await second.begin()
            pid = (await second.execute(select(func.pg_backend_pid()))).scalar_one()

            async def second_work() -> None:
                await SqlTx(second).routing.lock()
                order.append("second locked")
                await second.commit()

            waiter = asyncio.create_task(second_work())
            # Wait until the server reports the second connection waiting for a lock.
            waiting = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
            for _ in range(2000):
                state = (await spy.execute(waiting, {"pid": pid})).scalar_one_or_none()
                await spy.rollback()
                if state == "Lock":
                    break
                await asyncio.sleep(0.005)
            else:
                pytest.fail("the second transaction never waited for the routing lock")
            assert not waiter.done()

            order.append("first commits")
            await first.commit()
            await asyncio.wait_for(waiter, timeout=30)
        assert order == ["first locked", "first commits", "second locked"]
    finally:
        await engine.dispose()
