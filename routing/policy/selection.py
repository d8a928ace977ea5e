"""One routing pass over a queue: a snapshot in, a list of decisions out. Pure.

:func:`decide` walks the queue's waiting tasks (higher priority first, then longest
waiting), finds the escalation step in force for each, filters the members down to the
eligible operators, lets the queue's strategy choose, and returns one decision per task.
Loads are carried from one task to the next within the pass, so a pass never gives an
operator more than their capacity. The caller persists the decisions atomically (row
locks, ``docs/routing.md``) and applies them before the next pass: a decision carries the
task and operator states *after* it, ready to store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from routing.policy.escalation import ActiveStep, step_in_force
from routing.policy.explain import (
    CandidateNote,
    Explanation,
    Score,
)
from routing.policy.model import (
    DEFAULT_WEIGHTS,
    ChannelWeights,
    OperatorState,
    OverflowQueue,
    QueueConfig,
    QueueId,
    Strategy,
    TaskState,
    weight_of,
)
from routing.policy.pass_state import PassState
from routing.policy.strategies import (
    RULES,
    choose,
)

__all__ = [
    "Assign",
    "Decision",
    "Offer",
    "Overflow",
    "Wait",
    "WaitReason",
    "decide",
    "decide_until_full",
    "eligible_operators",
    "service_order",
]


class WaitReason(StrEnum):
    #: Nobody matches the step in force with room for the task (the explanation says why
    #: each member was excluded).
    NO_ELIGIBLE_OPERATOR = "no_eligible_operator"
    #: An offer for the task is pending; its accept, decline or timeout moves it on.
    OFFER_PENDING = "offer_pending"


@dataclass(frozen=True, slots=True)
class Assign:
    """Assign ``task`` to ``operator`` (the operator's state after the assignment: load
    includes the task, ``last_assigned_at`` is the pass's ``now``)."""

    task: TaskState
    operator: OperatorState
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class Offer:
    """Offer ``task`` to ``operators`` until ``expires_at``. ``task`` is the state after
    the offer (``offered_to`` includes them); ``operators`` are their states after it (the
    offer reserves the task's weight). Under ring-all a pending offer is extended to
    operators who became eligible since; ``operators`` then holds only the new ones."""

    task: TaskState
    operators: tuple[OperatorState, ...]
    expires_at: datetime
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class Overflow:
    """Move ``task`` to ``queue_id`` (see :meth:`TaskState.moved_to`). The overflow step
    does not wait for pending offers: the caller withdraws any (``task.offered_to``) and
    releases their reservations, as when another operator wins a ring-all."""

    task: TaskState
    queue_id: QueueId
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class Wait:
    """Leave ``task`` waiting; a later pass (an operator frees up or comes online, a step
    or an offer expires) decides again."""

    task: TaskState
    reason: WaitReason
    explanation: Explanation


Decision = Assign | Offer | Overflow | Wait


def service_order(tasks: Iterable[TaskState]) -> list[TaskState]:
    """Higher priority first, then longest waiting, then conversation id (a total order)."""
    return sorted(tasks, key=lambda t: (-t.priority, t.entered_queue_at, t.conversation_id))


def eligible_operators(
    queue: QueueConfig,
    task: TaskState,
    operators: Sequence[OperatorState],
    now: datetime,
    *,
    weights: ChannelWeights = DEFAULT_WEIGHTS,
) -> list[OperatorState]:
    """The members (in member order) who could take ``task`` now under the step in force:
    online, with the queue's and the step's skills, room for its weight, no refusal and no
    pending offer for it. Empty while an overflow step is in force. (A supervisor's "who
    could take this?"; :func:`decide` chooses among exactly these.)"""
    active = step_in_force(queue, task, now)
    if isinstance(active.step.target, OverflowQueue):
        return []
    keyed = PassState(queue, operators, now).eligible(
        task, active, weight_of(task.channel_kind, weights)
    )
    return [op for _, op in keyed]


def _explanation(
    queue: QueueConfig,
    task: TaskState,
    active: ActiveStep,
    step: str,
    weight: float,
    now: datetime,
    outcome: str,
    candidates: tuple[CandidateNote, ...] = (),
    winners: Sequence[OperatorState] = (),
    winner_score: Score | None = None,
) -> Explanation:
    return Explanation(
        conversation_id=task.conversation_id,
        queue_id=queue.id,
        decided_at=now,
        strategy=queue.strategy,
        step_index=active.index,
        step=step,
        waited_seconds=(now - task.entered_queue_at).total_seconds(),
        task_weight=weight,
        priority=task.priority,
        rule=RULES[queue.strategy],
        candidates=candidates,
        winners=tuple(w.id for w in winners),
        winner_score=winner_score,
        outcome=outcome,
    )


def decide(
    queue: QueueConfig,
    tasks: Sequence[TaskState],
    operators: Sequence[OperatorState],
    now: datetime,
    *,
    weights: ChannelWeights = DEFAULT_WEIGHTS,
) -> list[Decision]:
    """One decision per task in ``tasks``, in service order (:func:`service_order`).

    ``tasks`` are the tasks waiting in ``queue`` (a task of another queue raises
    ValueError); ``operators`` the current states of (at least) its members, loads
    including pending offers; operators who are not members are ignored, and a member with
    no state is excluded as ``unknown``. For each task:

    - an :class:`OverflowQueue` step in force gives :class:`Overflow`;
    - a pending offer gives :class:`Wait` (``offer_pending``), except under ring-all,
      where operators who became eligible since are offered it too;
    - otherwise the strategy chooses among the eligible members
      (:func:`eligible_operators`): :class:`Assign` for a queue without an accept
      timeout, :class:`Offer` (expiring ``now`` + timeout) for one with; nobody eligible
      gives :class:`Wait` (``no_eligible_operator``).

    Each assignment or offer adds the task's weight to the winners' load, sets their
    ``last_assigned_at`` to ``now`` and, under round robin, gives them the next turn,
    before the next task is considered. Raises ValueError for a non-positive weight or an
    operator listed twice.
    """
    decisions, _rest = _decide(queue, tasks, operators, now, weights, until_full=False)
    return decisions


def decide_until_full(
    queue: QueueConfig,
    tasks: Sequence[TaskState],
    operators: Sequence[OperatorState],
    now: datetime,
    *,
    weights: ChannelWeights = DEFAULT_WEIGHTS,
) -> tuple[list[Decision], list[TaskState]]:
    """:func:`decide` for the first tasks in service order, until no member online with
    the queue's skills has room for the lightest task left; answers those decisions and
    the tasks left undecided, in service order. Each of those would get :class:`Wait`
    from :func:`decide` (every step's operators are among those members, and nobody
    without room is eligible), so the routing pass needs of them only when their next
    escalation step starts -- with 1,000 customers waiting and one place freed, deciding
    each of them cost ~12 ms for "wait". A queue with an overflow step is decided whole
    (an overflow needs no room)."""
    return _decide(queue, tasks, operators, now, weights, until_full=True)


def _decide(
    queue: QueueConfig,
    tasks: Sequence[TaskState],
    operators: Sequence[OperatorState],
    now: datetime,
    weights: ChannelWeights,
    *,
    until_full: bool,
) -> tuple[list[Decision], list[TaskState]]:
    if not all(w > 0 for w in weights.values()):
        for kind in weights:
            weight_of(kind, weights)  # raises for the first non-positive weight
    for task in tasks:
        if task.queue_id != queue.id:
            raise ValueError(f"task {task.conversation_id} is in queue {task.queue_id}")
    state = PassState(queue, operators, now)
    timeout = queue.accept_timeout_seconds
    ring_all = queue.strategy is Strategy.RING_ALL
    decisions: list[Decision] = []
    ordered = service_order(tasks) if len(tasks) > 1 else list(tasks)
    lightest: list[float] = []  # lightest[i]: the lightest weight from task i on
    if until_full and not any(isinstance(s.target, OverflowQueue) for s in queue.escalation):
        for task in reversed(ordered):
            weight = weight_of(task.channel_kind, weights)
            lightest.append(min(weight, lightest[-1]) if lightest else weight)
        lightest.reverse()
    check = bool(lightest)  # whether to look for room before the next task
    for index, task in enumerate(ordered):
        if check:
            if not state.anyone_has_room(lightest[index]):
                return decisions, ordered[index:]
            check = False
        active = step_in_force(queue, task, now)
        step = state.description(active)
        weight = weight_of(task.channel_kind, weights)
        target = active.step.target
        if isinstance(target, OverflowQueue):
            why = _explanation(queue, task, active, step, weight, now, "overflow")
            decisions.append(Overflow(task, target.queue_id, why))
            continue
        if task.offered_to and not ring_all:
            why = _explanation(queue, task, active, step, weight, now, "wait")
            decisions.append(Wait(task, WaitReason.OFFER_PENDING, why))
            continue

        keyed = state.eligible(task, active, weight)
        candidates = state.deferred_notes(task, active, weight)
        if not keyed:
            reason = (
                WaitReason.OFFER_PENDING if task.offered_to else WaitReason.NO_ELIGIBLE_OPERATOR
            )
            why = _explanation(queue, task, active, step, weight, now, "wait", candidates)
            decisions.append(Wait(task, reason, why))
            continue

        # Rank keys end with the operator id, so they never tie and min() never compares
        # two states.
        winners = choose(queue.strategy, keyed) if ring_all else [min(keyed)[1]]
        best = state.winner_score(winners[0])
        after = state.record(winners, weight)
        check = bool(lightest)  # a load changed
        if timeout is None:
            why = _explanation(
                queue, task, active, step, weight, now, "assign", candidates, winners, best
            )
            decisions.append(Assign(task, after[0], why))
        else:
            offered = dataclasses.replace(task, offered_to=task.offered_to | {w.id for w in after})
            why = _explanation(
                queue, task, active, step, weight, now, "offer", candidates, winners, best
            )
            decisions.append(Offer(offered, after, now + timedelta(seconds=timeout), why))
    return decisions, []
