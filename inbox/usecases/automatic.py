"""``send_automatic_reply``: a bot or the system writes to the customer.

The message goes out the way an operator's reply does -- stored with its delivery job in one
transaction (``replies._store_outbound``), then delivered by the outbox worker -- but it has
no operator: no access check, and its author kind is ``bot`` or ``system`` (the delivery
worker marks it ``automatic``, so e-mail sends ``Auto-Submitted: auto-replied``).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Literal

from inbox.domain.channel_spec import ChannelCatalog
from inbox.domain.content import Part, Template, Text, plain_text, validate_text
from inbox.domain.conversations import Conversation
from inbox.domain.errors import NotFound
from inbox.domain.events import MessageCreated, OutboxReady
from inbox.domain.ids import ConversationId, MessageId, new_id
from inbox.domain.messages import AuthorKind, DeliveryStatus, Direction, Message, MessageKind
from inbox.ports import Tx
from inbox.usecases.deps import Core, Outcome, run
from inbox.usecases.ingest import PREVIEW_CHARS
from inbox.usecases.replies import WriteResult, _store_outbound, _validate, check_window

__all__ = [
    "AutomaticAuthor",
    "send_automatic_reply",
    "write_automatic_note",
    "write_automatic_reply",
]

#: Who writes an automatic message: a bot flow, or the system (a payment link, a notice).
AutomaticAuthor = Literal[AuthorKind.BOT, AuthorKind.SYSTEM]


async def send_automatic_reply(
    core: Core,
    conversation_id: ConversationId,
    parts: tuple[Part, ...],
    *,
    author: AutomaticAuthor,
    author_name: str = "",
    author_id: str | None = None,
    client_id: str | None = None,
) -> WriteResult:
    """Store an automatic message and its delivery job in a transaction of its own, then
    publish its events. See :func:`write_automatic_reply` for the contract."""

    async def work(tx: Tx) -> Outcome[WriteResult]:
        return await write_automatic_reply(
            tx,
            conversation_id,
            parts,
            core.clock.now(),
            author=author,
            author_name=author_name,
            author_id=author_id,
            client_id=client_id,
            channels=core.channels,
        )

    return await run(core, work)


async def write_automatic_reply(
    tx: Tx,
    conversation_id: ConversationId,
    parts: tuple[Part, ...],
    now: datetime,
    *,
    author: AutomaticAuthor,
    author_name: str = "",
    author_id: str | None = None,
    client_id: str | None = None,
    channels: ChannelCatalog | None = None,
) -> Outcome[WriteResult]:
    """Inside a caller's transaction: queue ``parts`` (text, buttons, links, a template)
    to the customer of ``conversation_id``, written by ``author``, with its delivery job.
    ``channels`` (``core.channels``) says which kinds take templates; without it a
    template is refused.

    Returns the result and the events (``MessageCreated``, ``OutboxReady``) that the caller
    publishes after its commit -- put them in the caller's :class:`Outcome`. Everything is
    written through ``tx``, so the caller's commit stores the message and the job together
    with the caller's own writes, and a rollback drops all of them.

    Idempotent on ``client_id`` within the conversation (like ``send_reply``): a second call
    returns the stored message with ``duplicate=True``, writes nothing and returns no events.
    Allowed in every status, resolved included (a survey after closing); it never changes
    the status and leaves ``unread_count`` alone (nobody read the customer's messages).

    Raises :class:`NotFound` (no such conversation), :class:`InvalidInput` (no parts,
    oversize text, a bad ``client_id``, a template the channel does not take) or
    :class:`WindowClosed` (the channel refuses free text now: the same check ``send_reply``
    makes). Nothing is written when it raises.
    """
    _validate(parts, client_id)
    conversation = await tx.conversations.get_for_update(conversation_id)
    if conversation is None:
        raise NotFound("no such conversation")
    if client_id is not None:
        earlier = await tx.messages.find_by_client_id(conversation_id, client_id)
        if earlier is not None:
            return Outcome(WriteResult(earlier, conversation, duplicate=True))
    channel = None
    if any(isinstance(p, Template) for p in parts):
        channel = await tx.channels.get(conversation.channel_id)
    check_window(channels or ChannelCatalog(), conversation, parts, now, channel)
    message = Message(
        id=MessageId(new_id()),
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        seq=conversation.last_message_seq + 1,
        kind=MessageKind.MESSAGE,
        direction=Direction.OUTBOUND,
        author_kind=author,
        author_id=author_id,
        author_name=author_name,
        parts=parts,
        status=DeliveryStatus.PENDING,
        created_at=now,
        client_id=client_id,
    )
    conversation = dataclasses.replace(
        conversation,
        last_message_seq=message.seq,
        last_message_at=now,
        preview=plain_text(parts)[:PREVIEW_CHARS],
        updated_at=now,
    )
    await _store_outbound(tx, message, conversation, now)
    return Outcome(
        WriteResult(message, conversation, duplicate=False),
        [MessageCreated(message, conversation), OutboxReady(conversation.channel_id)],
    )


async def write_automatic_note(
    tx: Tx,
    conversation_id: ConversationId,
    text: str,
    now: datetime,
    *,
    author: AutomaticAuthor = AuthorKind.BOT,
    author_name: str = "",
) -> Outcome[Conversation]:
    """Inside a caller's transaction: a private note for the operators from a bot or the
    system (what the bot collected, why it did not ask for a rating), in any status; it
    reaches no customer. Returns the conversation after it and its ``MessageCreated``.
    Raises :class:`NotFound` or :class:`InvalidInput` (oversize or blank text)."""
    validate_text(text)
    conversation = await tx.conversations.get_for_update(conversation_id)
    if conversation is None:
        raise NotFound("no such conversation")
    message = Message(
        id=MessageId(new_id()),
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        seq=conversation.last_message_seq + 1,
        kind=MessageKind.NOTE,
        direction=Direction.INTERNAL,
        author_kind=author,
        author_id=None,
        author_name=author_name,
        parts=(Text(text),),
        status=DeliveryStatus.SENT,
        created_at=now,
    )
    conversation = dataclasses.replace(conversation, last_message_seq=message.seq, updated_at=now)
    await tx.messages.add(message)
    await tx.conversations.update(conversation)
    return Outcome(conversation, [MessageCreated(message, conversation)])
