"""Decision tables for escalation: the step in force, when the next starts, who is eligible."""

from __future__ import annotations

from datetime import datetime

import pytest

from inbox.domain.ids import OperatorId
from routing.policy import (
    AnyMember,
    Assign,
    EscalationStep,
    LastOperator,
    Overflow,
    OverflowQueue,
    QueueConfig,
    QueueId,
    SkillAtLeast,
    SlaTarget,
    Strategy,
    Wait,
    decide,
    next_step_at,
    step_in_force,
)
from tests.routing.builders import at, op, queue, task

STEPS = (
    EscalationStep(0, LastOperator()),
    EscalationStep(60, SkillAtLeast({"lenses": 3})),
    EscalationStep(120, AnyMember()),
    EscalationStep(300, OverflowQueue(QueueId("overflow"))),
)
Q = queue(["ann", "bob", "cat"], steps=STEPS)
OPS = [
    op("ann", skills={"lenses": 1}, load=2),
    op("bob", skills={"lenses": 3}, load=1),
    op("cat", skills={"lenses": 5}, load=2),
]


@pytest.mark.parametrize(
    ("seconds", "last_op", "index", "next_at"),
    [
        (0, "ann", 0, at(60)),
        (59.9, "ann", 0, at(60)),
        (60, "ann", 1, at(120)),
        (119, "ann", 1, at(120)),
        (120, "ann", 2, at(300)),
        (299, "ann", 2, at(300)),
        (300, "ann", 3, None),
        (10_000, "ann", 3, None),
        (-5, "ann", 0, at(60)),  # clock skew: the first step
        (0, None, 1, at(120)),  # no last operator: that step is skipped at once
        (61, None, 1, at(120)),
    ],
)
def test_step_in_force(
    seconds: float, last_op: str | None, index: int, next_at: datetime | None
) -> None:
    t = task("t", last_op=last_op)
    active = step_in_force(Q, t, at(seconds))
    assert active.index == index
    assert active.step is STEPS[index]
    assert active.next_at == next_at
    assert next_step_at(Q, t, at(seconds)) == next_at


@pytest.mark.parametrize(
    ("seconds", "last_op", "expected"),
    [
        (0, "ann", "ann"),  # the last operator, though others are less loaded
        (30, "dan", None),  # the last operator is not a member: wait for the next step
        (60, "ann", "bob"),  # lenses >= 3: bob (1/3) beats cat (2/3)
        (0, None, "bob"),
        (120, "ann", "bob"),  # anyone: least loaded
        (300, "ann", "overflow"),
    ],
)
def test_who_gets_the_task_as_it_escalates(
    seconds: float, last_op: str | None, expected: str | None
) -> None:
    (d,) = decide(Q, [task("t", last_op=last_op)], OPS, at(seconds))
    match d:
        case Assign(operator=o):
            assert o.id == expected
        case Overflow(queue_id=q):
            assert q == expected
        case Wait():
            assert expected is None
        case _:
            pytest.fail(f"unexpected {d}")


def test_skill_step_excludes_the_unskilled_even_when_they_are_free() -> None:
    ops = [op("ann", skills={"lenses": 2}), op("bob", skills={"lenses": 3}, load=3, cap=3)]
    (d,) = decide(Q, [task("t")], ops, at(61))
    assert isinstance(d, Wait)
    notes = {n.operator_id: (n.excluded, n.detail) for n in d.explanation.candidates}
    assert notes[OperatorId("ann")] == ("step_skill", "lenses 2<3")
    assert notes[OperatorId("bob")] == ("no_capacity", "3+1>3")


def test_overflow_wins_over_a_free_operator() -> None:
    (d,) = decide(Q, [task("t")], [op("bob", skills={"lenses": 9})], at(301))
    assert isinstance(d, Overflow)
    moved = d.task.moved_to(d.queue_id, at(301))
    assert moved.queue_id == "overflow"
    assert moved.entered_queue_at == at(301)


def test_no_steps_means_any_member_from_the_start() -> None:
    q = queue(["a"])
    assert isinstance(step_in_force(q, task("t"), at(0)).step.target, AnyMember)
    assert next_step_at(q, task("t"), at(0)) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"members": ("a", "a")}, "twice"),
        ({"required_skills": {"x": 11}}, r"1\.\.10"),
        ({"accept_timeout_seconds": 0}, "positive"),
        ({"strategy": Strategy.RING_ALL}, "accept timeout"),
        ({"escalation": (EscalationStep(5, AnyMember()),)}, "start at 0"),
        (
            {"escalation": (EscalationStep(0, AnyMember()), EscalationStep(0, LastOperator()))},
            "increase",
        ),
        ({"escalation": (EscalationStep(0, OverflowQueue(QueueId("q"))),)}, "itself"),
    ],
)
def test_bad_queue_configurations(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QueueConfig(QueueId("q"), "q", **kwargs)  # type: ignore[arg-type]


def test_bad_steps() -> None:
    with pytest.raises(ValueError, match="at least one"):
        SkillAtLeast({})
    with pytest.raises(ValueError, match=r"1\.\.10"):
        SkillAtLeast({"x": 0})
    with pytest.raises(ValueError, match=">= 0"):
        EscalationStep(-1, AnyMember())


def test_sla_for_priority_takes_the_nearest_target_at_or_below() -> None:
    normal, vip = SlaTarget(300, 86_400), SlaTarget(60, 3_600)
    q = QueueConfig(QueueId("q"), "q", sla={0: normal, 10: vip})
    assert q.sla_for(0) is normal
    assert q.sla_for(9) is normal
    assert q.sla_for(10) is vip
    assert q.sla_for(50) is vip
    assert q.sla_for(-1) is None
