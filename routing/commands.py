"""Console commands on one conversation: accept or decline an offer, pick from a queue,
transfer to an operator or a queue.

Each runs in :func:`run_command`: one transaction under the routing lock, with a fresh,
reconciled snapshot, so it sees what a pass sees and never races one. They check the
actor's role and raise :class:`~inbox.domain.errors.Forbidden`, ``NotFound``, ``Conflict``
or ``InvalidInput`` (nothing is written then). The caller runs a pass soon after.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from inbox.domain.events import ConversationChanged
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.operators import Operator, Presence, validate_skills
from inbox.usecases import Outcome, write_note
from inbox.usecases.access import require_act
from routing.context import Pass, RoutingContext
from routing.moves import assign_task
from routing.offers import offer_event, withdraw_offers
from routing.ports import RoutingTx
from routing.reconcile import reconcile
from routing.records import QueueId, TaskStatus
from routing.snapshot import queue_config, save_queue_state, take_snapshot
from routing.tasks import new_task, put_task, record_decision

__all__ = ["accept_offer", "decline_offer", "pick", "run_command", "transfer"]

T = TypeVar("T")


async def run_command(ctx: RoutingContext, work: Callable[[RoutingTx, Pass], Awaitable[T]]) -> T:
    """Run a console command under the routing lock with a fresh snapshot; its events
    are published after the commit."""

    async def unit(tx: RoutingTx) -> Outcome[T]:
        await tx.routing.lock()
        p = await take_snapshot(ctx, tx)
        await reconcile(tx, p)
        value = await work(tx, p)
        await save_queue_state(tx, p)
        return Outcome(value, p.events)

    return await ctx.run(unit)


async def accept_offer(
    ctx: RoutingContext, actor: Operator, conversation_id: ConversationId
) -> Conversation:
    """The offered operator takes the conversation (even if no longer online)."""

    async def work(tx: RoutingTx, p: Pass) -> Conversation:
        offer = next(
            (o for o in p.offers.get(conversation_id, []) if o.operator_id == actor.id), None
        )
        if offer is None or offer.expires_at <= p.now:
            raise Conflict("this offer is no longer open")
        task = p.tasks.get(conversation_id)
        if task is None:
            raise Conflict("this conversation is no longer waiting")
        p.events.append(offer_event(p, p.convs[conversation_id], offer, "accepted"))
        why = {
            "operator": actor.id,
            "offered_at": offer.offered_at.isoformat(),
            "reason": "the operator accepted the offer",
        }
        if not await assign_task(ctx, tx, p, task, actor.id, "accept", why, require_online=False):
            raise Conflict("this conversation is no longer waiting")
        return p.convs[conversation_id]

    return await run_command(ctx, work)


async def decline_offer(
    ctx: RoutingContext, actor: Operator, conversation_id: ConversationId
) -> None:
    """The offered operator refuses; the conversation is offered to someone else."""

    async def work(tx: RoutingTx, p: Pass) -> None:
        offers = p.offers.get(conversation_id, [])
        offer = next((o for o in offers if o.operator_id == actor.id), None)
        if offer is None:
            raise Conflict("this offer is no longer open")
        await tx.routing.delete_offers(conversation_id, actor.id)
        offers.remove(offer)
        task = p.tasks.get(conversation_id)
        conv = p.convs.get(conversation_id)
        if conv is not None:
            p.events.append(offer_event(p, conv, offer, "declined"))
        if task is not None:
            task = await put_task(
                tx, p, dataclasses.replace(task, declined_by=task.declined_by | {actor.id})
            )
            await record_decision(
                tx,
                p,
                task,
                "decline",
                {"operator": actor.id, "reason": "the operator declined"},
            )

    await run_command(ctx, work)


async def pick(
    ctx: RoutingContext, actor: Operator, conversation_id: ConversationId
) -> Conversation:
    """A member takes a queued conversation by hand (where the queue allows it; always
    for supervisors), within their free capacity."""
    if actor.disabled:
        raise Forbidden("your account is disabled")

    async def work(tx: RoutingTx, p: Pass) -> Conversation:
        conv = p.convs.get(conversation_id)
        task = p.tasks.get(conversation_id)
        if conv is None or task is None or conv.status is not ConversationStatus.QUEUED:
            if await tx.conversations.get(conversation_id) is None:
                raise NotFound("no such conversation")
            raise Conflict("the conversation is not waiting in a queue")
        queue = p.queues[task.queue_id]
        supervisor = actor.role.sees_everything
        if not supervisor:
            if not queue.allow_pick:
                raise Forbidden(f"the queue {queue.name} does not allow picking by hand")
            if actor.id not in queue_config(p, queue).members:
                raise Forbidden(f"you are not a member of the queue {queue.name}")
        own_offer = any(o.operator_id == actor.id for o in p.offers.get(conversation_id, []))
        weight = ctx.weight(conv.channel_kind)
        load = p.loads.get(actor.id, 0.0) - (weight if own_offer else 0.0)
        operator = p.operators.get(actor.id)
        if operator is None or load + weight > operator.capacity + 1e-9:
            raise Conflict("you have no free capacity")
        why = {"operator": actor.id, "by": actor.id, "reason": "picked from the queue by hand"}
        if not await assign_task(ctx, tx, p, task, actor.id, "pick", why, require_online=False):
            raise Conflict("the conversation is not waiting in a queue")
        return p.convs[conversation_id]

    return await run_command(ctx, work)


async def transfer(
    ctx: RoutingContext,
    actor: Operator,
    conversation_id: ConversationId,
    *,
    operator_id: OperatorId | None = None,
    queue: str | None = None,
    skills: Mapping[str, int] | None = None,
    note: str = "",
) -> Conversation:
    """To an operator, or back to a queue (``queue`` by id or name; the current one when
    only ``skills`` are given), optionally narrowed to operators with ``skills``. Leaves
    a note saying who moved it where (and ``note``)."""
    if operator_id is None and queue is None and not skills:
        raise InvalidInput("say where to: an operator, a queue or skills")
    if operator_id is not None and (queue is not None or skills):
        raise InvalidInput("transfer to an operator or to a queue, not both")
    if skills:
        skills = validate_skills(skills)

    async def work(tx: RoutingTx, p: Pass) -> Conversation:
        conv = await tx.conversations.get_for_update(conversation_id)
        if conv is None:
            raise NotFound("no such conversation")
        if conv.status is ConversationStatus.ASSIGNED:
            require_act(actor, conv)
        if conv.status is ConversationStatus.QUEUED and not actor.role.sees_everything:
            raise Forbidden("only supervisors move conversations that wait in a queue")
        if not conv.status.is_open or conv.status is ConversationStatus.BOT:
            raise Conflict(f"a {conv.status} conversation cannot be transferred")
        task = p.tasks.get(conversation_id)
        if task is None:
            task = await new_task(tx, p, conv, await tx.routing.get_task(conv.id))
        by = f"{actor.display_name}"
        if operator_id is not None:
            target = await tx.operators.get_for_update(operator_id)
            if target is None:
                raise NotFound("no such operator")
            if target.disabled:
                raise Conflict("that operator is disabled")
            if target.id == conv.assignee_id:
                raise Conflict("the conversation is already theirs")
            if target.presence is not Presence.ONLINE and not actor.role.sees_everything:
                raise Conflict(f"{target.display_name} is not online")
            weight = ctx.weight(conv.channel_kind)
            if p.loads.get(target.id, 0.0) + weight > target.capacity + 1e-9:
                raise Conflict(f"{target.display_name} has no free capacity")
            moved = conv.moved_to(ConversationStatus.ASSIGNED, p.now, target.id)
            text = f"Transferred to {target.display_name} by {by}"
        else:
            qid = task.queue_id
            if queue is not None:
                found = p.queues.get(QueueId(queue)) or next(
                    (q for q in p.queues.values() if q.name == queue), None
                )
                if found is None:
                    raise NotFound(f"no queue {queue!r}")
                qid = found.id
            moved = (
                conv.moved_to(ConversationStatus.QUEUED, p.now)
                if conv.status is ConversationStatus.ASSIGNED
                else dataclasses.replace(conv, updated_at=p.now)
            )
            what = p.queues[qid].name + (
                " (" + ", ".join(f"{k}>={v}" for k, v in sorted((skills or {}).items())) + ")"
                if skills
                else ""
            )
            text = f"Transferred to the queue {what} by {by}"
        if note.strip():
            text += f": {note.strip()}"
        moved, note_events = await write_note(tx, moved, actor, text, p.now)
        await tx.conversations.update(moved)
        p.convs[conv.id] = moved
        await withdraw_offers(tx, p, moved, "transferred")
        if conv.status is ConversationStatus.ASSIGNED and conv.assignee_id is not None:
            p.loads[conv.assignee_id] -= ctx.weight(conv.channel_kind)
        why: dict[str, Any] = {"by": actor.id, "from": conv.assignee_id, "note": note.strip()}
        if operator_id is not None:
            p.loads[operator_id] += ctx.weight(conv.channel_kind)
            task = dataclasses.replace(
                task,
                status=TaskStatus.ASSIGNED,
                assignee_id=operator_id,
                assigned_at=p.now,
                last_operator_id=conv.assignee_id or task.last_operator_id,
                response_alerted_at=None,
            )
            why["to"] = operator_id
        else:
            task = dataclasses.replace(
                task,
                status=TaskStatus.WAITING,
                queue_id=qid,
                entered_queue_at=p.now,
                declined_by=frozenset(),
                extra_skills=dict(skills or {}),
                last_operator_id=conv.assignee_id or task.last_operator_id,
                assignee_id=None,
                assigned_at=None,
            )
            why["to_queue"] = qid
            why["skills"] = dict(skills or {})
        task = await put_task(tx, p, task)
        moved = p.convs.get(conv.id, moved)  # in its new queue (put_task files it there)
        await record_decision(tx, p, task, "transfer", why)
        p.events.append(
            ConversationChanged(
                moved,
                "assigned" if operator_id is not None else "unassigned",
                conv.assignee_id,
                conv.status,
            )
        )
        p.events.extend(note_events)
        return moved

    return await run_command(ctx, work)
