"""Moving a conversation between the queue and an operator, under row locks.

Conversations and operators are written by other use cases without the routing lock, so
both moves re-read their rows under row locks (the operator's first, then the
conversation's, in that order everywhere) and give up when either changed since the
snapshot. Each move updates the conversation, the task, the loads and the offers
together, logs its decision and emits ``ConversationChanged``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from inbox.domain.conversations import ConversationStatus
from inbox.domain.events import ConversationChanged
from inbox.domain.ids import OperatorId
from inbox.domain.operators import Presence
from routing.context import Pass, RoutingContext
from routing.offers import withdraw_offers
from routing.ports import RoutingTx
from routing.records import RoutingTask, TaskStatus
from routing.tasks import put_task, record_decision

__all__ = ["assign_task", "requeue_task"]


async def assign_task(
    ctx: RoutingContext,
    tx: RoutingTx,
    p: Pass,
    task: RoutingTask,
    operator_id: OperatorId,
    outcome: str,
    why: Mapping[str, Any],
    *,
    require_online: bool = True,
) -> bool:
    """Assign under the operator's and the conversation's row locks (taken in that
    order everywhere); False when either changed since the snapshot."""
    operator = await tx.operators.get_for_update(operator_id)
    if operator is None or operator.disabled:
        return False
    if require_online and operator.presence is not Presence.ONLINE:
        p.operators[operator.id] = operator
        return False
    conv = await tx.conversations.get_for_update(task.conversation_id)
    if conv is None or conv.status is not ConversationStatus.QUEUED:
        return False
    assigned = conv.moved_to(ConversationStatus.ASSIGNED, p.now, operator.id)
    await tx.conversations.update(assigned)
    updated = dataclasses.replace(operator, last_assigned_at=p.now)
    await tx.operators.update(updated)
    p.operators[operator.id] = updated
    p.convs[conv.id] = assigned
    p.loads[operator.id] += ctx.weight(conv.channel_kind)
    await withdraw_offers(tx, p, assigned, "taken", keep=operator.id)
    # The accepted offer's reservation becomes the assignment's load.
    for offer in p.offers.pop(conv.id, []):
        await tx.routing.delete_offers(conv.id, offer.operator_id)
        p.loads[offer.operator_id] -= offer.weight
    task = await put_task(
        tx,
        p,
        dataclasses.replace(
            task,
            status=TaskStatus.ASSIGNED,
            assignee_id=operator.id,
            assigned_at=p.now,
            response_alerted_at=None,
        ),
    )
    await record_decision(tx, p, task, outcome, why)
    p.events.append(ConversationChanged(assigned, "assigned", conv.assignee_id, conv.status))
    return True


async def requeue_task(
    ctx: RoutingContext,
    tx: RoutingTx,
    p: Pass,
    task: RoutingTask,
    outcome: str,
    why: Mapping[str, Any],
    *,
    refuse: bool,
) -> None:
    """Put an assigned conversation back into its queue (the escalation clock restarts);
    ``refuse`` counts it as the assignee's refusal. Nothing happens when the conversation
    is no longer assigned."""
    conv = await tx.conversations.get_for_update(task.conversation_id)
    if conv is None or conv.status is not ConversationStatus.ASSIGNED:
        return
    queued = conv.moved_to(ConversationStatus.QUEUED, p.now)
    await tx.conversations.update(queued)
    p.convs[conv.id] = queued
    if conv.assignee_id is not None:
        p.loads[conv.assignee_id] -= ctx.weight(conv.channel_kind)
    previous = task.assignee_id
    task = await put_task(
        tx,
        p,
        dataclasses.replace(
            task,
            status=TaskStatus.WAITING,
            entered_queue_at=p.now,
            last_operator_id=previous or task.last_operator_id,
            declined_by=task.declined_by | ({previous} if refuse and previous else set()),
            assignee_id=None,
            assigned_at=None,
        ),
    )
    await record_decision(tx, p, task, outcome, why)
    p.events.append(ConversationChanged(queued, "unassigned", conv.assignee_id, conv.status))
