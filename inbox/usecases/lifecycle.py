"""Conversation lifecycle: resolve, reopen, assign, claim, mark read."""

from __future__ import annotations

import dataclasses

from inbox.domain.close_reasons import check_reason
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import Conflict, Forbidden, NotFound
from inbox.domain.events import ConversationChanged
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.operators import Operator, Presence
from inbox.ports import Tx
from inbox.usecases.access import require_act, require_see, viewer_of
from inbox.usecases.deps import Core, Outcome, run

__all__ = [
    "assign_conversation",
    "claim_conversation",
    "mark_read",
    "reopen",
    "resolve_conversation",
]


async def resolve_conversation(
    core: Core, actor: Operator, conversation_id: ConversationId, reason: str | None = None
) -> Conversation:
    """Close the conversation, with one of the administrator's close reasons or none
    (:func:`inbox.domain.close_reasons.check_reason`). The assignee or a
    supervisor/admin. Raises :class:`InvalidTransition` when it is resolved already,
    :class:`InvalidInput` for a reason not on the list."""

    async def work(tx: Tx) -> Outcome[Conversation]:
        conversation = await _locked(tx, conversation_id)
        require_act(actor, conversation)
        close_reason = check_reason(await tx.close_reasons.list(), reason) if reason else ""
        resolved = dataclasses.replace(
            conversation.moved_to(ConversationStatus.RESOLVED, core.clock.now()),
            close_reason=close_reason,
        )
        await tx.conversations.update(resolved)
        return Outcome(
            resolved,
            [
                ConversationChanged(
                    resolved, "resolved", conversation.assignee_id, conversation.status
                )
            ],
        )

    return await run(core, work)


async def reopen(core: Core, actor: Operator, conversation_id: ConversationId) -> Conversation:
    """Put a resolved conversation back in the queue (a new customer message does this by
    itself in ``ingest_inbound``). Its last assignee or a supervisor/admin."""

    async def work(tx: Tx) -> Outcome[Conversation]:
        conversation = await _locked(tx, conversation_id)
        require_act(actor, conversation)
        reopened = conversation.moved_to(ConversationStatus.QUEUED, core.clock.now())
        await tx.conversations.update(reopened)
        return Outcome(
            reopened,
            [
                ConversationChanged(
                    reopened, "reopened", conversation.assignee_id, conversation.status
                )
            ],
        )

    return await run(core, work)


async def assign_conversation(
    core: Core,
    conversation_id: ConversationId,
    operator_id: OperatorId,
    *,
    require_online: bool = True,
) -> Conversation:
    """Assign a queued conversation to an operator, atomically.

    Both rows are locked, so two routers (in two processes) can never assign one conversation
    twice or push an operator past their capacity. Raises :class:`Conflict` when the
    conversation is no longer queued, or the operator is disabled, not online (with
    ``require_online``) or full.
    """

    async def work(tx: Tx) -> Outcome[Conversation]:
        now = core.clock.now()
        # Lock order: operator, then conversation -- the same everywhere, so no deadlock.
        operator = await tx.operators.get_for_update(operator_id)
        if operator is None:
            raise NotFound("no such operator")
        conversation = await _locked(tx, conversation_id)
        if conversation.status is not ConversationStatus.QUEUED:
            raise Conflict(f"the conversation is {conversation.status}, not queued")
        if operator.disabled:
            raise Conflict("the operator is disabled")
        if require_online and operator.presence is not Presence.ONLINE:
            raise Conflict("the operator is not online")
        load = (await tx.conversations.count_open_by_assignee([operator.id])).get(operator.id, 0)
        if load >= operator.capacity:
            raise Conflict("the operator has no free capacity")
        assigned = conversation.moved_to(ConversationStatus.ASSIGNED, now, operator.id)
        await tx.conversations.update(assigned)
        await tx.operators.update(dataclasses.replace(operator, last_assigned_at=now))
        return Outcome(
            assigned,
            [
                ConversationChanged(
                    assigned, "assigned", conversation.assignee_id, conversation.status
                )
            ],
        )

    return await run(core, work)


async def claim_conversation(
    core: Core, actor: Operator, conversation_id: ConversationId
) -> Conversation:
    """An operator takes a queued conversation by hand (capacity still applies)."""
    if actor.disabled:
        raise Forbidden("your account is disabled")
    return await assign_conversation(core, conversation_id, actor.id, require_online=False)


async def mark_read(core: Core, actor: Operator, conversation_id: ConversationId) -> Conversation:
    """The operator has read the conversation: its unread count returns to 0."""
    viewer = await viewer_of(core, actor)

    async def work(tx: Tx) -> Outcome[Conversation]:
        conversation = await _locked(tx, conversation_id)
        require_see(viewer, conversation)
        if conversation.unread_count == 0:
            return Outcome(conversation)
        read = dataclasses.replace(conversation, unread_count=0, updated_at=core.clock.now())
        await tx.conversations.update(read)
        return Outcome(
            read,
            [ConversationChanged(read, "read", conversation.assignee_id, conversation.status)],
        )

    return await run(core, work)


async def _locked(tx: Tx, conversation_id: ConversationId) -> Conversation:
    conversation = await tx.conversations.get_for_update(conversation_id)
    if conversation is None:
        raise NotFound("no such conversation")
    return conversation
