"""Explanations as JSON, offer answers and priority rules."""

from __future__ import annotations

import json

import pytest

from inbox.domain.ids import OperatorId
from inbox.domain.operators import Presence
from routing.policy import (
    Assign,
    CustomerFacts,
    EscalationStep,
    HasTag,
    Offer,
    PriorityRule,
    ReturningCustomer,
    SkillAtLeast,
    Strategy,
    UnpaidOrder,
    Wait,
    decide,
    from_json,
    on_accept,
    on_decline,
    on_timeout,
    priority_of,
    to_json,
)
from tests.routing.builders import at, op, queue, task


def test_explanation_of_an_assignment_as_json() -> None:
    q = queue(
        ["ann", "bob", "cat", "dan", "eve", "gus"],
        skills={"ru": 1},
        steps=[EscalationStep(0, SkillAtLeast({"lenses": 3}))],
    )
    ops = [
        op("ann", skills={"ru": 1, "lenses": 3}, load=2, last=at(-100)),
        op("bob", skills={"ru": 1, "lenses": 4}, load=1, last=at(-30)),
        op("cat", skills={"ru": 1, "lenses": 5}, presence=Presence.AWAY),
        op("dan", skills={"lenses": 5}),
        op("eve", skills={"ru": 2, "lenses": 1}),
        op("gus", skills={"ru": 1, "lenses": 3}, load=3),
    ]
    (d,) = decide(q, [task("c1", entered=at(-45), priority=2)], ops, at(0))
    assert isinstance(d, Assign)
    doc = to_json(d.explanation)
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc
    assert doc == {
        "conversation": "c1",
        "queue": "q",
        "decided_at": "2026-01-01T09:00:00+00:00",
        "outcome": "assign",
        "strategy": "least_loaded",
        "step_index": 0,
        "step": "step 0 (from 0s): operators with lenses>=3",
        "waited_seconds": 45.0,
        "task_weight": 1.0,
        "priority": 2,
        "rule": "lowest load_ratio, then longest idle_seconds (null: never assigned, longest), "
        "then operator id",
        "winners": ["bob"],
        "winner_score": [["load_ratio", 1 / 3], ["idle_seconds", 30.0]],
        "candidates": [
            {"operator": "ann", "score": [["load_ratio", 2 / 3], ["idle_seconds", 100.0]]},
            {"operator": "bob", "score": [["load_ratio", 1 / 3], ["idle_seconds", 30.0]]},
            {"operator": "eve", "excluded": "step_skill", "detail": "lenses 1<3"},
            {"operator": "gus", "excluded": "no_capacity", "detail": "3+1>3"},
            # the pass-wide exclusions come last
            {"operator": "cat", "excluded": "not_online", "detail": "away"},
            {"operator": "dan", "excluded": "missing_skill", "detail": "ru 0<1"},
        ],
    }
    assert from_json(doc) == d.explanation


@pytest.mark.parametrize("strategy", list(Strategy))
def test_every_outcome_round_trips(strategy: Strategy) -> None:
    q = queue(["a", "b"], strategy=strategy, timeout=30)
    ops = [op("a"), op("b", last=at(-5), rr=1)]
    tasks = [task("t1"), task("t2", offered=["a"]), task("t3", declined=["a", "b"])]
    for d in decide(q, tasks, ops, at(1)):
        doc = to_json(d.explanation)
        json.dumps(doc, allow_nan=False)
        assert from_json(json.loads(json.dumps(doc))) == d.explanation


def test_wait_explains_every_exclusion() -> None:
    q = queue(["a", "b", "ghost"], timeout=30, strategy=Strategy.RING_ALL)
    (d,) = decide(q, [task("t", declined=["a"], offered=["b"])], [op("a"), op("b")], at(1))
    assert isinstance(d, Wait)
    assert [(n.operator_id, n.excluded) for n in d.explanation.candidates] == [
        ("a", "declined"),
        ("b", "offer_pending"),
        ("ghost", "unknown"),
    ]
    assert d.explanation.winners == ()
    assert d.explanation.winner_score is None


def test_decline_and_timeout_move_the_offer_on() -> None:
    q = queue(["a", "b"], timeout=30)
    (d,) = decide(q, [task("t")], [op("a"), op("b", load=1)], at(0))
    assert isinstance(d, Offer)
    assert d.operators[0].id == "a"
    declined = on_decline(d.task, OperatorId("a"))
    assert declined.offered_to == frozenset()
    assert declined.declined_by == {OperatorId("a")}
    (d2,) = decide(q, [declined], [op("a"), op("b", load=1)], at(5))
    assert isinstance(d2, Offer)
    assert d2.operators[0].id == "b"
    timed_out = on_timeout(d2.task, OperatorId("b"))
    assert timed_out.declined_by == {OperatorId("a"), OperatorId("b")}
    (d3,) = decide(q, [timed_out], [op("a"), op("b")], at(40))
    assert isinstance(d3, Wait)
    with pytest.raises(ValueError, match="no offer"):
        on_decline(timed_out, OperatorId("b"))


def test_accept_withdraws_the_other_ring_all_offers() -> None:
    t = task("t", offered=["a", "b", "c"])
    assert on_accept(t, OperatorId("b")) == {OperatorId("a"), OperatorId("c")}
    with pytest.raises(ValueError, match="no offer"):
        on_accept(t, OperatorId("z"))


def test_released_reservation_never_goes_negative() -> None:
    assert op("a", load=0.5).with_load(-1).load == 0


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (CustomerFacts(), 0),
        (CustomerFacts(returning=True), 1),
        (CustomerFacts(unpaid_order=True), 5),
        (CustomerFacts(tags=frozenset({"vip"})), 10),
        (CustomerFacts(tags=frozenset({"wholesale"})), -2),
        (CustomerFacts(True, True, frozenset({"vip", "other"})), 16),
    ],
)
def test_priority_rules_add_up(facts: CustomerFacts, expected: int) -> None:
    rules: list[PriorityRule] = [
        ReturningCustomer(1),
        UnpaidOrder(5),
        HasTag("vip", 10),
        HasTag("wholesale", -2),
    ]
    assert priority_of(rules, facts) == expected
    assert priority_of(rules, facts, base=3) == expected + 3
    assert priority_of([], facts) == 0
