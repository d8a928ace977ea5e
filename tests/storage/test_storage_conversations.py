"""Conversation lists: filters, visibility, the queue and capacity counts."""

from __future__ import annotations

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import OperatorId
from inbox.domain.visibility import Visibility
from inbox.ports import ConversationFilter, Tx
from storage import SqlStore
from tests.storage.builders import (
    World,
    at,
    make_channel,
    make_contact,
    make_conversation,
    make_identity,
    make_operator,
    seed_world,
)

S = ConversationStatus


async def _add(store: SqlStore, conversations: list[Conversation]) -> None:
    async def add(tx: Tx) -> None:
        for conversation in conversations:
            await tx.conversations.add(conversation)

    await store.transact(add)


async def _list(store: SqlStore, flt: ConversationFilter) -> list[Conversation]:
    return await store.read(lambda tx: tx.conversations.list(flt))


class Scene:
    """Conversations spread over statuses, assignees and two channels."""

    def __init__(self, world: World, other_operator: OperatorId) -> None:
        w = world
        me, other = w.operator.id, other_operator
        self.other_channel = make_channel(name="Telegram")
        self.mine = make_conversation(
            w.channel, w.contact, status=S.ASSIGNED, assignee_id=me, last_message_at=at(50)
        )
        self.mine_resolved = make_conversation(
            w.channel, w.contact, status=S.RESOLVED, last_message_at=at(40)
        )
        self.theirs = make_conversation(
            w.channel, w.contact, status=S.ASSIGNED, assignee_id=other, last_message_at=at(60)
        )
        self.queued_old = make_conversation(
            w.channel, w.contact, status=S.QUEUED, queued_at=at(1), last_message_at=at(10)
        )
        self.queued_new = make_conversation(
            self.other_channel,
            w.contact,
            status=S.QUEUED,
            queued_at=at(5),
            last_message_at=at(70),
        )
        # No message yet: sorts after everything with one, on both backends.
        self.silent_bot = make_conversation(w.channel, w.contact, status=S.BOT, created_at=at(80))
        # world.conversation: queued at T0, no messages, created at T0.
        self.seeded = w.conversation


async def _scene(store: SqlStore) -> tuple[World, OperatorId, Scene]:
    world = await seed_world(store)
    other = make_operator(login="other")
    scene = Scene(world, other.id)

    async def add(tx: Tx) -> None:
        await tx.operators.add(other)
        await tx.channels.add(scene.other_channel)

    await store.transact(add)
    await _add(
        store,
        [
            scene.mine,
            scene.mine_resolved,
            scene.theirs,
            scene.queued_old,
            scene.queued_new,
            scene.silent_bot,
        ],
    )
    return world, other.id, scene


async def test_list_orders_by_newest_activity_with_silent_ones_last(store: SqlStore) -> None:
    _, _, s = await _scene(store)
    found = await _list(store, ConversationFilter())
    assert [c.id for c in found] == [
        s.queued_new.id,  # last message at 70
        s.theirs.id,  # 60
        s.mine.id,  # 50
        s.mine_resolved.id,  # 40
        s.queued_old.id,  # 10
        s.silent_bot.id,  # no message, created at 80
        s.seeded.id,  # no message, created at 0
    ]


async def test_list_filters_narrow(store: SqlStore) -> None:
    world, other, s = await _scene(store)

    queued = await _list(store, ConversationFilter(statuses=(S.QUEUED,)))
    assert {c.id for c in queued} == {s.queued_new.id, s.queued_old.id, s.seeded.id}

    open_statuses = (S.BOT, S.QUEUED, S.ASSIGNED)
    opened = await _list(store, ConversationFilter(statuses=open_statuses))
    assert s.mine_resolved.id not in {c.id for c in opened}
    assert len(opened) == 6

    assigned_to_other = await _list(store, ConversationFilter(assignee_id=other))
    assert [c.id for c in assigned_to_other] == [s.theirs.id]

    on_telegram = await _list(store, ConversationFilter(channel_id=s.other_channel.id))
    assert [c.id for c in on_telegram] == [s.queued_new.id]

    limited = await _list(store, ConversationFilter(limit=2))
    assert [c.id for c in limited] == [s.queued_new.id, s.theirs.id]

    combined = await _list(
        store, ConversationFilter(statuses=(S.QUEUED,), channel_id=world.channel.id, limit=1)
    )
    assert [c.id for c in combined] == [s.queued_old.id]


async def test_visible_to_is_own_plus_every_queued(store: SqlStore) -> None:
    world, other, s = await _scene(store)
    mine = await _list(store, ConversationFilter(visible_to=Visibility.of(world.operator)))
    assert [c.id for c in mine] == [s.queued_new.id, s.mine.id, s.queued_old.id, s.seeded.id]

    theirs = await _list(
        store,
        ConversationFilter(visible_to=Visibility.own_and_public(other), statuses=(S.ASSIGNED,)),
    )
    assert [c.id for c in theirs] == [s.theirs.id]


async def test_list_queued_longest_waiting_first(store: SqlStore) -> None:
    _, _, s = await _scene(store)
    queued = await store.read(lambda tx: tx.conversations.list_queued(10))
    assert [c.id for c in queued] == [s.seeded.id, s.queued_old.id, s.queued_new.id]
    first = await store.read(lambda tx: tx.conversations.list_queued(1))
    assert [c.id for c in first] == [s.seeded.id]


async def test_count_open_by_assignee(store: SqlStore) -> None:
    world = await seed_world(store)
    busy, idle = world.operator, make_operator(login="idle")
    contact = make_contact()
    c = world.channel
    assigned = [
        make_conversation(c, contact, status=S.ASSIGNED, assignee_id=busy.id) for _ in range(3)
    ]
    # A resolved conversation keeps no assignee in the domain; one that does is still not
    # counted, because resolved conversations are never "open".
    stale = make_conversation(c, contact, status=S.RESOLVED, assignee_id=busy.id)

    async def add(tx: Tx) -> None:
        await tx.operators.add(idle)
        await tx.contacts.add(contact, make_identity(contact, c, "user-2"))
        for conversation in [*assigned, stale]:
            await tx.conversations.add(conversation)

    await store.transact(add)
    counts = await store.read(
        lambda tx: tx.conversations.count_open_by_assignee(
            [busy.id, idle.id, OperatorId("unknown")]
        )
    )
    assert counts == {busy.id: 3, idle.id: 0, OperatorId("unknown"): 0}
    assert await store.read(lambda tx: tx.conversations.count_open_by_assignee([])) == {}
