"""Domain objects with sensible defaults for the storage tests, and a seeded world."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.contacts import ChannelIdentity, Contact
from inbox.domain.content import Part, Text
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import (
    ChannelId,
    ContactId,
    ConversationId,
    MessageId,
    OperatorId,
    OutboxId,
    new_id,
)
from inbox.domain.messages import AuthorKind, DeliveryStatus, Direction, Message, MessageKind
from inbox.domain.operators import Operator, Role
from inbox.ports import OutboxItem, Tx
from storage import SqlStore

__all__ = [
    "T0",
    "World",
    "at",
    "make_channel",
    "make_contact",
    "make_conversation",
    "make_identity",
    "make_message",
    "make_operator",
    "make_outbox_item",
    "seed_world",
]

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """``T0`` plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


def make_channel(*, name: str = "Web chat", created_at: datetime = T0) -> Channel:
    return Channel(
        id=ChannelId(new_id()),
        kind=ChannelKind("webchat"),
        name=name,
        created_at=created_at,
        options={"greeting": "Hello", "visitor_secret": "s3cr3t"},
    )


def make_contact(*, name: str = "Anna") -> Contact:
    return Contact(id=ContactId(new_id()), display_name=name, created_at=T0, phone="+7900")


def make_identity(contact: Contact, channel: Channel, external_user_id: str) -> ChannelIdentity:
    return ChannelIdentity(
        contact_id=contact.id,
        channel_id=channel.id,
        external_user_id=external_user_id,
        display_name=contact.display_name,
        username="anna_k",
    )


def make_operator(*, login: str | None = None, capacity: int = 5) -> Operator:
    login = login or f"op-{new_id()[:8]}"
    return Operator(
        id=OperatorId(new_id()),
        login=login,
        display_name=login.title(),
        role=Role.OPERATOR,
        password_hash="$argon2id$fake",
        created_at=T0,
        skills={"ru": 1, "lenses": 3},
        capacity=capacity,
    )


def make_conversation(
    channel: Channel,
    contact: Contact,
    *,
    status: ConversationStatus = ConversationStatus.QUEUED,
    created_at: datetime = T0,
    assignee_id: OperatorId | None = None,
    last_message_at: datetime | None = None,
    queued_at: datetime | None = None,
) -> Conversation:
    return Conversation(
        id=ConversationId(new_id()),
        channel_id=channel.id,
        contact_id=contact.id,
        status=status,
        created_at=created_at,
        updated_at=created_at,
        assignee_id=assignee_id,
        last_message_at=last_message_at,
        queued_at=queued_at
        if queued_at is not None
        else (created_at if status is ConversationStatus.QUEUED else None),
        contact_name=contact.display_name,
        channel_kind=str(channel.kind),
    )


def make_message(
    conversation: Conversation,
    seq: int,
    *,
    parts: tuple[Part, ...] | None = None,
    kind: MessageKind = MessageKind.MESSAGE,
    external_id: str | None = None,
    client_id: str | None = None,
    created_at: datetime | None = None,
) -> Message:
    return Message(
        id=MessageId(new_id()),
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        seq=seq,
        kind=kind,
        direction=Direction.INTERNAL if kind is MessageKind.NOTE else Direction.INBOUND,
        author_kind=AuthorKind.CUSTOMER,
        author_id=None,
        parts=parts if parts is not None else (Text(f"message {seq}"),),
        status=DeliveryStatus.RECEIVED,
        created_at=created_at or at(seq),
        client_id=client_id,
        external_id=external_id,
    )


def make_outbox_item(
    message: Message, *, created_at: datetime, available_at: datetime | None = None
) -> OutboxItem:
    return OutboxItem(
        id=OutboxId(new_id()),
        message_id=message.id,
        conversation_id=message.conversation_id,
        channel_id=message.channel_id,
        created_at=created_at,
        available_at=available_at or created_at,
        seq=message.seq,
    )


@dataclass(frozen=True, slots=True)
class World:
    """One channel, one contact, one operator, one queued conversation."""

    channel: Channel
    contact: Contact
    operator: Operator
    conversation: Conversation


async def seed_world(store: SqlStore) -> World:
    channel = make_channel()
    contact = make_contact()
    operator = make_operator()
    conversation = make_conversation(channel, contact)

    async def work(tx: Tx) -> None:
        await tx.channels.add(channel)
        await tx.contacts.add(contact, make_identity(contact, channel, "user-1"))
        await tx.operators.add(operator)
        await tx.conversations.add(conversation)

    await store.transact(work)
    return World(channel, contact, operator, conversation)
