"""``hand_off``: a bot gives its conversation to people (``bot`` → ``queued``);
``write_bot_resolve``: it closes one it finished (``bot`` → ``resolved``).

A conversation that the intake policy (:class:`inbox.ports.IntakePolicy`) gave to a bot is
invisible to routing (routing looks only at ``queued`` and ``assigned`` conversations) and
to plain operators. The hand-off queues it: the ``ConversationChanged`` event it publishes
(reason ``unassigned``, ``previous_status`` ``bot``) makes the router run a pass, which
gives the conversation a routing task and offers or assigns it; operators who may see the
queue get it as a ``conversation.updated`` frame.
"""

from __future__ import annotations

from datetime import datetime

from inbox.domain.content import validate_text
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import InvalidTransition, NotFound
from inbox.domain.events import ConversationChanged, Event
from inbox.domain.ids import ConversationId
from inbox.ports import Tx
from inbox.usecases.automatic import write_automatic_note
from inbox.usecases.deps import Core, Outcome, run

__all__ = ["hand_off", "write_bot_resolve", "write_hand_off"]


async def hand_off(
    core: Core, conversation_id: ConversationId, *, note: str = "", author_name: str = ""
) -> Conversation:
    """Queue a bot conversation for routing in a transaction of its own, then publish.
    See :func:`write_hand_off` for the contract."""

    async def work(tx: Tx) -> Outcome[Conversation]:
        return await write_hand_off(
            tx, conversation_id, core.clock.now(), note=note, author_name=author_name
        )

    return await run(core, work)


async def write_hand_off(
    tx: Tx,
    conversation_id: ConversationId,
    now: datetime,
    *,
    note: str = "",
    author_name: str = "",
) -> Outcome[Conversation]:
    """Inside a caller's transaction: move a ``bot`` conversation to ``queued`` (its wait
    in the queue starts ``now``), optionally with a private ``note`` for the operator who
    takes it (what the bot learned), written by the bot as ``author_name``.

    Returns the conversation and the events to publish after the caller's commit
    (``ConversationChanged`` with reason ``unassigned`` and ``previous_status`` ``bot``;
    ``MessageCreated`` for the note). No operator is involved, so there is no access
    check: the caller is a bot flow. Raises :class:`NotFound` (no such conversation),
    :class:`InvalidTransition` (it is not a bot conversation: already handed off,
    resolved, or never the bot's) or :class:`InvalidInput` (the note is oversize or
    blank but not empty). Nothing is written when it raises.
    """
    if note:
        validate_text(note)
    conversation = await tx.conversations.get_for_update(conversation_id)
    if conversation is None:
        raise NotFound("no such conversation")
    if conversation.status is not ConversationStatus.BOT:
        raise InvalidTransition(f"a {conversation.status} conversation is not the bot's")
    queued = conversation.moved_to(ConversationStatus.QUEUED, now)
    await tx.conversations.update(queued)
    events: list[Event] = []
    if note:
        noted = await write_automatic_note(tx, queued.id, note, now, author_name=author_name)
        queued = noted.value
        events += noted.events
    # The change goes first: a subscriber learns the conversation is queued before it
    # sees the note that was written with it.
    events.insert(0, ConversationChanged(queued, "unassigned", None, ConversationStatus.BOT))
    return Outcome(queued, events)


async def write_bot_resolve(
    tx: Tx, conversation_id: ConversationId, now: datetime
) -> Outcome[Conversation]:
    """Inside a caller's transaction: the bot closes a ``bot`` conversation it finished
    (a CSAT answer it recorded, a question it answered for good). No operator is
    involved, so there is no access check. Returns the resolved conversation and its
    ``ConversationChanged("resolved", previous_status=bot)`` to publish after commit.
    Raises :class:`NotFound` or :class:`InvalidTransition` (not the bot's)."""
    conversation = await tx.conversations.get_for_update(conversation_id)
    if conversation is None:
        raise NotFound("no such conversation")
    if conversation.status is not ConversationStatus.BOT:
        raise InvalidTransition(f"a {conversation.status} conversation is not the bot's")
    resolved = conversation.moved_to(ConversationStatus.RESOLVED, now)
    await tx.conversations.update(resolved)
    return Outcome(
        resolved,
        [
            ConversationChanged(
                resolved, "resolved", conversation.assignee_id, ConversationStatus.BOT
            )
        ],
    )
