"""A conversation's routing task through its episode: opening it, writing it, logging a
decision about it, and ending it.

Every write goes to the row and to the :class:`~routing.context.Pass` together, so the rest
of the unit of work sees it. Decision ids sort in the order of writing.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from inbox.domain.conversations import Conversation
from inbox.domain.events import ConversationChanged
from inbox.domain.ids import new_id
from routing.context import DEFAULT_HANDLE_SECONDS, Pass
from routing.policy import CustomerFacts, priority_of
from routing.policy.priority import HasTag, ReturningCustomer, UnpaidOrder
from routing.ports import RoutingTx
from routing.records import DecisionRecord, RoutingTask, TaskStatus
from routing.snapshot import queue_for

__all__ = [
    "HANDLE_EWMA",
    "file_in_queue",
    "finish_task",
    "new_task",
    "put_new_tasks",
    "put_task",
    "record_decision",
]

#: Weight of the newest handling time in the running average.
HANDLE_EWMA = 0.2

_DECISION_SEQ = itertools.count()


async def new_task(
    tx: RoutingTx, p: Pass, conv: Conversation, previous: RoutingTask | None
) -> RoutingTask:
    """A waiting task for a new episode of ``conv`` (``previous`` is its last episode's):
    its queue, its priority (a returning customer, the contact's tags) and SLA due times
    (in the queue's business time when it says so: :meth:`Pass.due`).
    Not written yet."""
    queue_id = queue_for(p, conv)
    queue = p.queues[queue_id]
    # Only what the queue's priority rules look at is read (a queue without rules: none).
    kinds = {type(rule) for rule in queue.priority_rules}
    # Served before: an earlier episode of this conversation, or another conversation.
    returning = ReturningCustomer in kinds and (
        previous is not None or await tx.routing.count_contact_conversations(conv.contact_id) > 1
    )
    tags: frozenset[str] = frozenset()
    if HasTag in kinds:
        contact = await tx.contacts.get(conv.contact_id)
        tags = contact.tags if contact is not None else frozenset()
    unpaid = (
        UnpaidOrder in kinds
        and p.unpaid is not None
        and await p.unpaid.has_unpaid(tx, conv.contact_id)
    )
    facts = CustomerFacts(returning=returning, unpaid_order=unpaid, tags=tags)
    priority = priority_of(queue.priority_rules, facts)
    started = conv.queued_at or p.now
    sla = queue.config.sla_for(priority)
    return RoutingTask(
        conversation_id=conv.id,
        queue_id=queue_id,
        status=TaskStatus.WAITING,
        channel_kind=conv.channel_kind,
        started_at=started,
        entered_queue_at=started,
        updated_at=p.now,
        priority=priority,
        last_operator_id=previous.assignee_id if previous else None,
        awaiting_reply_since=conv.last_inbound_at or started,
        first_response_due=p.due(queue_id, started, sla.first_response_seconds if sla else None),
        resolution_due=p.due(queue_id, started, sla.resolution_seconds if sla else None),
    )


async def put_task(tx: RoutingTx, p: Pass, task: RoutingTask) -> RoutingTask:
    """Write the task (stamped ``updated_at`` now) and keep the pass in step: a done task
    leaves ``p.tasks``. A task of a new queue (its first, a transfer, an overflow) moves
    the conversation there too (:func:`file_in_queue`). Returns what was written."""
    task = dataclasses.replace(task, updated_at=p.now)
    await tx.routing.put_task(task)
    if task.status is TaskStatus.DONE:
        p.tasks.pop(task.conversation_id, None)
    else:
        p.tasks[task.conversation_id] = task
        await file_in_queue(tx, p, task)
    return task


async def put_new_tasks(tx: RoutingTx, p: Pass, tasks: Sequence[RoutingTask]) -> None:
    """:func:`put_task` for new waiting tasks, written together (a burst of arrivals is
    filed in a few statements, not a few per customer)."""
    if not tasks:
        return
    stamped = [dataclasses.replace(t, updated_at=p.now) for t in tasks]
    await tx.routing.put_tasks(stamped)
    moves = []
    for task in stamped:
        p.tasks[task.conversation_id] = task
        conv = p.convs.get(task.conversation_id)
        if conv is None:
            await file_in_queue(tx, p, task)
        elif conv.queue_id != task.queue_id:
            moves.append((conv, task))
    await tx.routing.set_queues([(conv.id, task.queue_id) for conv, task in moves])
    for conv, task in moves:
        _moved(p, conv, task)


async def file_in_queue(tx: RoutingTx, p: Pass, task: RoutingTask) -> None:
    """Keep ``Conversation.queue_id`` (what the visibility rule reads) on the task's queue,
    and tell the consoles (``ConversationChanged``, reason ``queue``): a members-only queue
    hides its waiting conversations from the other operators, so a move between queues
    may show or hide the conversation. Reads nothing when the pass already knows it."""
    conv = p.convs.get(task.conversation_id)
    if conv is None:
        conv = await tx.conversations.get(task.conversation_id)
    if conv is None or conv.queue_id == task.queue_id:
        return
    await tx.conversations.set_queue(conv.id, task.queue_id)
    _moved(p, conv, task)


def _moved(p: Pass, conv: Conversation, task: RoutingTask) -> None:
    """The pass learns that ``conv`` now sits in the task's queue, and the consoles too."""
    moved = dataclasses.replace(conv, queue_id=task.queue_id)
    if conv.id in p.convs:
        p.convs[conv.id] = moved
    p.events.append(
        ConversationChanged(
            moved, "queue", conv.assignee_id, conv.status, previous_queue_id=conv.queue_id
        )
    )


async def record_decision(
    tx: RoutingTx, p: Pass, task: RoutingTask, outcome: str, why: Mapping[str, Any]
) -> None:
    """Log one decision about the task, with its explanation."""
    await tx.routing.add_decision(
        DecisionRecord(
            # Sorts in the order of writing among decisions made at the same instant.
            id=f"{next(_DECISION_SEQ):012d}{new_id()[:20]}",
            conversation_id=task.conversation_id,
            queue_id=task.queue_id,
            decided_at=p.now,
            outcome=outcome,
            explanation=dict(why),
        )
    )


async def finish_task(
    tx: RoutingTx, p: Pass, task: RoutingTask, *, at: datetime | None = None
) -> None:
    """End the task's episode (resolved at ``at``, by default now): settle ``sla_met``,
    fold the handling time into the queue's running average, and note it in ``p.done``."""
    end = at or p.now
    met: bool | None = None
    if task.first_response_due is not None or task.resolution_due is not None:
        first_ok = task.first_response_due is None or (
            task.first_response_at is not None and task.first_response_at <= task.first_response_due
        )
        resolution_ok = task.resolution_due is None or end <= task.resolution_due
        met = first_ok and resolution_ok
    if task.assigned_at is not None:
        record = p.records.get(task.queue_id)
        if record is not None:
            handled = max(0.0, (end - task.assigned_at).total_seconds())
            state = dict(record.state)
            old = float(state.get("handle_seconds", DEFAULT_HANDLE_SECONDS))
            state["handle_seconds"] = round(old + HANDLE_EWMA * (handled - old), 3)
            p.records[task.queue_id] = dataclasses.replace(record, state=state)
            p.changed_queues.add(task.queue_id)
    done = await put_task(
        tx,
        p,
        dataclasses.replace(task, status=TaskStatus.DONE, sla_met=met, resolved_at=end),
    )
    p.done[task.conversation_id] = done
