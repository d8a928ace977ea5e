"""The distribution strategies: how a queue ranks the operators eligible for one task.

Each strategy is a total order (the last tie-breaker is the operator id), so the choice
never depends on the order of the snapshot. Pure; ``now`` only measures idle time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter

from inbox.domain.ids import OperatorId
from routing.policy.explain import Score
from routing.policy.model import OperatorState, Strategy

__all__ = ["RULES", "RankKey", "choose", "rank_key", "round_robin_cursor", "score_of", "scored"]

_NEVER = datetime.min.replace(tzinfo=UTC)

#: A strategy's sort key; tuples compare element by element, smallest first.
RankKey = tuple[object, ...]

#: The ranking rule of each strategy, as recorded in explanations.
RULES: Mapping[Strategy, str] = {
    Strategy.LEAST_LOADED: (
        "lowest load_ratio, then longest idle_seconds (null: never assigned, longest), "
        "then operator id"
    ),
    Strategy.LONGEST_IDLE: (
        "longest idle_seconds (null: never assigned, longest), then lowest load_ratio, "
        "then operator id"
    ),
    Strategy.ROUND_ROBIN: (
        "smallest turn_distance: the next member in the queue's order after the one who "
        "had the last turn"
    ),
    Strategy.RING_ALL: "every eligible operator is offered the task at once",
}


def _ratio(op: OperatorState) -> float:
    # Eligible operators have room for a positive weight, so capacity > 0 here.
    return op.load / op.capacity if op.capacity > 0 else float("inf")


def round_robin_cursor(
    members: Sequence[OperatorId], states: Mapping[OperatorId, OperatorState]
) -> int:
    """The index in ``members`` of the member who had the last round-robin turn (highest
    ``rr_turn``), or -1 when nobody has had one yet."""
    best, cursor = 0, -1
    for i, member in enumerate(members):
        st = states.get(member)
        if st is not None and st.rr_turn > best:
            best, cursor = st.rr_turn, i
    return cursor


def score_of(strategy: Strategy, op: OperatorState, now: datetime, *, distance: int = 0) -> Score:
    """The named components the strategy ranks ``op`` by, as explanations record them
    (``distance``: the member's round-robin turn distance from the cursor, 1 = next)."""
    return scored(strategy, op, now, distance=distance)[0]


def rank_key(strategy: Strategy, op: OperatorState, *, distance: int = 0) -> RankKey:
    """The sort key of ``op`` under ``strategy``: the smallest wins. It ends with the
    operator id, so two operators never tie."""
    if strategy is Strategy.ROUND_ROBIN:
        return (distance, op.id)
    if strategy is Strategy.LONGEST_IDLE:
        return (op.last_assigned_at or _NEVER, _ratio(op), op.id)
    return (_ratio(op), op.last_assigned_at or _NEVER, op.id)


def scored(
    strategy: Strategy, op: OperatorState, now: datetime, *, distance: int = 0
) -> tuple[Score, RankKey]:
    """:func:`score_of` and :func:`rank_key` at once (a pass computes both for every
    eligible member, so this shares the work)."""
    if strategy is Strategy.ROUND_ROBIN:
        return (("turn_distance", float(distance)),), (distance, op.id)
    capacity = op.capacity
    ratio = op.load / capacity if capacity > 0 else float("inf")
    last = op.last_assigned_at
    if last is None:
        idle, since = None, _NEVER
    else:
        idle, since = (now - last).total_seconds(), last
    if strategy is Strategy.LONGEST_IDLE:
        return (("idle_seconds", idle), ("load_ratio", ratio)), (since, ratio, op.id)
    return (("load_ratio", ratio), ("idle_seconds", idle)), (ratio, since, op.id)


def choose(
    strategy: Strategy, keyed: Sequence[tuple[RankKey, OperatorState]]
) -> list[OperatorState]:
    """The winners among ``keyed`` (non-empty ``(rank_key, operator)`` pairs): the one with
    the smallest key, or for ring-all all of them, smallest key first (least loaded first,
    for a stable record)."""
    if strategy is Strategy.RING_ALL:
        return [op for _, op in sorted(keyed, key=itemgetter(0))]
    return [min(keyed, key=itemgetter(0))[1]]
