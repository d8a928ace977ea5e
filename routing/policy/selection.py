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
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from inbox.domain.ids import OperatorId
from inbox.domain.operators import Presence
from routing.policy.escalation import ActiveStep, step_in_force
from routing.policy.explain import (
    CandidateNote,
    Exclusion,
    Explanation,
    Score,
    deferred_candidates,
)
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
    """The bookkeeping of one :func:`decide` call; it never escapes the call (except
    inside the explanations' deferred candidate notes, which only read it).

    Work is shared between the tasks of a pass: the pass-wide checks (known, online, the
    queue's skills) run once per member and a skill step's check once per member and
    step. Deciding a task only filters the members it leaves by the task's own checks
    (refusals, pending offers, room for its weight) and ranks the rest; the explanation's
    note for every member (a score or an exclusion with its detail) is built only when the
    explanation's ``candidates`` are first read, from the states as that task saw them
    (``bench/bench_routing_decisions.py``).
    """

    def __init__(self, queue: QueueConfig, operators: Sequence[OperatorState], now: datetime):
        self.queue = queue
        self.now = now
        self.strategy = queue.strategy
        ops = operators if isinstance(operators, list | tuple) else list(operators)
        states = {op.id: op for op in ops}
        if len(states) != len(ops):
            seen: set[OperatorId] = set()
            for op in ops:
                if op.id in seen:
                    raise ValueError(f"operator {op.id} is listed twice")
                seen.add(op.id)
        #: The states as the pass began; :attr:`states` is replaced, never changed in
        #: place, once a task was decided against it (the deferred notes keep it).
        self.initial = states
        self.states = states
        self._pending: list[OperatorState] = []
        members, online, get = queue.members, Presence.ONLINE, states.get
        self.required = tuple(queue.required_skills.items())
        known = [m for m in members if (st := get(m)) is not None and st.presence is online]
        live = _with_skills(known, states, self.required)
        self.live = live
        self._static_notes: tuple[CandidateNote, ...] | None = None
        self.round_robin = self.strategy is Strategy.ROUND_ROBIN
        self.position = {m: i for i, m in enumerate(members)} if self.round_robin else {}
        self.cursor = round_robin_cursor(members, states) if self.round_robin else -1
        self.turn = (
            max((states[m].rr_turn for m in members if m in states), default=0)
            if self.round_robin
            else 0
        )
        self._pools: dict[int, list[OperatorId]] = {}
        self._step_notes: dict[int, dict[OperatorId, CandidateNote]] = {}
        self._descriptions: dict[int, str] = {}
        # Notes already built, reused while the member's state is the same object.
        self._scored: dict[OperatorId, tuple[OperatorState, CandidateNote]] = {}
        self._no_room: dict[tuple[OperatorId, float], tuple[OperatorState, CandidateNote]] = {}
        self._not_last: dict[OperatorId, CandidateNote] = {}

    def description(self, active: ActiveStep) -> str:
        text = self._descriptions.get(active.index)
        if text is None:
            text = self._descriptions[active.index] = active.description
        return text

    def _pool(self, active: ActiveStep, task: TaskState) -> list[OperatorId]:
        """The live members the step in force admits, in member order."""
        target = active.step.target
        if isinstance(target, SkillAtLeast):
            pool = self._pools.get(active.index)
            if pool is None:
                required = tuple(target.skills.items())
                pool = _with_skills(self.live, self.initial, required)
                self._pools[active.index] = pool
            return pool
        if isinstance(target, LastOperator):
            return [m for m in self.live if m == task.last_operator_id]
        return self.live

    def eligible(
        self, task: TaskState, active: ActiveStep, weight: float
    ) -> list[tuple[RankKey, OperatorState]]:
        """The members eligible for ``task`` with their rank keys, in member order."""
        if self._pending:
            states = dict(self.states)
            for st in self._pending:
                states[st.id] = st
            self.states = states
            self._pending = []
        pool = self._pool(active, task)
        refused = task.declined_by | task.offered_to
        if refused:
            pool = [m for m in pool if m not in refused]
        room = [
            st
            for st in map(self.states.__getitem__, pool)
            if not st.load + weight > st.capacity + CAPACITY_EPSILON  # has_room_for
        ]
        if self.round_robin:
            position, cursor, n = self.position, self.cursor, len(self.position)
            return [(((position[st.id] - cursor - 1) % n + 1, st.id), st) for st in room]
        if self.strategy is Strategy.LONGEST_IDLE:
            return [
                (
                    (
                        st.last_assigned_at or _NEVER,
                        st.load / st.capacity if st.capacity > 0 else _INF,
                        st.id,
                    ),
                    st,
                )
                for st in room
            ]
        return [
            (
                (
                    st.load / st.capacity if st.capacity > 0 else _INF,
                    st.last_assigned_at or _NEVER,
                    st.id,
                ),
                st,
            )
            for st in room
        ]

    def winner_score(self, winner: OperatorState) -> Score:
        """The score of ``winner`` (as it was before winning) for the explanation."""
        distance = 0
        if self.round_robin:
            distance = (self.position[winner.id] - self.cursor - 1) % len(self.position) + 1
        return scored(self.strategy, winner, self.now, distance=distance)[0]

    def deferred_notes(
        self, task: TaskState, active: ActiveStep, weight: float
    ) -> tuple[CandidateNote, ...]:
        """The explanation's candidates for ``task``, built when first read from the
        states and round-robin cursor as they are now (both are replaced, never changed
        in place, when a later task of the pass is decided)."""
        states, cursor = self.states, self.cursor
        return deferred_candidates(lambda: self.notes(task, active, weight, states, cursor))

    def _step_exclusions(self, active: ActiveStep) -> Mapping[OperatorId, CandidateNote]:
        target = active.step.target
        if not isinstance(target, SkillAtLeast):
            return _NONE
        cached = self._step_notes.get(active.index)
        if cached is None:
            required = tuple(target.skills.items())
            cached = {}
            for member in self.live:
                missing = _missing(self.initial[member], required)
                if missing:
                    cached[member] = CandidateNote(member, None, Exclusion.STEP_SKILL, missing)
            self._step_notes[active.index] = cached
        return cached

    def static_notes(self) -> tuple[CandidateNote, ...]:
        """The members who failed the pass-wide checks, in member order."""
        notes = self._static_notes
        if notes is None:
            built: list[CandidateNote] = []
            states, required, online = self.initial, self.required, Presence.ONLINE
            for member in self.queue.members:
                st = states.get(member)
                if st is None:
                    built.append(CandidateNote(member, None, Exclusion.UNKNOWN))
                elif st.presence is not online:
                    built.append(
                        CandidateNote(member, None, Exclusion.NOT_ONLINE, str(st.presence))
                    )
                elif required and (missing := _missing(st, required)):
                    built.append(CandidateNote(member, None, Exclusion.MISSING_SKILL, missing))
            notes = self._static_notes = tuple(built)
        return notes

    def notes(
        self,
        task: TaskState,
        active: ActiveStep,
        weight: float,
        states: Mapping[OperatorId, OperatorState],
        cursor: int,
    ) -> tuple[CandidateNote, ...]:
        """For each live member, its note for ``task`` (given the members' ``states`` and
        the round-robin ``cursor`` when it was decided), then the static notes."""
        step_excluded = self._step_exclusions(active)
        only_last = isinstance(active.step.target, LastOperator)
        last = task.last_operator_id
        declined, offered = task.declined_by, task.offered_to
        strategy, now = self.strategy, self.now
        score_cache, no_room, not_last = self._scored, self._no_room, self._not_last
        round_robin, position = self.round_robin, self.position
        n = len(position)
        notes: list[CandidateNote] = []
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
                    cached = no_room.get((member, weight))
                    if cached is not None and cached[0] is st:
                        note = cached[1]
                    else:
                        detail = f"{st.load:g}+{weight:g}>{st.capacity:g}"
                        note = CandidateNote(member, None, Exclusion.NO_CAPACITY, detail)
                        no_room[member, weight] = (st, note)
                elif round_robin:
                    distance = (position[member] - cursor - 1) % n + 1
                    note = CandidateNote(member, scored(strategy, st, now, distance=distance)[0])
                else:
                    cached = score_cache.get(member)
                    if cached is not None and cached[0] is st:
                        note = cached[1]
                    else:
                        note = CandidateNote(member, scored(strategy, st, now)[0])
                        score_cache[member] = (st, note)
            notes.append(note)
        return (*notes, *self.static_notes())

    def record(self, winners: Sequence[OperatorState], weight: float) -> tuple[OperatorState, ...]:
        """The winners after taking a task of ``weight``; later tasks see them so."""
        if self.round_robin:
            self.turn += 1
            self.cursor = self.position[winners[0].id]
        now, turn, round_robin = self.now, self.turn, self.round_robin
        after = tuple(
            OperatorState(
                w.id,
                w.skills,
                w.capacity,
                w.load + weight,
                w.presence,
                now,
                turn if round_robin else w.rr_turn,
            )
            for w in winners
        )
        self._pending.extend(after)
        return after


_NONE: Mapping[OperatorId, CandidateNote] = MappingProxyType({})
_INF = float("inf")
_NEVER = datetime.min.replace(tzinfo=UTC)  # as in strategies.rank_key: never assigned


def _with_skills(
    members: list[OperatorId],
    states: Mapping[OperatorId, OperatorState],
    required: tuple[tuple[str, int], ...],
) -> list[OperatorId]:
    """The ``members`` (known to ``states``) lacking none of the ``required`` skills, in
    order: :func:`_missing` without a call per member for the usual one skill."""
    if not required:
        return members
    if len(required) == 1:
        ((name, level),) = required
        return [m for m in members if not states[m].skills.get(name, 0) < level]
    return [m for m in members if not _missing(states[m], required)]


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
    keyed = _Pass(queue, operators, now).eligible(
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
    if not all(w > 0 for w in weights.values()):
        for kind in weights:
            weight_of(kind, weights)  # raises for the first non-positive weight
    for task in tasks:
        if task.queue_id != queue.id:
            raise ValueError(f"task {task.conversation_id} is in queue {task.queue_id}")
    state = _Pass(queue, operators, now)
    timeout = queue.accept_timeout_seconds
    ring_all = queue.strategy is Strategy.RING_ALL
    decisions: list[Decision] = []
    for task in service_order(tasks) if len(tasks) > 1 else tasks:
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
    return decisions
