"""Read-side use cases: what an operator or a customer may load."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import Forbidden, InvalidInput, NotFound
from inbox.domain.ids import ChannelId, ConversationId, OperatorId
from inbox.domain.messages import Message
from inbox.domain.operators import Operator
from inbox.ports import ConversationFilter, Tx
from inbox.ports.repositories import ConversationPosition
from inbox.usecases.access import require_see, viewer_of
from inbox.usecases.deps import Core

__all__ = [
    "MAX_CONVERSATION_PAGE",
    "ConversationPage",
    "CustomerHistory",
    "customer_history",
    "get_conversation",
    "list_conversations",
    "list_messages",
    "peek_conversation",
]

MAX_PAGE = 500
#: The conversation list's pages are at most this long.
MAX_CONVERSATION_PAGE = 200
MAX_QUERY_CHARS = 200


@dataclass(frozen=True, slots=True)
class ConversationPage:
    """A page of the list and the cursor of the next one (``None``: this was the last)."""

    conversations: list[Conversation]
    next_cursor: str | None


async def list_conversations(
    core: Core,
    viewer: Operator,
    *,
    statuses: tuple[ConversationStatus, ...] | None = None,
    assignee_id: OperatorId | None = None,
    channel_id: ChannelId | None = None,
    query: str | None = None,
    queue_id: str | None = None,
    tag: str | None = None,
    unread: bool | None = None,
    waiting_over: int | None = None,
    cursor: str | None = None,
    limit: int = MAX_CONVERSATION_PAGE,
) -> ConversationPage:
    """Conversations the viewer may see, newest activity first, a page at a time: pass the
    previous page's ``next_cursor`` as ``cursor`` (with the same filters) for the next.
    A plain operator may filter only by their own id. ``waiting_over``: queued for longer
    than that many seconds."""
    if not 1 <= limit <= MAX_CONVERSATION_PAGE:
        raise InvalidInput(f"limit must be 1..{MAX_CONVERSATION_PAGE}")
    if not viewer.role.sees_everything and assignee_id not in (None, viewer.id):
        raise Forbidden("operators may only list their own conversations")
    if waiting_over is not None and waiting_over < 0:
        raise InvalidInput("waiting_over must be a number of seconds, not negative")
    if query is not None:
        query = query.strip()
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidInput(f"q must be at most {MAX_QUERY_CHARS} characters")
    seer = await viewer_of(core, viewer)
    flt = ConversationFilter(
        statuses=statuses,
        assignee_id=assignee_id,
        channel_id=channel_id,
        visible_to=seer.visibility,
        limit=limit + 1,  # one more tells whether there is a next page
        query=query or None,
        queue_id=queue_id,
        tag=tag,
        unread=unread,
        queued_before=(
            core.clock.now() - timedelta(seconds=waiting_over) if waiting_over is not None else None
        ),
        after=decode_cursor(cursor) if cursor is not None else None,
    )

    async def work(tx: Tx) -> list[Conversation]:
        return await tx.conversations.list(flt)

    found = await core.store.read(work)
    if len(found) <= limit:
        return ConversationPage(found, None)
    page = found[:limit]
    return ConversationPage(page, encode_cursor(page[-1]))


def encode_cursor(last: Conversation) -> str:
    """An opaque token for the position after ``last`` (base64 of its sort key)."""
    key = [
        last.last_message_at.isoformat() if last.last_message_at is not None else None,
        last.created_at.isoformat(),
        last.id,
    ]
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> ConversationPosition:
    """The position a cursor of :func:`encode_cursor` names; anything else is refused."""
    bad = InvalidInput("cursor is not one this server gave out (use next_cursor as it is)")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        last_message_at, created_at, conversation_id = json.loads(raw)
        position = ConversationPosition(
            last_message_at=(
                _utc(datetime.fromisoformat(last_message_at))
                if last_message_at is not None
                else None
            ),
            created_at=_utc(datetime.fromisoformat(created_at)),
            id=ConversationId(conversation_id),
        )
    except (ValueError, TypeError) as exc:  # binascii.Error and JSON errors are ValueErrors
        raise bad from exc
    if not isinstance(conversation_id, str) or not conversation_id:
        raise bad
    return position


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime in a cursor")
    return moment.astimezone(UTC)


async def get_conversation(
    core: Core, viewer: Operator, conversation_id: ConversationId
) -> Conversation:
    seer = await viewer_of(core, viewer)

    async def work(tx: Tx) -> Conversation | None:
        return await tx.conversations.get(conversation_id)

    conversation = await core.store.read(work)
    if conversation is None:
        raise NotFound("no such conversation")
    require_see(seer, conversation)
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
    seer = await viewer_of(core, viewer)

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
    require_see(seer, conversation)
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
