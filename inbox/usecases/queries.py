"""Read-side use cases: what an operator or a customer may load."""

from __future__ import annotations

from dataclasses import dataclass

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import Forbidden, InvalidInput, NotFound
from inbox.domain.ids import ChannelId, ConversationId, OperatorId
from inbox.domain.messages import Message
from inbox.domain.operators import Operator
from inbox.domain.visibility import Visibility
from inbox.ports import ConversationFilter, Tx
from inbox.usecases.access import require_see
from inbox.usecases.deps import Core

__all__ = [
    "CustomerHistory",
    "customer_history",
    "get_conversation",
    "list_conversations",
    "list_messages",
    "peek_conversation",
]

MAX_PAGE = 500


async def list_conversations(
    core: Core,
    viewer: Operator,
    *,
    statuses: tuple[ConversationStatus, ...] | None = None,
    assignee_id: OperatorId | None = None,
    channel_id: ChannelId | None = None,
    limit: int = 200,
) -> list[Conversation]:
    """Conversations the viewer may see. A plain operator may filter only by their own id."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be 1..{MAX_PAGE}")
    if not viewer.role.sees_everything and assignee_id not in (None, viewer.id):
        raise Forbidden("operators may only list their own conversations")
    flt = ConversationFilter(
        statuses=statuses,
        assignee_id=assignee_id,
        channel_id=channel_id,
        visible_to=Visibility.of(viewer),
        limit=limit,
    )

    async def work(tx: Tx) -> list[Conversation]:
        return await tx.conversations.list(flt)

    return await core.store.read(work)


async def get_conversation(
    core: Core, viewer: Operator, conversation_id: ConversationId
) -> Conversation:
    async def work(tx: Tx) -> Conversation | None:
        return await tx.conversations.get(conversation_id)

    conversation = await core.store.read(work)
    if conversation is None:
        raise NotFound("no such conversation")
    require_see(viewer, conversation)
    return conversation


async def list_messages(
    core: Core,
    viewer: Operator,
    conversation_id: ConversationId,
    *,
    after_seq: int | None = None,
    limit: int = 200,
) -> list[Message]:
    """History in ascending seq: after ``after_seq``, or the newest ``limit`` without it."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be 1..{MAX_PAGE}")
    if after_seq is not None and after_seq < 0:
        raise InvalidInput("after_seq must not be negative")

    async def work(tx: Tx) -> tuple[Conversation | None, list[Message]]:
        conversation = await tx.conversations.get(conversation_id)
        if conversation is None:
            return None, []
        if after_seq is None:
            return conversation, await tx.messages.list_last(
                conversation_id, limit=limit, include_notes=True
            )
        return conversation, await tx.messages.list(
            conversation_id, after_seq=after_seq, limit=limit, include_notes=True
        )

    conversation, messages = await core.store.read(work)
    if conversation is None:
        raise NotFound("no such conversation")
    require_see(viewer, conversation)
    return messages


async def peek_conversation(core: Core, conversation_id: ConversationId) -> Conversation | None:
    """For the server's own edges (no viewer, so no access check): never expose directly."""

    async def work(tx: Tx) -> Conversation | None:
        return await tx.conversations.get(conversation_id)

    return await core.store.read(work)


@dataclass(frozen=True, slots=True)
class CustomerHistory:
    conversation: Conversation | None
    messages: list[Message]


async def customer_history(
    core: Core,
    channel_id: ChannelId,
    external_user_id: str,
    *,
    after_seq: int = 0,
    limit: int = 200,
) -> CustomerHistory:
    """What the customer sees of their latest conversation on this channel: no notes."""

    async def work(tx: Tx) -> CustomerHistory:
        identity = await tx.contacts.find_identity(channel_id, external_user_id)
        if identity is None:
            return CustomerHistory(None, [])
        conversation = await tx.conversations.find_latest(identity.contact_id, channel_id)
        if conversation is None:
            return CustomerHistory(None, [])
        if after_seq:
            messages = await tx.messages.list(
                conversation.id, after_seq=after_seq, limit=limit, include_notes=False
            )
        else:
            messages = await tx.messages.list_last(
                conversation.id, limit=limit, include_notes=False
            )
        return CustomerHistory(conversation, messages)

    return await core.store.read(work)
