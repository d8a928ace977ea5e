"""Reconciling routing tasks with the conversations' statuses.

The conversation table is the source of truth for status; other use cases change it
without the routing lock (an inbound message queues a conversation, an operator claims
or resolves one, a customer reopens one). Every unit of work under the routing lock first
brings the tasks in line: a new episode for a conversation that entered the queue, a task
back to waiting or to its assignee, the end of the episode of a conversation that left.
"""

from __future__ import annotations

import dataclasses

from inbox.domain.conversations import Conversation, ConversationStatus
from routing.context import Pass
from routing.offers import withdraw_offers
from routing.ports import RoutingTx
from routing.records import RoutingTask, TaskStatus
from routing.tasks import finish_task, new_task, put_new_tasks, put_task

__all__ = ["reconcile"]


async def reconcile(tx: RoutingTx, p: Pass) -> None:
    """Bring tasks in line with the conversations' statuses. New waiting tasks are filed
    oldest first within the pass's budget (:meth:`Pass.spend`); the rest wait for the
    next pass (``p.more``)."""
    unfiled: list[tuple[Conversation, RoutingTask | None]] = []
    for conv in list(p.convs.values()):
        task = p.tasks.get(conv.id)
        previous: RoutingTask | None = None
        if (
            task is not None
            and conv.queued_at is not None
            and (conv.queued_at > task.entered_queue_at)
        ):
            # Queued again after the task last entered its queue, and not by routing
            # (routing moves both together): resolved and reopened between two passes.
            # That episode is over; this is a new one.
            await withdraw_offers(tx, p, conv, "resolved")
            await finish_task(tx, p, task, at=conv.queued_at)
            previous, task = p.done.get(conv.id), None
        if conv.status is ConversationStatus.QUEUED:
            if task is None:
                unfiled.append((conv, previous))
            elif task.status is TaskStatus.ASSIGNED:
                # Back to the queue (returned by hand, or from an operator who left):
                # the escalation starts again; the SLA clock does not.
                await put_task(
                    tx,
                    p,
                    dataclasses.replace(
                        task,
                        status=TaskStatus.WAITING,
                        entered_queue_at=p.now,
                        last_operator_id=task.assignee_id or task.last_operator_id,
                        assignee_id=None,
                        assigned_at=None,
                    ),
                )
        elif conv.status is ConversationStatus.ASSIGNED:
            if task is None:
                if previous is None:
                    previous = await tx.routing.get_task(conv.id)
                task = await new_task(tx, p, conv, previous)
            if task.status is not TaskStatus.ASSIGNED or task.assignee_id != conv.assignee_id:
                await withdraw_offers(tx, p, conv, "taken")
                await put_task(
                    tx,
                    p,
                    dataclasses.replace(
                        task,
                        status=TaskStatus.ASSIGNED,
                        assignee_id=conv.assignee_id,
                        assigned_at=p.now,
                        response_alerted_at=None,
                    ),
                )
    if unfiled:
        await _file(tx, p, unfiled)
    for cid, task in list(p.tasks.items()):
        if cid in p.convs:
            continue
        # Resolved (or handed to the bot) since: the episode ends.
        if cid in p.offers:
            gone = await tx.conversations.get(cid)
            await withdraw_offers(tx, p, gone, "resolved", conversation_id=cid)
        await finish_task(tx, p, task)


async def _file(
    tx: RoutingTx, p: Pass, unfiled: list[tuple[Conversation, RoutingTask | None]]
) -> None:
    """New waiting tasks for queued conversations without one: the longest waiting first,
    as many as the budget allows, their earlier episodes read and the tasks written in a
    few statements for all of them."""
    unfiled.sort(key=lambda item: (item[0].queued_at or item[0].created_at, item[0].id))
    chosen = []
    for item in unfiled:
        if not p.spend():
            break
        chosen.append(item)
    unknown = [conv.id for conv, previous in chosen if previous is None]
    earlier = await tx.routing.get_tasks(unknown) if unknown else {}
    tasks = [
        await new_task(tx, p, conv, previous or earlier.get(conv.id)) for conv, previous in chosen
    ]
    await put_new_tasks(tx, p, tasks)
