"""The bookkeeping of one routing pass (:func:`routing.policy.selection.decide`): who is
eligible for a task under the step in force, how each is ranked, and the loads carried from
one task to the next. Pure; it never escapes the pass."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType

from inbox.domain.ids import OperatorId
from inbox.domain.operators import Presence
from routing.policy.escalation import ActiveStep
from routing.policy.explain import (
    CandidateNote,
    Exclusion,
    Score,
    deferred_candidates,
)
from routing.policy.model import (
    CAPACITY_EPSILON,
    LastOperator,
    OperatorState,
    QueueConfig,
    SkillAtLeast,
    Strategy,
    TaskState,
)
from routing.policy.strategies import RankKey, round_robin_cursor, scored

__all__ = ["PassState"]


class PassState:
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
        self._rooms: dict[tuple[int, float], list[OperatorState]] = {}
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

    def _apply_pending(self) -> None:
        """Later tasks see the states after the pass's decisions so far."""
        if self._pending:
            states = dict(self.states)
            for st in self._pending:
                states[st.id] = st
            self.states = states
            self._pending = []
            self._rooms.clear()

    def anyone_has_room(self, weight: float) -> bool:
        """Whether any member online with the queue's skills has room for ``weight`` now
        (every step's pool is drawn from them)."""
        self._apply_pending()
        states = self.states
        return any(
            not (st := states[m]).load + weight > st.capacity + CAPACITY_EPSILON  # has_room_for
            for m in self.live
        )

    def eligible(
        self, task: TaskState, active: ActiveStep, weight: float
    ) -> list[tuple[RankKey, OperatorState]]:
        """The members eligible for ``task`` with their rank keys, in member order."""
        self._apply_pending()
        # Who in the step's pool has room for this weight is the same for every task
        # until a decision changes a load: kept, so a queue where nobody has room costs
        # one scan of its members, not one per waiting task.
        key = None if isinstance(active.step.target, LastOperator) else (active.index, weight)
        room = self._rooms.get(key) if key is not None else None
        if room is None:
            room = [
                st
                for st in map(self.states.__getitem__, self._pool(active, task))
                if not st.load + weight > st.capacity + CAPACITY_EPSILON  # has_room_for
            ]
            if key is not None:
                self._rooms[key] = room
        refused = task.declined_by | task.offered_to
        if refused:
            room = [st for st in room if st.id not in refused]
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
