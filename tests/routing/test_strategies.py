"""Decision tables: each strategy's choice for one task, and how a pass spreads several."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from inbox.domain.channels import ChannelKind
from inbox.domain.ids import OperatorId
from inbox.domain.operators import Presence
from routing.policy import (
    Assign,
    Decision,
    EscalationStep,
    Offer,
    OperatorState,
    OverflowQueue,
    QueueId,
    Strategy,
    Wait,
    WaitReason,
    decide,
    eligible_operators,
)
from tests.routing.builders import T0, at, op, queue, task

LL, LI, RR, RA = (
    Strategy.LEAST_LOADED,
    Strategy.LONGEST_IDLE,
    Strategy.ROUND_ROBIN,
    Strategy.RING_ALL,
)


def winner(decisions: list[Decision]) -> str | None:
    (d,) = decisions
    if isinstance(d, Assign):
        return d.operator.id
    assert isinstance(d, Wait)
    return None


@pytest.mark.parametrize(
    ("strategy", "operators", "expected"),
    [
        # least loaded: lowest load/capacity, then longest idle, then id
        (LL, [], None),
        (LL, [op("a", presence=Presence.AWAY)], None),
        (LL, [op("a", presence=Presence.OFFLINE)], None),
        (LL, [op("a", load=3, cap=3)], None),
        (LL, [op("a", load=2.5, cap=3)], None),  # a chat weighs 1, 0.5 is left
        (LL, [op("a", cap=0)], None),
        (LL, [op("a", load=2), op("b", load=1)], "b"),
        (LL, [op("a", load=2, cap=6), op("b", load=1, cap=2)], "a"),  # ratio, not load
        (LL, [op("a", load=1, last=at(-10)), op("b", load=1, last=at(-60))], "b"),
        (LL, [op("a", load=1, last=at(-10)), op("b", load=1)], "b"),  # never = longest idle
        (LL, [op("b"), op("a")], "a"),
        # longest idle: oldest last assignment, never first, then load ratio, then id
        (LI, [op("a", load=0, last=at(-10)), op("b", load=2, last=at(-60))], "b"),
        (LI, [op("a", load=0, last=at(-10)), op("b", load=2)], "b"),
        (LI, [op("a", load=2), op("b", load=1)], "b"),
        (LI, [op("a", last=at(-60), load=3, cap=3), op("b", last=at(-10))], "b"),
        (LI, [op("b"), op("a")], "a"),
        # round robin: next member after the one with the highest rr_turn
        (RR, [op("a"), op("b"), op("c")], "a"),
        (RR, [op("a", rr=1), op("b"), op("c")], "b"),
        (RR, [op("a", rr=1), op("b", rr=2), op("c")], "c"),
        (RR, [op("a", rr=4), op("b", rr=2), op("c", rr=3)], "b"),  # after a: wrap to b
        (RR, [op("a", rr=1), op("b", presence=Presence.AWAY), op("c")], "c"),
        (RR, [op("a", rr=1), op("b", load=3, cap=3), op("c", load=3, cap=3)], "a"),
    ],
)
def test_strategy_picks(
    strategy: Strategy, operators: list[OperatorState], expected: str | None
) -> None:
    q = queue(["a", "b", "c"], strategy=strategy)
    assert winner(decide(q, [task("t")], operators, at(5))) == expected
    assert winner(decide(q, [task("t")], list(reversed(operators)), at(5))) == expected


def test_round_robin_cycles_over_passes_in_member_order() -> None:
    q = queue(["c", "a", "b"], strategy=RR)
    states = {o.id: o for o in [op("a", cap=9), op("b", cap=9), op("c", cap=9)]}
    got = []
    for i in range(7):
        (d,) = decide(q, [task(f"t{i}")], list(states.values()), at(i))
        assert isinstance(d, Assign)
        states[d.operator.id] = d.operator
        got.append(d.operator.id)
    assert got == ["c", "a", "b", "c", "a", "b", "c"]


def test_round_robin_within_one_pass() -> None:
    q = queue(["a", "b", "c"], strategy=RR)
    ds = decide(
        q, [task(f"t{i}", entered=at(i)) for i in range(4)], [op("a"), op("b"), op("c")], at(9)
    )
    assert [d.operator.id for d in ds if isinstance(d, Assign)] == ["a", "b", "c", "a"]
    assert [d.operator.rr_turn for d in ds if isinstance(d, Assign)] == [1, 2, 3, 4]


def test_least_loaded_pass_carries_loads_and_never_exceeds_capacity() -> None:
    q = queue(["a", "b"])
    tasks = [task(f"t{i}", entered=at(i)) for i in range(5)]
    ds = decide(q, tasks, [op("a", cap=2), op("b", cap=2, load=1)], at(60))
    assigned = [d.operator.id if isinstance(d, Assign) else None for d in ds]
    # a (0/2) → a (1/2) ties b (1/2) on ratio, b never assigned → b; then a; both full.
    assert assigned == ["a", "b", "a", None, None]
    assert all(d.reason is WaitReason.NO_ELIGIBLE_OPERATOR for d in ds if isinstance(d, Wait))


def test_channel_weights_let_an_email_fit_where_a_chat_does_not() -> None:
    q = queue(["a"])
    tasks = [task("chat", entered=at(0)), task("mail", entered=at(1), kind=ChannelKind("email"))]
    ds = decide(q, tasks, [op("a", cap=2, load=1.5)], at(9))
    assert [type(d) for d in ds] == [Wait, Assign]
    weights = {ChannelKind("webchat"): 0.5}
    ds = decide(q, tasks, [op("a", cap=2, load=1.5)], at(9), weights=weights)
    assert [type(d) for d in ds] == [Assign, Wait]  # email falls back to 1.0


def test_priority_first_then_longest_waiting() -> None:
    q = queue(["a"])
    tasks = [
        task("old", entered=at(0)),
        task("vip", entered=at(30), priority=5),
        task("new", entered=at(20)),
    ]
    ds = decide(q, tasks, [op("a", cap=2)], at(60))
    assert [d.task.conversation_id for d in ds] == ["vip", "old", "new"]
    assert [type(d) for d in ds] == [Assign, Assign, Wait]


def test_declined_and_unknown_members_are_excluded() -> None:
    q = queue(["a", "b", "ghost"])
    (d,) = decide(q, [task("t", declined=["a"])], [op("a"), op("b", load=2)], at(1))
    assert isinstance(d, Assign)
    assert d.operator.id == "b"
    (d,) = decide(q, [task("t", declined=["a", "b"])], [op("a"), op("b")], at(1))
    assert isinstance(d, Wait)


def test_non_members_are_ignored_and_queue_skills_required() -> None:
    q = queue(["a", "b"], skills={"lenses": 2})
    ops = [op("a", skills={"lenses": 1}), op("b", skills={"lenses": 2}, load=2), op("z")]
    (d,) = decide(q, [task("t")], ops, at(1))
    assert isinstance(d, Assign)
    assert d.operator.id == "b"


def test_direct_assignment_updates_the_operator() -> None:
    (d,) = decide(queue(["a"]), [task("t")], [op("a", load=1)], at(7))
    assert isinstance(d, Assign)
    assert d.operator == op("a", load=2, last=at(7))


def test_offer_reserves_capacity_and_expires_after_the_timeout() -> None:
    q = queue(["a", "b"], timeout=30)
    ds = decide(q, [task("t1"), task("t2", entered=at(1))], [op("a", cap=1), op("b", cap=1)], at(5))
    assert all(isinstance(d, Offer) for d in ds)
    offers = [d for d in ds if isinstance(d, Offer)]
    assert [[o.id for o in d.operators] for d in offers] == [["a"], ["b"]]
    assert offers[0].expires_at == at(35)
    assert offers[0].task.offered_to == {OperatorId("a")}
    assert offers[0].operators[0].load == 1


def test_pending_offer_waits_for_its_answer() -> None:
    q = queue(["a", "b"], timeout=30)
    (d,) = decide(q, [task("t", offered=["a"])], [op("a", load=1), op("b")], at(5))
    assert isinstance(d, Wait)
    assert d.reason is WaitReason.OFFER_PENDING


def test_ring_all_offers_everyone_eligible_at_once() -> None:
    q = queue(["a", "b", "c"], strategy=RA, timeout=20)
    ops = [op("a", load=1), op("b"), op("c", presence=Presence.AWAY)]
    (d,) = decide(q, [task("t")], ops, at(5))
    assert isinstance(d, Offer)
    assert [o.id for o in d.operators] == ["b", "a"]  # least loaded first
    assert [o.load for o in d.operators] == [1, 2]
    assert d.expires_at == at(25)


def test_ring_all_extends_a_pending_offer_to_newly_eligible_operators() -> None:
    q = queue(["a", "b", "c"], strategy=RA, timeout=20)
    t = task("t", offered=["a", "b"])
    ops = [op("a", load=1), op("b", load=1), op("c")]
    (d,) = decide(q, [t], ops, at(5))
    assert isinstance(d, Offer)
    assert [o.id for o in d.operators] == ["c"]
    assert d.task.offered_to == {OperatorId("a"), OperatorId("b"), OperatorId("c")}
    (d,) = decide(q, [t], ops[:2], at(5))
    assert isinstance(d, Wait)
    assert d.reason is WaitReason.OFFER_PENDING


def test_longest_idle_spreads_a_pass() -> None:
    q = queue(["a", "b", "c"], strategy=LI)
    ops = [op("a", last=at(-5)), op("b", last=at(-50)), op("c", last=at(-20))]
    ds = decide(q, [task(f"t{i}", entered=at(i)) for i in range(4)], ops, at(9))
    # All three were just assigned at the same instant: the ratio, then the id decides.
    assert [d.operator.id for d in ds if isinstance(d, Assign)] == ["b", "c", "a", "a"]


def test_inputs_are_validated() -> None:
    q = queue(["a"])
    with pytest.raises(ValueError, match="listed twice"):
        decide(q, [task("t")], [op("a"), op("a")], T0)
    with pytest.raises(ValueError, match="queue"):
        decide(q, [dataclasses.replace(task("t"), queue_id=QueueId("elsewhere"))], [op("a")], T0)
    with pytest.raises(ValueError, match="positive"):
        decide(q, [task("t")], [op("a")], T0, weights={ChannelKind("email"): 0})
    assert decide(q, [], [], T0 + timedelta(days=1)) == []


def test_eligible_operators_are_what_ring_all_offers() -> None:
    q = queue(["a", "b", "c", "d"], strategy=RA, timeout=20, skills={"ru": 1})
    ops = [
        op("a", skills={"ru": 1}),
        op("b", skills={"ru": 2}, load=3),
        op("c"),
        op("d", skills={"ru": 1}, load=2.5),
    ]
    mail = task("t", kind=ChannelKind("email"))
    assert [o.id for o in eligible_operators(q, mail, ops, at(1))] == ["a", "d"]
    (d,) = decide(q, [mail], ops, at(1))
    assert isinstance(d, Offer)
    assert {o.id for o in d.operators} == {"a", "d"}
    chat = task("t")
    assert [o.id for o in eligible_operators(q, chat, ops, at(1))] == ["a"]
    overflow = queue(["a"], steps=[EscalationStep(0, OverflowQueue(QueueId("x")))])
    assert eligible_operators(overflow, chat, ops, at(1)) == []
