"""One routing pass: snapshot, reconcile, timers, decide and apply, in one transaction
under the routing lock.

The steps, in order (each sees what the earlier ones changed, through the pass):

1. reconcile tasks with the conversations (``routing.reconcile``) and note replies
   (``routing.sla.track_replies``);
2. expire offers and withdraw offers of operators no longer online (``routing.offers``);
3. turn stale consoles away and requeue unanswered conversations (``routing.presence``);
4. the response timer and the SLA (``routing.sla``);
5. :func:`routing.policy.decide_until_full` per open queue, applied here: assignments, offers,
   overflows, each with its explanation; a closed queue's tasks wait for its opening or
   overflow to its open ``off_hours_overflow`` queue;
6. queue positions for waiting customers (``routing.positions``);
7. the queues' changed state (round-robin turns, handling time).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Set
from datetime import datetime

from inbox.domain.channels import ChannelKind
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.operators import Presence
from inbox.usecases import Outcome
from routing.context import Pass, RoutingContext, SupervisorAlert
from routing.kept import KeptState, StateKeeper
from routing.moves import assign_task
from routing.offers import expire_offers, make_offers, withdraw_offers
from routing.policy import (
    Assign,
    Offer,
    OperatorState,
    Overflow,
    QueueConfig,
    TaskState,
    decide_until_full,
    next_step_at,
    service_order,
)
from routing.policy.model import OverflowQueue, weight_of
from routing.ports import RoutingTx
from routing.positions import send_positions
from routing.presence import run_presence
from routing.queues import QueueSettings
from routing.reconcile import reconcile
from routing.records import QueueId, RoutingTask, TaskStatus
from routing.sla import run_timers, track_replies
from routing.snapshot import (
    kept_state,
    nothing_to_do,
    operator_states,
    queue_config,
    resume_snapshot,
    save_queue_state,
    take_snapshot,
    task_state,
)
from routing.tasks import put_task, record_decision
from routing.views import stored_explanation

__all__ = ["PassResult", "run_pass"]

logger = logging.getLogger(__name__)

#: What a committed pass leaves to do: the earliest deadline it saw (when to wake), the
#: supervisor alerts to send, and whether work was left for the next pass (its budget).
PassResult = tuple[datetime | None, list[SupervisorAlert], bool]


async def run_pass(
    ctx: RoutingContext, touched: Set[ConversationId], keeper: StateKeeper | None = None
) -> PassResult:
    """Run one pass (``touched``: conversations with new messages since the last one) and
    publish its events after the commit. Raises what the transaction raises.

    With a ``keeper`` the pass starts from the picture the last one left when it may
    (:mod:`routing.kept`: nobody else wrote routing rows since, and it is not too old),
    reading only what the keeper's marks name, and leaves its own picture there."""
    alerts: list[SupervisorAlert] = []
    marks = keeper.take_marks() if keeper is not None else None
    ended: list[tuple[Pass, int, float, bool]] = []
    idle: list[tuple[KeptState, int]] = []

    async def work(tx: RoutingTx) -> Outcome[datetime | None]:
        ended.clear()
        idle.clear()
        version = await tx.routing.lock()
        kept = keeper.usable(version) if keeper is not None else None
        if kept is not None and not marks and not touched and nothing_to_do(ctx, kept):
            idle.append((kept, version))
            return Outcome(kept.wake, [])
        if kept is not None and marks is not None:
            p = await resume_snapshot(ctx, tx, kept, marks)
            read_at, whole = kept.read_at, False
        else:
            read_at, whole = (keeper.now() if keeper is not None else 0.0), True
            p = await take_snapshot(ctx, tx)
        p.budget = ctx.settings.pass_budget
        ended[:] = [(p, version, read_at, whole)]
        await reconcile(tx, p)
        await track_replies(tx, p, touched)
        await expire_offers(tx, p)
        await run_presence(ctx, tx, p)
        await run_timers(ctx, tx, p)
        await _route(ctx, tx, p)
        await send_positions(tx, p)
        await save_queue_state(tx, p)
        alerts[:] = p.alerts
        return Outcome(p.wake, p.events)

    try:
        wake = await ctx.run(work)
    except BaseException:
        if keeper is not None:
            keeper.drop()
        raise
    if keeper is not None and idle:
        kept, version = idle[0]
        keeper.idle_passes += 1
        keeper.keep(dataclasses.replace(kept, version=version))
    if keeper is not None and ended:
        p, version, read_at, whole = ended[0]
        if whole:
            keeper.full_reads += 1
        else:
            keeper.kept_passes += 1
        keeper.keep(kept_state(p, version, read_at))
    more = bool(ended) and ended[0][0].more
    return wake, alerts, more


async def _route(ctx: RoutingContext, tx: RoutingTx, p: Pass) -> None:
    """Run the policy per queue; an overflow moves a task to a queue that may already
    have had its turn, so repeat (a bounded number of rounds) while tasks moved."""
    for _round in range(4):
        moved = False
        for qid in sorted(p.queues, key=lambda q: p.queues[q].name):
            moved |= await _route_queue(ctx, tx, p, qid)
        if not moved:
            break


async def _route_queue(ctx: RoutingContext, tx: RoutingTx, p: Pass, qid: QueueId) -> bool:
    queue = p.queues[qid]
    base = queue_config(p, queue)
    waiting = [t for t in p.tasks.values() if t.status is TaskStatus.WAITING and t.queue_id == qid]
    if not waiting:
        return False
    if not p.is_open(qid):
        return await _off_hours(tx, p, queue, waiting)
    if _nobody_has_room(ctx, base, operator_states(p, p.records.get(qid)), waiting):
        # The policy could only answer "wait" for each of them: what the pass needs of it
        # is when each one's next escalation step starts.
        for t in waiting:
            p.wake_at(next_step_at(base, task_state(p, t), p.now))
        return False
    # Tasks transferred to extra skills need other operators than the rest, so the
    # policy runs once per run of consecutive tasks with the same skills, in the
    # queue's service order: a transferred task keeps its place (the states carry
    # every earlier decision of the pass, through ``p``).
    # The states stay right for every run: a run's decisions (offers, assignments,
    # overflows) change only its own tasks' offers.
    ordered = service_order(task_state(p, t) for t in waiting)
    runs: list[tuple[tuple[tuple[str, int], ...], list[TaskState]]] = []
    for ts in ordered:
        extra = tuple(sorted(p.tasks[ts.conversation_id].extra_skills.items()))
        if runs and runs[-1][0] == extra:
            runs[-1][1].append(ts)
        else:
            runs.append((extra, [ts]))
    moved = False
    # Assignments and offers of this queue in this pass (RoutingSettings.pass_budget).
    left = ctx.settings.pass_budget
    for extra, tasks in runs:
        if left is not None and left <= 0:
            p.more = True
            break
        config = base
        if extra:
            required = dict(base.required_skills)
            for name, level in extra:
                required[name] = max(level, required.get(name, 0))
            config = dataclasses.replace(base, required_skills=required)
        states = operator_states(p, p.records.get(qid))
        decisions, undecided = decide_until_full(
            config, tasks, list(states.values()), p.now, weights=ctx.weights
        )
        for ts in undecided:  # they would only wait (see decide_until_full)
            p.wake_at(next_step_at(config, ts, p.now))
        for d in decisions:
            task = p.tasks[d.task.conversation_id]
            if isinstance(d, Assign | Offer) and left is not None:
                # Later decisions only assumed the earlier ones: a prefix is consistent.
                if left <= 0:
                    p.more = True
                    break
                left -= 1
            match d:
                case Assign():
                    ok = await assign_task(
                        ctx, tx, p, task, d.operator.id, "assign", stored_explanation(d.explanation)
                    )
                    if ok and config.strategy.value == "round_robin":
                        _set_turn(p, qid, d.operator)
                case Offer():
                    await make_offers(ctx, tx, p, task, d)
                    if config.strategy.value == "round_robin":
                        _set_turn(p, qid, d.operators[0])
                case Overflow():
                    moved |= await _overflow(tx, p, task, d)
                case _:
                    p.wake_at(next_step_at(config, d.task, p.now))
    return moved


def _nobody_has_room(
    ctx: RoutingContext,
    config: QueueConfig,
    states: Mapping[OperatorId, OperatorState],
    waiting: list[RoutingTask],
) -> bool:
    """Whether no decision about ``waiting`` can be anything but "wait": the queue never
    overflows, and no member who is online has room for even the lightest of them (the
    policy's own eligibility only narrows that further: skills, refusals, steps). Then
    the policy is not run: with 1,000 customers waiting for a full team it cost ~20 ms a
    pass, for the same answer."""
    if any(isinstance(step.target, OverflowQueue) for step in config.escalation):
        return False
    lightest = min(weight_of(ChannelKind(t.channel_kind), ctx.weights) for t in waiting)
    return not any(
        (st := states.get(member)) is not None
        and st.presence is Presence.ONLINE
        and st.has_room_for(lightest)
        for member in config.members
    )


def _set_turn(p: Pass, qid: QueueId, op: OperatorState) -> None:
    record = p.records.get(qid)
    if record is None:
        return
    state = dict(record.state)
    turns = dict(state.get("rr") or {})
    turns[op.id] = op.rr_turn
    state["rr"] = turns
    p.records[qid] = dataclasses.replace(record, state=state)
    p.changed_queues.add(qid)


async def _off_hours(
    tx: RoutingTx, p: Pass, queue: QueueSettings, waiting: list[RoutingTask]
) -> bool:
    """The queue is closed: its waiting tasks are neither offered nor assigned. They move
    to its ``off_hours_overflow`` queue when that one is open now, else they keep waiting
    (and their places); the pass wakes at the earlier opening of the two. Pending offers
    run out as usual (a task with one moves after it ran out)."""
    opens = p.next_open(queue.id)
    p.wake_at(opens)
    if queue.off_hours_overflow is None:
        return False
    target = _queue_ref(p, queue.off_hours_overflow)
    if target is None:
        logger.error(
            "queue %s overflows off hours into unknown queue %s",
            queue.name,
            queue.off_hours_overflow,
        )
        return False
    if not p.is_open(target):
        p.wake_at(p.next_open(target))
        return False
    moved = False
    for task in sorted(waiting, key=lambda t: (-t.priority, t.entered_queue_at)):
        if p.offers.get(task.conversation_id):
            continue  # its offer runs out first (or is accepted)
        moved = True
        why: dict[str, object] = {
            "reason": "off_hours",
            "queue_id": queue.id,
            "to_queue": target,
            "opens_at": opens.isoformat() if opens is not None else None,
        }
        await _move(tx, p, task, target, why)
    return moved


def _queue_ref(p: Pass, ref: str) -> QueueId | None:
    """A queue by id or name."""
    if QueueId(ref) in p.queues:
        return QueueId(ref)
    return next((q.id for q in p.queues.values() if q.name == ref), None)


async def _overflow(tx: RoutingTx, p: Pass, task: RoutingTask, d: Overflow) -> bool:
    target = _queue_ref(p, d.queue_id)
    if target is None:
        logger.error("queue %s overflows into unknown queue %s", task.queue_id, d.queue_id)
        return False
    why = dict(stored_explanation(d.explanation))
    await _move(tx, p, task, target, why)
    return True


async def _move(
    tx: RoutingTx, p: Pass, task: RoutingTask, target: QueueId, why: dict[str, object]
) -> None:
    """Overflow the task into ``target``: its offers are withdrawn, the decision logged,
    and its escalation starts again there."""
    conv = p.convs.get(task.conversation_id)
    if conv is not None:
        await withdraw_offers(tx, p, conv, "overflow")
    why["to_queue"] = target
    await record_decision(tx, p, task, "overflow", why)
    await put_task(
        tx,
        p,
        dataclasses.replace(
            task,
            queue_id=target,
            entered_queue_at=p.now,
            declined_by=frozenset(),
            extra_skills={},
        ),
    )
