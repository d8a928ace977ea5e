"""Presence in a pass: consoles that went quiet, and customers left waiting by operators
who went away.

Every process's consoles heartbeat into the database (``last_seen_at``), so any process's
pass can tell that an ``online`` operator's console stopped: after
``RoutingSettings.presence_stale_seconds`` the operator turns ``away``. An operator who
is not online no longer answers: their conversations whose customer is waiting for an
answer go back to the queue (not counted as a refusal).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from inbox.domain.events import OperatorPresenceChanged
from inbox.domain.operators import Operator, Presence
from routing.context import Pass, RoutingContext
from routing.moves import requeue_task
from routing.ports import RoutingTx
from routing.records import TaskStatus

__all__ = ["run_presence"]


async def run_presence(ctx: RoutingContext, tx: RoutingTx, p: Pass) -> None:
    """Turn stale consoles ``away`` (re-checked under the operator's row lock), then
    requeue the unanswered conversations of operators who left after getting them."""
    stale = ctx.settings.presence_stale_seconds
    if stale is not None:
        for op in list(p.operators.values()):
            if op.presence is not Presence.ONLINE:
                continue
            deadline = _stale_after(op, stale)
            if deadline > p.now:
                p.wake_at(deadline)
                continue
            locked = await tx.operators.get_for_update(op.id)
            if locked is None or locked.presence is not Presence.ONLINE:
                if locked is not None:
                    p.operators[op.id] = locked
                continue
            # The pass may start from a picture kept since an earlier pass (routing.kept),
            # and heartbeats publish no event: the row decides.
            fresh = _stale_after(locked, stale)
            if fresh > p.now:
                p.operators[op.id] = locked
                p.wake_at(fresh)
                continue
            away = dataclasses.replace(locked, presence=Presence.AWAY, presence_changed_at=p.now)
            await tx.operators.update(away)
            p.operators[op.id] = away
            p.events.append(OperatorPresenceChanged(op.id, Presence.AWAY, p.now))
    # Unanswered conversations of operators who are not online go back to the queue.
    for task in list(p.tasks.values()):
        if task.status is not TaskStatus.ASSIGNED or task.awaiting_reply_since is None:
            continue
        holder = p.operators.get(task.assignee_id) if task.assignee_id else None
        if holder is None or (holder.presence is Presence.ONLINE and not holder.disabled):
            continue
        # Only an operator who left after getting it: a conversation claimed while
        # away (an operator working offline on purpose) stays theirs.
        left = holder.presence_changed_at
        if not holder.disabled and (
            left is None or task.assigned_at is None or left < task.assigned_at
        ):
            continue
        why = {
            "operator": task.assignee_id,
            "reason": "the operator is not online and the customer is waiting for an answer",
        }
        await requeue_task(ctx, tx, p, task, "requeue", why, refuse=False)


def _stale_after(op: Operator, stale: float) -> datetime:
    """When an online operator with no newer heartbeat turns away."""
    seen = max(
        (t for t in (op.last_seen_at, op.presence_changed_at) if t is not None),
        default=op.created_at,
    )
    return seen + timedelta(seconds=stale)
