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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from inbox.domain.ids import OperatorId
from inbox.domain.operators import Presence
from routing.policy.escalation import ActiveStep, step_in_force
from routing.policy.explain import CandidateNote, Exclusion, Explanation, Score
from routing.policy.model import (
    CAPACITY_EPSILON,
    DEFAULT_WEIGHTS,
    ChannelWeights,
    LastOperator,
    OperatorState,
    OverflowQueue,
    QueueConfig,
    QueueId,
    SkillAtLeast,
    Strategy,
    TaskState,
    weight_of,
)
from routing.policy.strategies import (
    RULES,
    RankKey,
    choose,
    round_robin_cursor,
    scored,
)

__all__ = [
    "Assign",
    "Decision",
    "Offer",
    "Overflow",
    "Wait",
    "WaitReason",
    "decide",
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


class _Pass:
    """The bookkeeping of one :func:`decide` call; it never escapes the call.

    Work is shared between the tasks of a pass: the pass-wide checks (known, online, the
    queue's skills) run once per member, a skill step's check once per member and step,
    and each member's score and "no room" note are cached until that member wins a task
    (the only change within a pass). So the second and later tasks of a pass cost little
    more than a few dictionary lookups per member (``bench/bench_routing_decisions.py``).
    """

    def __init__(self, queue: QueueConfig, operators: Sequence[OperatorState], now: datetime):
        self.queue = queue
        self.now = now
        self.strategy = queue.strategy
        self.states: dict[OperatorId, OperatorState] = {}
        for op in operators:
            if op.id in self.states:
                raise ValueError(f"operator {op.id} is listed twice")
            self.states[op.id] = op
        self.live: list[OperatorId] = []
        static: list[CandidateNote] = []
        required = tuple(queue.required_skills.items())
        states, live, online = self.states, self.live, Presence.ONLINE
        for member in queue.members:
            st = states.get(member)
            if st is None:
                static.append(CandidateNote(member, None, Exclusion.UNKNOWN))
            elif st.presence is not online:
                static.append(CandidateNote(member, None, Exclusion.NOT_ONLINE, str(st.presence)))
            elif required and (missing := _missing(st, required)):
                static.append(CandidateNote(member, None, Exclusion.MISSING_SKILL, missing))
            else:
                live.append(member)
        self.static_notes = tuple(static)
        self.round_robin = self.strategy is Strategy.ROUND_ROBIN
        self.position = {m: i for i, m in enumerate(queue.members)} if self.round_robin else {}
        self.cursor = round_robin_cursor(queue.members, self.states) if self.round_robin else -1
        self.turn = (
            max((states[m].rr_turn for m in queue.members if m in states), default=0)
            if self.round_robin
            else 0
        )
        self._scored: dict[OperatorId, tuple[CandidateNote, RankKey]] = {}
        self._no_room: dict[OperatorId, dict[float, CandidateNote]] = {}
        self._step: dict[int, dict[OperatorId, CandidateNote]] = {}
        self._not_last: dict[OperatorId, CandidateNote] = {}

    def _step_exclusions(self, active: ActiveStep) -> Mapping[OperatorId, CandidateNote]:
        target = active.step.target
        if not isinstance(target, SkillAtLeast):
            return _NONE
        cached = self._step.get(active.index)
        if cached is None:
            required = tuple(target.skills.items())
            cached = {}
            for member in self.live:
                missing = _missing(self.states[member], required)
                if missing:
                    cached[member] = CandidateNote(member, None, Exclusion.STEP_SKILL, missing)
            self._step[active.index] = cached
        return cached

    def candidates(
        self, task: TaskState, active: ActiveStep, weight: float
    ) -> tuple[list[CandidateNote], list[tuple[RankKey, OperatorState]], dict[OperatorId, Score]]:
        """For each live member, its note for ``task``; the eligible ones with their rank
        keys (in member order); the eligible ones' scores."""
        step_excluded = self._step_exclusions(active)
        only_last = isinstance(active.step.target, LastOperator)
        last = task.last_operator_id
        declined, offered = task.declined_by, task.offered_to
        states, strategy, now = self.states, self.strategy, self.now
        score_cache, no_room, not_last = self._scored, self._no_room, self._not_last
        round_robin, position, cursor = self.round_robin, self.position, self.cursor
        n = len(position)
        notes: list[CandidateNote] = []
        keyed: list[tuple[RankKey, OperatorState]] = []
        scores: dict[OperatorId, Score] = {}
        for member in self.live:
            if only_last and member != last:
                note = not_last.get(member)
                if note is None:
                    note = CandidateNote(member, None, Exclusion.NOT_LAST_OPERATOR)
                    not_last[member] = note
                notes.append(note)
                continue
            note = step_excluded.get(member)
            if note is None:
                st = states[member]
                if declined and member in declined:
                    note = CandidateNote(member, None, Exclusion.DECLINED)
                elif offered and member in offered:
                    note = CandidateNote(member, None, Exclusion.OFFER_PENDING)
                elif st.load + weight > st.capacity + CAPACITY_EPSILON:  # not has_room_for
                    by_weight = no_room.setdefault(member, {})
                    note = by_weight.get(weight)
                    if note is None:
                        detail = f"{st.load:g}+{weight:g}>{st.capacity:g}"
                        note = CandidateNote(member, None, Exclusion.NO_CAPACITY, detail)
                        by_weight[weight] = note
                else:
                    if round_robin:
                        distance = (position[member] - cursor - 1) % n + 1
                        score, key = scored(strategy, st, now, distance=distance)
                        note = CandidateNote(member, score)
                    else:
                        cached = score_cache.get(member)
                        if cached is None:
                            score, key = scored(strategy, st, now)
                            cached = score_cache[member] = (CandidateNote(member, score), key)
                        note, key = cached
                    keyed.append((key, st))
                    scores[member] = note.score or ()
            notes.append(note)
        return notes, keyed, scores

    def record(self, winners: Sequence[OperatorState], weight: float) -> tuple[OperatorState, ...]:
        """The winners after taking a task of ``weight``; later tasks see them so."""
        if self.round_robin:
            self.turn += 1
            self.cursor = self.position[winners[0].id]
        after = tuple(
            dataclasses.replace(
                w,
                load=w.load + weight,
                last_assigned_at=self.now,
                rr_turn=self.turn if self.round_robin else w.rr_turn,
            )
            for w in winners
        )
        for w in after:
            self.states[w.id] = w
            self._scored.pop(w.id, None)
            self._no_room.pop(w.id, None)
        return after


_NONE: Mapping[OperatorId, CandidateNote] = MappingProxyType({})


def _missing(st: OperatorState, required: Sequence[tuple[str, int]]) -> str:
    """``"lenses 1<3"`` for the first skill ``st`` lacks, or ``""``."""
    skills = st.skills
    for name, level in required:
        have = skills.get(name, 0)
        if have < level:
            return f"{name} {have}<{level}"
    return ""


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
    _, keyed, _ = _Pass(queue, operators, now).candidates(
        task, active, weight_of(task.channel_kind, weights)
    )
    return [op for _, op in keyed]


def _explanation(
    queue: QueueConfig,
    task: TaskState,
    active: ActiveStep,
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
        step=active.description,
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
    for kind in weights:
        weight_of(kind, weights)
    for task in tasks:
        if task.queue_id != queue.id:
            raise ValueError(f"task {task.conversation_id} is in queue {task.queue_id}")
    state = _Pass(queue, operators, now)
    timeout = queue.accept_timeout_seconds
    decisions: list[Decision] = []
    for task in service_order(tasks):
        active = step_in_force(queue, task, now)
        weight = weight_of(task.channel_kind, weights)
        target = active.step.target
        if isinstance(target, OverflowQueue):
            why = _explanation(queue, task, active, weight, now, "overflow")
            decisions.append(Overflow(task, target.queue_id, why))
            continue
        if task.offered_to and queue.strategy is not Strategy.RING_ALL:
            why = _explanation(queue, task, active, weight, now, "wait")
            decisions.append(Wait(task, WaitReason.OFFER_PENDING, why))
            continue

        notes, keyed, scores = state.candidates(task, active, weight)
        candidates = (*notes, *state.static_notes)
        if not keyed:
            reason = (
                WaitReason.OFFER_PENDING if task.offered_to else WaitReason.NO_ELIGIBLE_OPERATOR
            )
            why = _explanation(queue, task, active, weight, now, "wait", candidates)
            decisions.append(Wait(task, reason, why))
            continue

        winners = choose(queue.strategy, keyed)
        after = state.record(winners, weight)
        best = scores[winners[0].id]
        if timeout is None:
            why = _explanation(
                queue, task, active, weight, now, "assign", candidates, winners, best
            )
            decisions.append(Assign(task, after[0], why))
        else:
            offered = dataclasses.replace(task, offered_to=task.offered_to | {w.id for w in after})
            why = _explanation(queue, task, active, weight, now, "offer", candidates, winners, best)
            decisions.append(Offer(offered, after, now + timedelta(seconds=timeout), why))
    return decisions
