# ruff: noqa: RUF001
"""The conversation list's search, filters and keyset paging, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from alembic import command
from sqlalchemy import insert
from sqlalchemy.engine import Connection

from inbox.domain.contacts import Contact
from inbox.domain.content import Part, Text
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import ContactId, ConversationId, new_id
from inbox.domain.operators import Role
from inbox.domain.visibility import Visibility
from inbox.ports import ConversationFilter, Tx
from inbox.ports.repositories import ConversationPosition
from storage import SqlStore, make_engine, open_store, tables
from storage.migrator import alembic_config
from tests.storage.builders import (
    T0,
    World,
    at,
    make_channel,
    make_conversation,
    make_identity,
    make_message,
    make_operator,
    seed_world,
)

S = ConversationStatus


async def _ids(store: SqlStore, flt: ConversationFilter) -> list[ConversationId]:
    return [c.id for c in await store.read(lambda tx: tx.conversations.list(flt))]


async def _found(store: SqlStore, query: str, **fields: Any) -> set[ConversationId]:
    return set(await _ids(store, ConversationFilter(query=query, limit=500, **fields)))


async def _conversation_with(
    store: SqlStore, world: World, *texts: str, contact: Contact | None = None, **fields: Any
) -> Conversation:
    """A conversation of ``contact`` (the world's by default) with these messages."""
    who = contact or world.contact
    conversation = make_conversation(world.channel, who, last_message_at=at(len(texts)), **fields)

    async def work(tx: Tx) -> None:
        if contact is not None:
            await tx.contacts.add(contact, make_identity(contact, world.channel, new_id()))
        await tx.conversations.add(conversation)
        for seq, body in enumerate(texts, start=1):
            await tx.messages.add(make_message(conversation, seq, parts=(Text(body),)))

    await store.transact(work)
    return conversation


async def test_russian_word_forms_find_each_other(store: SqlStore) -> None:
    world = await seed_world(store)
    order = await _conversation_with(store, world, "Здравствуйте", "Где мой заказ 1042?")
    delivery = await _conversation_with(store, world, "Доставка курьером завтра")
    assert await _found(store, "заказа") == {order.id}
    assert await _found(store, "ЗАКАЗОМ") == {order.id}
    assert await _found(store, "доставки") == {delivery.id}
    assert await _found(store, "1042") == {order.id}
    # Every word must be in one message.
    assert await _found(store, "заказ доставка") == set()
    assert await _found(store, "курьер завтра") == {delivery.id}
    assert await _found(store, "самовывоз") == set()


async def test_english_word_forms_find_each_other(store: SqlStore) -> None:
    world = await seed_world(store)
    order = await _conversation_with(store, world, "Where is my order?")
    refunds = await _conversation_with(store, world, "I was promised a refund")
    assert await _found(store, "orders") == {order.id}
    assert await _found(store, "Ordering") == {order.id}
    assert await _found(store, "refunds") == {refunds.id}
    assert await _found(store, "refunds promise") == {refunds.id}


async def test_a_query_without_words_finds_nothing(store: SqlStore) -> None:
    world = await seed_world(store)
    await _conversation_with(store, world, "Where is my order?")
    assert await _found(store, "?!") == set()


async def test_contacts_are_found_by_name_phone_and_email(store: SqlStore) -> None:
    world = await seed_world(store)
    petrova = Contact(
        id=ContactId(new_id()),
        display_name="Мария Петрова",
        created_at=T0,
        phone="+7 912 555 0101",
        email="maria.p@example.com",
    )
    hers = await _conversation_with(store, world, "Добрый день", contact=petrova)
    await _conversation_with(store, world, "Добрый день")
    assert await _found(store, "Петровой") == {hers.id}
    assert await _found(store, "мария") == {hers.id}
    assert await _found(store, "555") == {hers.id}
    assert await _found(store, "maria.p@example.com") == {hers.id}
    # The contact's details change: the index follows, whoever wrote them.
    await store.transact(lambda tx: tx.contacts.set_details(petrova.id, phone="+7 999 000 1234"))
    assert await _found(store, "555") == set()
    assert await _found(store, "1234") == {hers.id}


async def test_a_message_whose_parts_change_is_found_by_its_new_text(store: SqlStore) -> None:
    world = await seed_world(store)
    conversation = make_conversation(world.channel, world.contact, last_message_at=at(1))
    message = make_message(conversation, 1, parts=(Text("первый вариант"),))

    async def add(tx: Tx) -> None:
        await tx.conversations.add(conversation)
        await tx.messages.add(message)

    await store.transact(add)
    parts: tuple[Part, ...] = (Text("исправленный текст"),)
    await store.transact(lambda tx: tx.messages.set_parts(message.id, parts))
    assert await _found(store, "вариант") == set()
    assert await _found(store, "исправленного") == {conversation.id}


async def test_search_respects_visibility(store: SqlStore) -> None:
    world = await seed_world(store)
    anna, boris = world.operator, make_operator(login="boris")
    await store.transact(lambda tx: tx.operators.add(boris))
    annas = await _conversation_with(
        store, world, "номер заказа 77", status=S.ASSIGNED, assignee_id=anna.id
    )
    boriss = await _conversation_with(
        store, world, "номер заказа 78", status=S.ASSIGNED, assignee_id=boris.id
    )
    queued = await _conversation_with(store, world, "мой заказ 79")
    as_anna = Visibility.of(anna)
    assert await _found(store, "заказ", visible_to=as_anna) == {annas.id, queued.id}
    assert await _found(store, "78", visible_to=as_anna) == set()
    # The contact matches all three; visibility still applies.
    assert await _found(store, world.contact.display_name, visible_to=as_anna) == {
        annas.id,
        queued.id,
        world.conversation.id,  # queued too
    }
    boss = Visibility.of(dataclasses.replace(anna, role=Role.SUPERVISOR))
    assert await _found(store, "заказ", visible_to=boss) == {annas.id, boriss.id, queued.id}


async def test_every_filter_narrows_and_they_combine(store: SqlStore) -> None:
    world = await seed_world(store)
    telegram = make_channel(name="Telegram")
    vip = Contact(id=ContactId(new_id()), display_name="Oleg", created_at=T0)
    await store.transact(lambda tx: tx.channels.add(telegram))
    await store.transact(
        lambda tx: tx.contacts.add(vip, make_identity(vip, world.channel, "vip-1"))
    )
    await store.transact(lambda tx: tx.contacts.set_tags(vip.id, frozenset({"vip", "b2b"})))
    old_wait = make_conversation(world.channel, vip, queued_at=at(0), last_message_at=at(5))
    new_wait = make_conversation(telegram, world.contact, queued_at=at(500), last_message_at=at(6))
    unread = dataclasses.replace(
        make_conversation(world.channel, vip, status=S.ASSIGNED, assignee_id=world.operator.id),
        last_message_at=at(7),
        unread_count=3,
    )
    done = make_conversation(telegram, vip, status=S.RESOLVED, last_message_at=at(8))
    everything = [old_wait, new_wait, unread, done]

    async def add(tx: Tx) -> None:
        for conversation in everything:
            await tx.conversations.add(conversation)

    await store.transact(add)
    async with store.engine.begin() as conn:
        for conversation, queue in ((old_wait, "q-a"), (unread, "q-a"), (done, "q-b")):
            await conn.execute(insert(tables.routing_tasks).values(**_task(conversation, queue)))

    async def ids(**fields: Any) -> set[ConversationId]:
        return set(await _ids(store, ConversationFilter(limit=500, **fields)))

    assert await ids(tag="vip") == {old_wait.id, unread.id, done.id}
    assert await ids(tag="nobody") == set()
    assert await ids(unread=True) == {unread.id}
    assert world.conversation.id in await ids(unread=False)
    assert await ids(queue_id="q-a") == {old_wait.id, unread.id}
    assert await ids(queue_id="q-none") == set()
    assert await ids(channel_id=telegram.id) == {new_wait.id, done.id}
    assert await ids(queued_before=at(100)) == {old_wait.id, world.conversation.id}
    # Combined: AND.
    assert await ids(tag="vip", statuses=(S.QUEUED,)) == {old_wait.id}
    assert await ids(tag="vip", channel_id=telegram.id) == {done.id}
    assert await ids(queue_id="q-a", unread=True) == {unread.id}
    assert await ids(queued_before=at(100), tag="vip") == {old_wait.id}
    assert await ids(statuses=(S.RESOLVED,), queued_before=at(1000)) == set()
    assert await ids(assignee_id=world.operator.id, tag="vip") == {unread.id}


def _task(conversation: Conversation, queue: str) -> dict[str, Any]:
    return {
        "conversation_id": conversation.id,
        "queue_id": queue,
        "status": "waiting",
        "channel_kind": "webchat",
        "started_at": T0,
        "entered_queue_at": T0,
        "updated_at": T0,
        "priority": 0,
        "declined_by": [],
        "extra_skills": {},
    }


async def _page(store: SqlStore, flt: ConversationFilter) -> list[Conversation]:
    return await store.read(lambda tx: tx.conversations.list(flt))


async def _page_through(
    store: SqlStore, limit: int, between_pages: Any = None, **fields: Any
) -> list[ConversationId]:
    seen: list[ConversationId] = []
    after: ConversationPosition | None = None
    while True:
        page = await _page(store, ConversationFilter(limit=limit, after=after, **fields))
        seen.extend(c.id for c in page)
        if len(page) < limit:
            return seen
        last = page[-1]
        after = ConversationPosition(last.last_message_at, last.created_at, last.id)
        if between_pages is not None:
            await between_pages()


async def test_keyset_pages_cover_every_row_once_with_ties_and_silent_ones(
    store: SqlStore,
) -> None:
    world = await seed_world(store)
    made = [
        # Ties on last_message_at and on created_at: the id decides.
        make_conversation(world.channel, world.contact, last_message_at=at(i % 4))
        for i in range(23)
    ] + [make_conversation(world.channel, world.contact, created_at=at(i % 3)) for i in range(9)]

    async def add(tx: Tx) -> None:
        for conversation in made:
            await tx.conversations.add(conversation)

    await store.transact(add)
    everything = await _ids(store, ConversationFilter(limit=500))
    assert len(everything) == len(made) + 1
    for limit in (1, 5, 10, 33, 34):
        assert await _page_through(store, limit) == everything
    queued = await _ids(store, ConversationFilter(statuses=(S.QUEUED,), limit=500))
    assert await _page_through(store, 4, statuses=(S.QUEUED,)) == queued


async def test_paging_while_messages_arrive_never_repeats_a_row(store: SqlStore) -> None:
    world = await seed_world(store)
    made = [
        make_conversation(world.channel, world.contact, last_message_at=at(100 + i))
        for i in range(40)
    ]

    async def add(tx: Tx) -> None:
        for conversation in made:
            await tx.conversations.add(conversation)

    await store.transact(add)
    bumped: set[ConversationId] = set()
    clock = [1000]

    async def a_message_arrives() -> None:
        # The oldest not-yet-bumped conversation gets news: it jumps to the top.
        oldest = made[len(bumped)]
        clock[0] += 1
        moved = dataclasses.replace(oldest, last_message_at=at(clock[0]))
        await store.transact(lambda tx: tx.conversations.update(moved))
        bumped.add(oldest.id)

    seen = await _page_through(store, 7, between_pages=a_message_arrives)
    assert len(seen) == len(set(seen))
    untouched = {c.id for c in made} - bumped | {world.conversation.id}
    assert untouched <= set(seen)


async def test_0008_indexes_the_messages_stored_before_it(empty_database_url: str) -> None:
    def upgrade_to(revision: str) -> Any:
        def go(conn: Connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

        return go

    engine = make_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade_to("0007"))
        async with engine.begin() as conn:
            await conn.execute(
                insert(tables.channels).values(
                    id="ch", kind="webchat", name="Web", created_at=T0, options={}, enabled=True
                )
            )
            await conn.execute(
                insert(tables.contacts).values(
                    id="ct", display_name="Анна", created_at=T0, phone="", email=""
                )
            )
            for n in range(3):
                await conn.execute(
                    insert(tables.conversations).values(
                        id=f"cv{n}",
                        channel_id="ch",
                        contact_id="ct",
                        status="queued",
                        created_at=T0,
                        updated_at=T0,
                        last_message_seq=1,
                        last_message_at=T0 + timedelta(seconds=n),
                        unread_count=1,
                        subject="",
                        preview="",
                        contact_name="Анна",
                        channel_kind="webchat",
                        thread_key="",
                    )
                )
                await conn.execute(
                    insert(tables.messages).values(
                        id=f"m{n}",
                        conversation_id=f"cv{n}",
                        channel_id="ch",
                        seq=1,
                        kind="message",
                        direction="inbound",
                        author_kind="customer",
                        parts=[{"type": "text", "text": ["где заказ", "оплата", "hello"][n]}],
                        status="received",
                        created_at=T0,
                        author_name="",
                        meta={},
                    )
                )
        async with engine.begin() as conn:
            await conn.run_sync(upgrade_to("head"))
    finally:
        await engine.dispose()
    store = await open_store(empty_database_url)
    try:
        assert await _found(store, "заказы") == {"cv0"}
        assert await _found(store, "оплаты") == {"cv1"}
        assert await _found(store, "анны") == {"cv0", "cv1", "cv2"}
    finally:
        await store.close()
