"""Round trips and unique keys of every repository, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError

from inbox.domain.contacts import ChannelIdentity
from inbox.domain.content import (
    Audio,
    Button,
    Buttons,
    ContactCard,
    File,
    Image,
    Location,
    MediaRef,
    Text,
    Unsupported,
)
from inbox.domain.conversations import ConversationStatus
from inbox.domain.errors import Conflict
from inbox.domain.ids import ChannelId, ContactId, MessageId, OperatorId
from inbox.domain.messages import DeliveryStatus, Message, MessageKind
from inbox.domain.operators import Presence, Role
from inbox.ports import AuthSession, Tx
from storage import SqlStore
from tests.storage.builders import (
    T0,
    at,
    make_channel,
    make_contact,
    make_conversation,
    make_identity,
    make_message,
    make_operator,
    seed_world,
)


async def test_channels_round_trip(store: SqlStore) -> None:
    older = make_channel(name="Telegram", created_at=T0)
    newer = make_channel(name="Web", created_at=at(60))

    async def add(tx: Tx) -> None:
        await tx.channels.add(newer)
        await tx.channels.add(older)

    await store.transact(add)
    assert await store.read(lambda tx: tx.channels.get(older.id)) == older
    assert await store.read(lambda tx: tx.channels.get(ChannelId("missing"))) is None
    assert await store.read(lambda tx: tx.channels.list()) == [older, newer]

    renamed = dataclasses.replace(older, name="TG", enabled=False, options={"token": "t"})
    await store.transact(lambda tx: tx.channels.update(renamed))
    assert await store.read(lambda tx: tx.channels.get(older.id)) == renamed


async def test_contacts_and_identities_round_trip(store: SqlStore) -> None:
    channel = make_channel()
    contact = make_contact()
    identity = make_identity(contact, channel, "tg-42")

    async def add(tx: Tx) -> None:
        await tx.channels.add(channel)
        await tx.contacts.add(contact, identity)

    await store.transact(add)
    assert await store.read(lambda tx: tx.contacts.get(contact.id)) == contact
    assert await store.read(lambda tx: tx.contacts.get(ContactId("missing"))) is None
    found = await store.read(lambda tx: tx.contacts.find_identity(channel.id, "tg-42"))
    assert found == identity
    assert await store.read(lambda tx: tx.contacts.find_identity(channel.id, "tg-43")) is None

    changed = ChannelIdentity(
        contact_id=contact.id,
        channel_id=channel.id,
        external_user_id="tg-42",
        display_name="Anna K.",
        username="annak",
        phone="+7901",
        email="anna@example.org",
    )
    await store.transact(lambda tx: tx.contacts.update_identity(changed))
    assert await store.read(lambda tx: tx.contacts.find_identity(channel.id, "tg-42")) == changed


async def test_duplicate_identity_is_a_conflict_and_leaves_nothing_behind(
    store: SqlStore,
) -> None:
    world = await seed_world(store)
    intruder = make_contact(name="Someone else")

    async def blind_insert(tx: Tx) -> None:
        await tx.contacts.add(intruder, make_identity(intruder, world.channel, "user-1"))

    with pytest.raises(Conflict):
        await store.transact(blind_insert)
    # The contact row went with the savepoint of the failed identity insert.
    assert await store.read(lambda tx: tx.contacts.get(intruder.id)) is None


async def test_operators_round_trip(store: SqlStore) -> None:
    zed = make_operator(login="zed")
    amy = make_operator(login="amy")

    async def add(tx: Tx) -> None:
        await tx.operators.add(zed)
        await tx.operators.add(amy)

    await store.transact(add)
    assert await store.read(lambda tx: tx.operators.get(zed.id)) == zed
    assert await store.read(lambda tx: tx.operators.get(OperatorId("missing"))) is None
    assert await store.read(lambda tx: tx.operators.get_by_login("amy")) == amy
    assert await store.read(lambda tx: tx.operators.get_by_login("nobody")) is None
    assert await store.read(lambda tx: tx.operators.list()) == [amy, zed]

    changed = dataclasses.replace(
        zed,
        display_name="Zed Z.",
        role=Role.SUPERVISOR,
        skills={"en": 2},
        capacity=9,
        presence=Presence.ONLINE,
        presence_changed_at=at(5),
        last_assigned_at=at(6),
        disabled=True,
    )
    await store.transact(lambda tx: tx.operators.update(changed))
    assert await store.transact(lambda tx: tx.operators.get_for_update(zed.id)) == changed
    assert await store.transact(lambda tx: tx.operators.get_for_update(OperatorId("x"))) is None


async def test_taken_login_is_a_conflict(store: SqlStore) -> None:
    await store.transact(lambda tx: tx.operators.add(make_operator(login="amy")))
    with pytest.raises(Conflict):
        await store.transact(lambda tx: tx.operators.add(make_operator(login="amy")))


async def test_conversations_round_trip(store: SqlStore) -> None:
    world = await seed_world(store)
    conversation = world.conversation
    assert await store.read(lambda tx: tx.conversations.get(conversation.id)) == conversation

    changed = dataclasses.replace(
        conversation,
        status=ConversationStatus.ASSIGNED,
        updated_at=at(30),
        assignee_id=world.operator.id,
        last_message_seq=3,
        last_message_at=at(29),
        last_inbound_at=at(28),
        unread_count=2,
        queued_at=at(10),
        resolved_at=None,
        subject="Lenses",
        preview="Do you have -2.5?",
        contact_name="Anna K.",
        channel_kind="webchat",
    )
    await store.transact(lambda tx: tx.conversations.update(changed))
    locked = await store.transact(lambda tx: tx.conversations.get_for_update(conversation.id))
    assert locked == changed


async def test_find_latest_is_the_newest_conversation_of_contact_on_channel(
    store: SqlStore,
) -> None:
    world = await seed_world(store)
    newer = make_conversation(world.channel, world.contact, created_at=at(100))
    other_channel = make_channel()
    elsewhere = make_conversation(other_channel, world.contact, created_at=at(200))

    async def add(tx: Tx) -> None:
        await tx.conversations.add(newer)
        await tx.channels.add(other_channel)
        await tx.conversations.add(elsewhere)

    await store.transact(add)
    latest = await store.read(
        lambda tx: tx.conversations.find_latest(world.contact.id, world.channel.id)
    )
    assert latest == newer
    nobody = await store.read(
        lambda tx: tx.conversations.find_latest(ContactId("nobody"), world.channel.id)
    )
    assert nobody is None


async def test_messages_round_trip_every_part_kind(store: SqlStore) -> None:
    world = await seed_world(store)
    media = MediaRef("image/png", key="k1", filename="a.png", size=123)
    parts = (
        Text("Привет"),
        Image(media, caption="look"),
        File(MediaRef("application/pdf", provider_ref="p1"), caption="invoice"),
        Audio(MediaRef("audio/ogg", key="v"), voice=True, duration_s=3.5),
        Location(55.75, 37.62, name="Office", address="Tverskaya 1"),
        ContactCard("Bob", phone="+1", email="bob@example.org"),
        Buttons("Pick", (Button("Site", kind="url", url="https://x"), Button("Yes", payload="y"))),
        Unsupported("sticker", "a sticker"),
    )
    message = dataclasses.replace(
        make_message(world.conversation, 1, parts=parts, external_id="ext-1", client_id="c-1"),
        author_id="op-1",
        author_name="Zed",
        meta={"reply_to": "ext-0"},
        error="nope",
    )
    await store.transact(lambda tx: tx.messages.add(message))
    assert await store.read(lambda tx: tx.messages.get(message.id)) == message
    assert await store.read(lambda tx: tx.messages.get(MessageId("missing"))) is None
    by_external = await store.read(
        lambda tx: tx.messages.find_by_external(world.channel.id, "ext-1")
    )
    assert by_external == message
    by_client = await store.read(
        lambda tx: tx.messages.find_by_client_id(world.conversation.id, "c-1")
    )
    assert by_client == message
    assert (
        await store.read(lambda tx: tx.messages.find_by_external(world.channel.id, "ext-2")) is None
    )
    assert (
        await store.read(lambda tx: tx.messages.find_by_client_id(world.conversation.id, "c-2"))
        is None
    )


async def _add_messages(store: SqlStore, messages: list[Message]) -> None:
    async def add(tx: Tx) -> None:
        for message in messages:
            await tx.messages.add(message)

    await store.transact(add)


async def test_message_lists_page_by_seq_and_skip_notes(store: SqlStore) -> None:
    world = await seed_world(store)
    conv = world.conversation
    messages = [
        make_message(conv, seq, kind=MessageKind.NOTE if seq in (3, 5) else MessageKind.MESSAGE)
        for seq in range(1, 7)
    ]
    await _add_messages(store, messages[::-1])  # insertion order must not matter

    def seqs(found: list[Message]) -> list[int]:
        return [m.seq for m in found]

    assert seqs(await store.read(lambda tx: tx.messages.list(conv.id))) == [1, 2, 3, 4, 5, 6]
    page = await store.read(lambda tx: tx.messages.list(conv.id, after_seq=2, limit=2))
    assert seqs(page) == [3, 4]
    no_notes = await store.read(lambda tx: tx.messages.list(conv.id, include_notes=False))
    assert seqs(no_notes) == [1, 2, 4, 6]
    last = await store.read(lambda tx: tx.messages.list_last(conv.id, limit=3, include_notes=True))
    assert seqs(last) == [4, 5, 6]
    last_no_notes = await store.read(
        lambda tx: tx.messages.list_last(conv.id, limit=3, include_notes=False)
    )
    assert seqs(last_no_notes) == [2, 4, 6]
    assert await store.read(lambda tx: tx.messages.list(conv.id, after_seq=6)) == []


async def test_set_status_sets_error_and_external_id_only_when_given(store: SqlStore) -> None:
    world = await seed_world(store)
    message = make_message(world.conversation, 1)
    await store.transact(lambda tx: tx.messages.add(message))

    await store.transact(
        lambda tx: tx.messages.set_status(message.id, DeliveryStatus.SENT, external_id="e-9")
    )
    sent = await store.read(lambda tx: tx.messages.get(message.id))
    assert sent is not None
    assert (sent.status, sent.external_id, sent.error) == (DeliveryStatus.SENT, "e-9", None)

    await store.transact(
        lambda tx: tx.messages.set_status(message.id, DeliveryStatus.FAILED, error="blocked")
    )
    failed = await store.read(lambda tx: tx.messages.get(message.id))
    assert failed is not None
    assert (failed.status, failed.external_id, failed.error) == (
        DeliveryStatus.FAILED,
        "e-9",
        "blocked",
    )


@pytest.mark.parametrize(
    "field", ["external_id", "client_id", "seq"], ids=["external", "client", "seq"]
)
async def test_duplicate_message_keys_are_conflicts(store: SqlStore, field: str) -> None:
    world = await seed_world(store)
    first = make_message(world.conversation, 1, external_id="e-1", client_id="c-1")
    await store.transact(lambda tx: tx.messages.add(first))
    second = make_message(
        world.conversation,
        1 if field == "seq" else 2,
        external_id="e-1" if field == "external_id" else "e-2",
        client_id="c-1" if field == "client_id" else "c-2",
    )
    with pytest.raises(Conflict):
        await store.transact(lambda tx: tx.messages.add(second))
    assert await store.read(lambda tx: tx.messages.get(second.id)) is None


async def test_null_client_and_external_ids_never_collide(store: SqlStore) -> None:
    world = await seed_world(store)
    messages = [make_message(world.conversation, seq) for seq in range(1, 5)]
    assert all(m.client_id is None and m.external_id is None for m in messages)
    await _add_messages(store, messages)
    stored = await store.read(lambda tx: tx.messages.list(world.conversation.id))
    assert len(stored) == 4


async def test_same_external_id_on_two_channels_is_fine(store: SqlStore) -> None:
    world = await seed_world(store)
    other = make_channel(name="Other")
    other_conv = make_conversation(other, world.contact)

    async def add(tx: Tx) -> None:
        await tx.channels.add(other)
        await tx.conversations.add(other_conv)
        await tx.messages.add(make_message(world.conversation, 1, external_id="same"))
        await tx.messages.add(make_message(other_conv, 1, external_id="same"))

    await store.transact(add)


async def test_datetimes_come_back_aware_utc(store: SqlStore) -> None:
    msk = timezone(timedelta(hours=3))
    channel = dataclasses.replace(
        make_channel(), created_at=datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=msk)
    )
    await store.transact(lambda tx: tx.channels.add(channel))
    loaded = await store.read(lambda tx: tx.channels.get(channel.id))
    assert loaded is not None
    assert loaded.created_at.tzinfo is UTC
    assert loaded.created_at == channel.created_at
    assert loaded.created_at.hour == 9


async def test_naive_datetimes_are_refused(store: SqlStore) -> None:
    naive = dataclasses.replace(make_channel(), created_at=datetime(2026, 1, 1))
    with pytest.raises(StatementError, match="naive datetime"):
        await store.transact(lambda tx: tx.channels.add(naive))


async def test_sessions_round_trip_and_revoke_keeps_first_time(store: SqlStore) -> None:
    world = await seed_world(store)
    session = AuthSession(
        token_hash="ab" * 32, operator_id=world.operator.id, created_at=T0, expires_at=at(3600)
    )
    await store.transact(lambda tx: tx.sessions.add(session))
    assert await store.read(lambda tx: tx.sessions.get(session.token_hash)) == session
    assert await store.read(lambda tx: tx.sessions.get("cd" * 32)) is None

    await store.transact(lambda tx: tx.sessions.revoke(session.token_hash, at(60)))
    await store.transact(lambda tx: tx.sessions.revoke(session.token_hash, at(120)))
    revoked = await store.read(lambda tx: tx.sessions.get(session.token_hash))
    assert revoked == dataclasses.replace(session, revoked_at=at(60))
