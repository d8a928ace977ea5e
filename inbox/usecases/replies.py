"""``send_reply`` and ``add_note``: an operator writes in a conversation."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from inbox.domain.channel_spec import ChannelCatalog
from inbox.domain.channels import Channel
from inbox.domain.content import Buttons, Part, Template, Text, plain_text, validate_text
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    RepliesUnsupported,
    WindowClosed,
)
from inbox.domain.events import Event, MessageCreated, OutboxReady
from inbox.domain.ids import ConversationId, MessageId, OutboxId, new_id
from inbox.domain.messages import AuthorKind, DeliveryStatus, Direction, Message, MessageKind
from inbox.domain.operators import Operator
from inbox.ports import OutboxItem, Tx
from inbox.usecases.access import require_act
from inbox.usecases.deps import Core, Outcome, run
from inbox.usecases.ingest import PREVIEW_CHARS

__all__ = [
    "MAX_CLIENT_ID",
    "WriteResult",
    "add_note",
    "check_window",
    "send_reply",
    "write_note",
    "write_system_message",
]

MAX_CLIENT_ID = 100

_WINDOW_CLOSED = (
    "The channel's reply window has closed since the customer last wrote: only an approved "
    "template can be delivered now."
)


#: Free text needs no declaration: the window is stored on the conversation.
_NO_CATALOG = ChannelCatalog()


def check_window(
    catalog: ChannelCatalog,
    conversation: Conversation,
    parts: tuple[Part, ...],
    now: datetime,
    channel: Channel | None,
) -> None:
    """Refuse what the channel would refuse, before it is queued, with a reason the
    operator can act on: a template the channel kind does not take or ``channel`` has not
    configured, or free text after the conversation's reply window closed
    (``Conversation.reply_window_ends_at``, stored by ingest from the kind's spec).
    Raises :class:`WindowClosed`, :class:`RepliesUnsupported` (a kind that delivers
    nothing) or :class:`InvalidInput`."""
    spec = catalog.get(conversation.channel_kind)
    if spec is not None and spec.no_replies:
        raise RepliesUnsupported(spec.no_replies)
    templates = [p for p in parts if isinstance(p, Template)]
    if templates:
        if spec is None or spec.templates is None:
            raise InvalidInput(
                f"templates cannot be sent on {conversation.channel_kind or 'this'} channels"
            )
        allowed = spec.templates(channel) if channel else []
        for t in templates:
            if (t.name, t.language) not in allowed:
                raise InvalidInput(
                    f"the template {t.name} ({t.language}) is not configured for this channel"
                )
        return
    ends = conversation.reply_window_ends_at
    if ends is not None and now >= ends:
        window = spec.reply_window if spec is not None else None
        raise WindowClosed(window.closed_message if window is not None else _WINDOW_CLOSED)


@dataclass(frozen=True, slots=True)
class WriteResult:
    message: Message
    conversation: Conversation
    duplicate: bool


def _check_client_id(client_id: str | None) -> None:
    if client_id is not None and not 1 <= len(client_id) <= MAX_CLIENT_ID:
        raise InvalidInput(f"client_id must be 1..{MAX_CLIENT_ID} characters")


async def send_reply(
    core: Core,
    operator: Operator,
    conversation_id: ConversationId,
    parts: tuple[Part, ...],
    client_id: str | None,
) -> WriteResult:
    """Store an outbound message and its delivery job in one transaction.

    Idempotent on ``client_id`` within the conversation: a resend returns the stored message
    (``duplicate=True``) and queues nothing. Raises :class:`NotFound`, :class:`Forbidden`
    (not the assignee, and not a supervisor/admin), :class:`InvalidTransition` (resolved:
    reopen it first) or :class:`InvalidInput`. Nothing is stored when it raises.
    """
    _validate(parts, client_id)

    async def work(tx: Tx) -> Outcome[WriteResult]:
        now = core.clock.now()
        found = await _writable(tx, operator, conversation_id, client_id)
        if isinstance(found, WriteResult):
            return Outcome(found)
        conversation = found
        if conversation.status is ConversationStatus.RESOLVED:
            raise InvalidTransition("the conversation is resolved; reopen it to reply")
        channel = None
        if any(isinstance(p, Template) for p in parts):
            channel = await tx.channels.get(conversation.channel_id)
        check_window(core.channels, conversation, parts, now, channel)
        message = _new_message(conversation, operator, parts, client_id, now, note=False)
        conversation = dataclasses.replace(
            conversation,
            last_message_seq=message.seq,
            last_message_at=now,
            preview=plain_text(parts)[:PREVIEW_CHARS],
            unread_count=0,  # answering means the operator has read the conversation
            updated_at=now,
        )
        await _store_outbound(tx, message, conversation, now)
        events: list[Event] = [
            MessageCreated(message, conversation),
            OutboxReady(conversation.channel_id),
        ]
        return Outcome(WriteResult(message, conversation, duplicate=False), events)

    return await run(core, work)


async def add_note(
    core: Core,
    operator: Operator,
    conversation_id: ConversationId,
    text: str,
    client_id: str | None = None,
) -> WriteResult:
    """Store a private note: seen by operators who see the conversation, never sent out.

    Notes are allowed on resolved conversations too (a follow-up for colleagues).
    """
    parts: tuple[Part, ...] = (Text(text),)
    _validate(parts, client_id)

    async def work(tx: Tx) -> Outcome[WriteResult]:
        now = core.clock.now()
        found = await _writable(tx, operator, conversation_id, client_id)
        if isinstance(found, WriteResult):
            return Outcome(found)
        message = _new_message(found, operator, parts, client_id, now, note=True)
        conversation = dataclasses.replace(found, last_message_seq=message.seq, updated_at=now)
        await tx.messages.add(message)
        await tx.conversations.update(conversation)
        return Outcome(
            WriteResult(message, conversation, duplicate=False),
            [MessageCreated(message, conversation)],
        )

    return await run(core, work)


def _validate(parts: tuple[Part, ...], client_id: str | None) -> None:
    if not parts:
        raise InvalidInput("a message needs at least one part")
    for part in parts:
        if isinstance(part, Text | Buttons):
            validate_text(part.text)
    _check_client_id(client_id)


async def _writable(
    tx: Tx, operator: Operator, conversation_id: ConversationId, client_id: str | None
) -> Conversation | WriteResult:
    """The locked conversation, or the stored result of an earlier send with this client id."""
    conversation = await tx.conversations.get_for_update(conversation_id)
    if conversation is None:
        raise NotFound("no such conversation")
    require_act(operator, conversation)
    if client_id is not None:
        earlier = await tx.messages.find_by_client_id(conversation_id, client_id)
        if earlier is not None:
            return WriteResult(earlier, conversation, duplicate=True)
    return conversation


def _new_message(
    conversation: Conversation,
    operator: Operator,
    parts: tuple[Part, ...],
    client_id: str | None,
    now: datetime,
    *,
    note: bool,
) -> Message:
    return Message(
        id=MessageId(new_id()),
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        seq=conversation.last_message_seq + 1,
        kind=MessageKind.NOTE if note else MessageKind.MESSAGE,
        direction=Direction.INTERNAL if note else Direction.OUTBOUND,
        author_kind=AuthorKind.OPERATOR,
        author_id=operator.id,
        author_name=operator.display_name,
        parts=parts,
        status=DeliveryStatus.SENT if note else DeliveryStatus.PENDING,
        created_at=now,
        client_id=client_id,
    )


async def write_system_message(
    tx: Tx, conversation_id: ConversationId, text: str, now: datetime, *, author_name: str = ""
) -> list[Event]:
    """Inside a caller's transaction: queue a message from the system (a queue position, a
    notice) to the customer, with its delivery job. Returns the events to publish after
    commit; nothing (and no events) when the conversation is gone or resolved, or the
    channel would refuse it (WhatsApp's closed window)."""
    conversation = await tx.conversations.get_for_update(conversation_id)
    if conversation is None or conversation.status is ConversationStatus.RESOLVED:
        return []
    parts: tuple[Part, ...] = (Text(text),)
    try:
        check_window(_NO_CATALOG, conversation, parts, now, None)
    except WindowClosed:
        return []
    message = Message(
        id=MessageId(new_id()),
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        seq=conversation.last_message_seq + 1,
        kind=MessageKind.MESSAGE,
        direction=Direction.OUTBOUND,
        author_kind=AuthorKind.SYSTEM,
        author_id=None,
        author_name=author_name,
        parts=parts,
        status=DeliveryStatus.PENDING,
        created_at=now,
    )
    conversation = dataclasses.replace(
        conversation, last_message_seq=message.seq, last_message_at=now, updated_at=now
    )
    await _store_outbound(tx, message, conversation, now)
    return [MessageCreated(message, conversation), OutboxReady(conversation.channel_id)]


async def _store_outbound(
    tx: Tx, message: Message, conversation: Conversation, now: datetime
) -> None:
    """The message, the conversation after it, and its delivery job: one transaction."""
    await tx.messages.add(message)
    await tx.conversations.update(conversation)
    await tx.outbox.add(
        OutboxItem(
            id=OutboxId(new_id()),
            message_id=message.id,
            conversation_id=conversation.id,
            channel_id=conversation.channel_id,
            created_at=now,
            available_at=now,
            seq=message.seq,
        )
    )


async def write_note(
    tx: Tx, conversation: Conversation, author: Operator, text: str, now: datetime
) -> tuple[Conversation, list[Event]]:
    """Inside a caller's transaction, on a conversation the caller has locked: add a
    private note (a transfer's reason). Returns the conversation after it and the events."""
    parts: tuple[Part, ...] = (Text(text),)
    _validate(parts, None)
    message = _new_message(conversation, author, parts, None, now, note=True)
    conversation = dataclasses.replace(conversation, last_message_seq=message.seq, updated_at=now)
    await tx.messages.add(message)
    await tx.conversations.update(conversation)
    return conversation, [MessageCreated(message, conversation)]
