"""Response and SLA clocks: who is waiting for an answer, the response timer, the SLA
warnings and breaches, and the alerts they raise.

Every clock is a time stored in the task (``awaiting_reply_since``, ``first_response_due``,
``resolution_due``) and each alert is stamped in the task once raised, so a restart or a
second process never raises it twice. An alert goes to the console (``RoutingAlert``) and,
for breaches and overdue responses, to the queue's supervisor chat through the
:data:`~routing.context.AlertNotifier` after the commit.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from inbox.domain.conversations import Conversation
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.messages import AuthorKind, Direction
from routing.context import Pass, RoutingContext, SupervisorAlert
from routing.events import RoutingAlert
from routing.moves import requeue_task
from routing.ports import RoutingTx
from routing.queues import QueueSettings
from routing.records import AlertKind, RoutingTask, TaskStatus
from routing.tasks import put_task

__all__ = ["notify_supervisors", "run_timers", "track_replies"]

logger = logging.getLogger(__name__)


async def track_replies(tx: RoutingTx, p: Pass, touched: Iterable[ConversationId]) -> None:
    """For conversations with new messages: when the customer started waiting for an
    answer (``None`` once answered), and the first operator response. Read from the
    stored messages, so replaying an event or running this in two processes agrees."""
    for cid in touched:
        task = p.tasks.get(cid)
        if task is None:
            continue
        messages = await tx.messages.list_last(cid, limit=50, include_notes=False)
        waiting_since: datetime | None = None
        first_response = task.first_response_at
        for m in messages:
            if m.author_kind is AuthorKind.CUSTOMER:
                if waiting_since is None:
                    waiting_since = m.created_at
            elif m.author_kind is AuthorKind.OPERATOR and m.direction is Direction.OUTBOUND:
                waiting_since = None
                if first_response is None and m.created_at >= task.started_at:
                    first_response = m.created_at
        if waiting_since != task.awaiting_reply_since or first_response != task.first_response_at:
            alerted = (
                task.response_alerted_at if waiting_since == task.awaiting_reply_since else None
            )
            await put_task(
                tx,
                p,
                dataclasses.replace(
                    task,
                    awaiting_reply_since=waiting_since,
                    first_response_at=first_response,
                    response_alerted_at=alerted,
                ),
            )


async def run_timers(ctx: RoutingContext, tx: RoutingTx, p: Pass) -> None:
    """The response timer (an alert, and a re-offer when the queue says so), then the
    SLA's first-response warning and breach and its resolution breach."""
    for cid, task in list(p.tasks.items()):
        queue = p.queues.get(task.queue_id)
        conv = p.convs.get(cid)
        if queue is None or conv is None:
            continue
        # The response timer: the assignee has not answered the customer in time.
        if (
            task.status is TaskStatus.ASSIGNED
            and queue.response_timeout is not None
            and task.awaiting_reply_since is not None
            and task.response_alerted_at is None
        ):
            since = max(task.awaiting_reply_since, task.assigned_at or task.awaiting_reply_since)
            due = since + timedelta(seconds=queue.response_timeout)
            if due > p.now:
                p.wake_at(due)
            else:
                _alert(p, queue, conv, "response_overdue", "response", due, task.assignee_id)
                task = await put_task(tx, p, dataclasses.replace(task, response_alerted_at=p.now))
                if queue.response_action == "reoffer":
                    why = {
                        "operator": task.assignee_id,
                        "reason": f"no answer within {queue.response_timeout:g}s",
                    }
                    await requeue_task(ctx, tx, p, task, "response_timeout", why, refuse=True)
                    task = p.tasks.get(cid, task)
        # SLA: first response.
        if task.first_response_at is None and task.first_response_due is not None:
            due = task.first_response_due
            warn_at = _warn_at(p, queue, task, due)
            if (
                task.sla_warned_at is None
                and task.status is TaskStatus.ASSIGNED
                and p.now >= warn_at
                and p.now < due
            ):
                _alert(p, queue, conv, "sla_warning", "first_response", due, task.assignee_id)
                task = await put_task(tx, p, dataclasses.replace(task, sla_warned_at=p.now))
            elif task.sla_warned_at is None and p.now < warn_at:
                p.wake_at(warn_at)
            if task.first_response_breached_at is None:
                if p.now >= due:
                    _alert(p, queue, conv, "sla_breach", "first_response", due, task.assignee_id)
                    task = await put_task(
                        tx, p, dataclasses.replace(task, first_response_breached_at=p.now)
                    )
                else:
                    p.wake_at(due)
        # SLA: resolution.
        if task.resolution_due is not None and task.resolution_breached_at is None:
            if p.now >= task.resolution_due:
                _alert(
                    p,
                    queue,
                    conv,
                    "sla_breach",
                    "resolution",
                    task.resolution_due,
                    task.assignee_id,
                )
                await put_task(tx, p, dataclasses.replace(task, resolution_breached_at=p.now))
            else:
                p.wake_at(task.resolution_due)


def _warn_at(p: Pass, queue: QueueSettings, task: RoutingTask, due: datetime) -> datetime:
    """When to warn of the first-response due time: ``sla_warning_before`` seconds before
    it; of business time when the due time is (the queue's target, counted in its open
    time from the start, gives it), else of the wall clock."""
    before = queue.sla_warning_before
    wall = due - timedelta(seconds=before)
    if p.hours is None or not queue.sla_business_hours:
        return wall
    target = queue.config.sla_for(task.priority)
    seconds = target.first_response_seconds if target else None
    if seconds is None or p.due(task.queue_id, task.started_at, seconds) != due:
        return wall  # due under other settings (changed since, or another queue's)
    if seconds <= before:
        return task.started_at
    return p.due(task.queue_id, task.started_at, seconds - before) or wall


def _alert(
    p: Pass,
    queue: QueueSettings,
    conv: Conversation,
    kind: AlertKind,
    target: str,
    due: datetime,
    operator_id: OperatorId | None,
) -> None:
    p.events.append(RoutingAlert(kind, conv, queue.id, queue.name, target, due, p.now, operator_id))
    if kind != "sla_warning" and queue.alert_telegram is not None:
        what = {
            "sla_breach": f"SLA breached ({target.replace('_', ' ')})",
            "response_overdue": "no answer from the operator in time",
        }[kind]
        who = conv.contact_name or "a customer"
        p.alerts.append(
            (
                queue.alert_telegram,
                f"[{queue.name}] {what}: conversation with {who} ({conv.id})",
            )
        )


async def notify_supervisors(ctx: RoutingContext, alerts: Sequence[SupervisorAlert]) -> None:
    """Send the pass's supervisor alerts (after its commit); a failure is logged and the
    rest still go."""
    if ctx.notifier is None:
        return
    for target, text in alerts:
        try:
            await ctx.notifier(target, text)
        except Exception as exc:
            # Only the kind: a client library's message may carry the bot's URL (token).
            logger.warning("a supervisor alert could not be sent (%s)", type(exc).__name__)
