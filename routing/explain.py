"""Why routing did what it did with a conversation: its task, pending offers, every
logged decision with its reasons, and, for a waiting one, what a pass would decide now
with every candidate, or that its closed queue opens at a time (supervisors and admins
only)."""

from __future__ import annotations

import dataclasses

from inbox.domain.errors import Forbidden, NotFound
from inbox.domain.ids import ConversationId
from inbox.domain.operators import Operator
from routing.context import RoutingContext
from routing.policy import decide, to_json
from routing.ports import RoutingTx
from routing.records import TaskStatus
from routing.snapshot import operator_states, queue_config, take_snapshot, task_state
from routing.views import task_view

__all__ = ["explain"]


async def explain(
    ctx: RoutingContext, actor: Operator, conversation_id: ConversationId
) -> dict[str, object]:
    """The conversation's routing state as JSON. A read; no routing lock. Raises
    ``Forbidden`` for plain operators and ``NotFound`` for an unknown conversation."""
    if not actor.role.sees_everything:
        raise Forbidden("routing decisions are for supervisors")

    async def work(tx: RoutingTx) -> dict[str, object]:
        conv = await tx.conversations.get(conversation_id)
        if conv is None:
            raise NotFound("no such conversation")
        task = await tx.routing.get_task(conversation_id)
        decisions = await tx.routing.list_decisions(conversation_id)
        offers = await tx.routing.list_offers(conversation_id=conversation_id)
        now = ctx.now()
        current: object = None
        if task is not None and task.status is TaskStatus.WAITING:
            p = await take_snapshot(ctx, tx, write=False)
            queue = p.queues.get(task.queue_id)
            if queue is not None and not p.is_open(task.queue_id):
                opens = p.next_open(task.queue_id)
                current = {
                    "outcome": "wait",
                    "reason": "queue_closed",
                    "queue_id": task.queue_id,
                    "opens_at": opens.isoformat() if opens is not None else None,
                    "off_hours_overflow": queue.off_hours_overflow,
                }
            elif queue is not None:
                config = queue_config(p, queue)
                if task.extra_skills:
                    config = dataclasses.replace(
                        config, required_skills={**config.required_skills, **task.extra_skills}
                    )
                states = operator_states(p, p.records.get(task.queue_id))
                ds = decide(
                    config,
                    [task_state(p, task)],
                    list(states.values()),
                    now,
                    weights=ctx.weights,
                )
                current = to_json(ds[0].explanation)  # live: every candidate
        return {
            "conversation_id": conversation_id,
            "task": task_view(task) if task else None,
            "offers": [
                {"operator_id": o.operator_id, "expires_at": o.expires_at.isoformat()}
                for o in offers
            ],
            "decisions": [
                {
                    "id": d.id,
                    "decided_at": d.decided_at.isoformat(),
                    "queue_id": d.queue_id,
                    "outcome": d.outcome,
                    "explanation": dict(d.explanation),
                }
                for d in decisions
            ],
            "now": current,
        }

    return await ctx.read(work)
