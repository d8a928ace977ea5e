"""Why a decision was made, in a form a supervisor can read and storage can keep as JSON.

Every :class:`~routing.policy.selection.Decision` carries an :class:`Explanation`: the
escalation step in force, every member considered with either its score (ranked by the
strategy's rule) or the reason it was excluded, and the winners with their score. ``to_json`` gives
plain JSON values (str, int, float, bool, None, lists, dicts: no infinities or NaN);
``from_json`` reads them back, so a stored explanation round-trips exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple, TypeAlias, cast

from inbox.domain.ids import ConversationId, OperatorId
from routing.policy.model import QueueId, Strategy

__all__ = [
    "CandidateNote",
    "Exclusion",
    "Explanation",
    "JsonValue",
    "Score",
    "from_json",
    "to_json",
]

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None

#: Named score components in ranking order, e.g. ``(("load_ratio", 0.4),
#: ("idle_seconds", 120.0))``; the explanation's ``rule`` says how they rank. An
#: ``idle_seconds`` of ``None`` means never assigned (the longest idle of all).
Score = tuple[tuple[str, float | None], ...]


class Exclusion(StrEnum):
    """Why a member was not a candidate for this task."""

    UNKNOWN = "unknown"  # a member with no state in the snapshot (e.g. disabled, deleted)
    NOT_ONLINE = "not_online"
    MISSING_SKILL = "missing_skill"  # the queue's required skills
    STEP_SKILL = "step_skill"  # the escalation step's extra skill requirement
    NOT_LAST_OPERATOR = "not_last_operator"
    DECLINED = "declined"  # declined this task or let its offer time out
    OFFER_PENDING = "offer_pending"  # already holds an offer for this task
    NO_CAPACITY = "no_capacity"


class CandidateNote(NamedTuple):
    """One member as the pass saw it: ``score`` when eligible, else ``excluded`` (and
    ``detail`` says more, e.g. ``"lenses 1<3"`` or ``"4.5+1>5"``).

    A ``NamedTuple`` rather than a frozen dataclass: a pass makes one per member per task
    (500 operators x a backlog), and a frozen dataclass's ``__init__`` costs about four
    times as much (``bench/bench_routing_decisions.py``).
    """

    operator_id: OperatorId
    score: Score | None = None
    excluded: Exclusion | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Explanation:
    """The record kept with a decision.

    ``step_index``/``step`` are the escalation step in force (``step`` is its description);
    ``candidates`` lists the members who passed the checks that hold for the whole pass
    (known, online, the queue's skills) in member order, each with its score or its
    task-specific exclusion, then the members who did not;
    ``waited_seconds`` is ``decided_at - entered_queue_at``; ``rule`` names the strategy's
    ordering; ``winners`` are the operators assigned or offered (empty for a wait or an
    overflow); ``winner_score`` is the first winner's score.
    """

    conversation_id: ConversationId
    queue_id: QueueId
    decided_at: datetime
    strategy: Strategy
    step_index: int
    step: str
    waited_seconds: float
    task_weight: float
    priority: int
    rule: str
    candidates: tuple[CandidateNote, ...]
    winners: tuple[OperatorId, ...] = ()
    winner_score: Score | None = None
    outcome: str = ""


class _Deferred:
    """Candidate notes not built yet: ``build()`` makes them when first read."""

    __slots__ = ("build",)

    def __init__(self, build: Callable[[], tuple[CandidateNote, ...]]) -> None:
        self.build = build


class _BuiltOnFirstRead:
    """Wraps the ``candidates`` slot of :class:`Explanation`: a :class:`_Deferred` value
    stored there is replaced by the tuple it builds the first time the field is read.

    A pass scores every member for every task, but an explanation is mostly stored or
    read later, if at all; building its notes (a tuple, a score and often a string per
    member) was most of the cost of deciding one arriving task. Every read goes through
    here (attribute access, ``==``, ``hash``, ``repr``, ``to_json``,
    ``dataclasses.replace``/``asdict``, pickling), so nothing can observe the difference;
    building is pure, so two threads racing on the first read build equal tuples.
    """

    __slots__ = ("slot",)

    def __init__(self, slot: Any) -> None:
        self.slot = slot

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = self.slot.__get__(obj, owner)
        if type(value) is _Deferred:
            value = value.build()
            self.slot.__set__(obj, value)
        return value

    def __set__(self, obj: object, value: object) -> None:
        self.slot.__set__(obj, value)

    def __delete__(self, obj: object) -> None:
        self.slot.__delete__(obj)


def deferred_candidates(
    build: Callable[[], tuple[CandidateNote, ...]],
) -> tuple[CandidateNote, ...]:
    """A value for ``Explanation(candidates=...)`` that is built by ``build()`` (pure)
    when the explanation's candidates are first read (for :mod:`routing.policy.selection`;
    the field always reads as a tuple)."""
    return cast(tuple[CandidateNote, ...], _Deferred(build))


_CANDIDATES = "candidates"
setattr(Explanation, _CANDIDATES, _BuiltOnFirstRead(Explanation.__dict__[_CANDIDATES]))


def _score_json(score: Score | None) -> JsonValue:
    if score is None:
        return None
    return [[name, value] for name, value in score]


def _score_from(value: JsonValue) -> Score | None:
    if value is None:
        return None
    items = cast(list[list[JsonValue]], value)
    return tuple(
        (str(pair[0]), None if pair[1] is None else float(cast(float, pair[1]))) for pair in items
    )


def to_json(explanation: Explanation) -> dict[str, JsonValue]:
    """Plain JSON (``json.dumps`` with ``allow_nan=False`` accepts it)."""
    e = explanation
    candidates: list[JsonValue] = []
    for c in e.candidates:
        note: dict[str, JsonValue] = {"operator": c.operator_id}
        if c.score is not None:
            note["score"] = _score_json(c.score)
        if c.excluded is not None:
            note["excluded"] = str(c.excluded)
        if c.detail:
            note["detail"] = c.detail
        candidates.append(note)
    return {
        "conversation": e.conversation_id,
        "queue": e.queue_id,
        "decided_at": e.decided_at.isoformat(),
        "outcome": e.outcome,
        "strategy": str(e.strategy),
        "step_index": e.step_index,
        "step": e.step,
        "waited_seconds": e.waited_seconds,
        "task_weight": e.task_weight,
        "priority": e.priority,
        "rule": e.rule,
        "winners": list(e.winners),
        "winner_score": _score_json(e.winner_score),
        "candidates": candidates,
    }


def from_json(data: Mapping[str, JsonValue]) -> Explanation:
    """The inverse of :func:`to_json`; raises KeyError/ValueError/TypeError on a document
    that ``to_json`` did not produce."""
    notes = []
    for raw in cast(list[dict[str, JsonValue]], data["candidates"]):
        excluded = raw.get("excluded")
        notes.append(
            CandidateNote(
                OperatorId(str(raw["operator"])),
                _score_from(raw.get("score")),
                None if excluded is None else Exclusion(str(excluded)),
                str(raw.get("detail", "")),
            )
        )
    return Explanation(
        conversation_id=ConversationId(str(data["conversation"])),
        queue_id=QueueId(str(data["queue"])),
        decided_at=datetime.fromisoformat(str(data["decided_at"])),
        strategy=Strategy(str(data["strategy"])),
        step_index=int(cast(int, data["step_index"])),
        step=str(data["step"]),
        waited_seconds=float(cast(float, data["waited_seconds"])),
        task_weight=float(cast(float, data["task_weight"])),
        priority=int(cast(int, data["priority"])),
        rule=str(data["rule"]),
        candidates=tuple(notes),
        winners=tuple(OperatorId(str(w)) for w in cast(list[JsonValue], data["winners"])),
        winner_score=_score_from(data["winner_score"]),
        outcome=str(data["outcome"]),
    )
