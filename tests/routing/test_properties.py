"""Property tests: random histories driven through :func:`decide`, invariants after each pass.

A :class:`World` is a tiny, honest caller: it keeps its own books (who holds which
conversation, which offers are pending and until when), runs a pass after every event,
applies the decisions the way the documented contract says, and checks the invariants
against its own books and an independent oracle (:func:`could_take`), not against the
policy's own helpers. Events: arrivals, presence changes, accepts, declines, time passing
(offers expire: timeouts), resolutions of assigned and of waiting conversations.

Then a drain: everyone comes online, time runs past every step, every offer is accepted and
every assigned conversation resolved, pass after pass. A task may still wait at the end only
if no member could ever take it (all who could declined it, or lack the skills the final step
asks for, or have no capacity for its weight): "every task ends assigned, overflowed or
resolved when capacity eventually frees", stated so that it is true.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox.domain.channels import ChannelKind
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.operators import Presence
from routing.policy import (
    CAPACITY_EPSILON,
    AnyMember,
    Assign,
    Decision,
    EscalationStep,
    LastOperator,
    Offer,
    OperatorState,
    Overflow,
    OverflowQueue,
    QueueConfig,
    QueueId,
    SkillAtLeast,
    Strategy,
    TaskState,
    Wait,
    WaitReason,
    decide,
    decide_until_full,
    from_json,
    on_accept,
    on_decline,
    on_timeout,
    service_order,
    to_json,
    weight_of,
)
from tests.routing.builders import T0

SKILLS = ("ru", "lenses")
KINDS = (ChannelKind("webchat"), ChannelKind("telegram"), ChannelKind("email"))


# -- the oracle --------------------------------------------------------------------------------


def oracle_step(queue: QueueConfig, task: TaskState, now: datetime) -> EscalationStep:
    """The step in force, restated from the docs: the latest step whose time has come;
    a last-operator step for a task with no last operator hands over to the next one."""
    steps = list(queue.escalation) or [EscalationStep(0, AnyMember())]
    elapsed = (now - task.entered_queue_at).total_seconds()
    index = max([i for i, s in enumerate(steps) if s.after_seconds <= elapsed], default=0)
    while (
        index + 1 < len(steps)
        and isinstance(steps[index].target, LastOperator)
        and task.last_operator_id is None
    ):
        index += 1
    return steps[index]


def fits_step(op: OperatorState, task: TaskState, step: EscalationStep) -> bool:
    target = step.target
    if isinstance(target, OverflowQueue):
        return False
    if isinstance(target, LastOperator):
        return op.id == task.last_operator_id
    if isinstance(target, SkillAtLeast):
        return all(op.skills.get(k, 0) >= v for k, v in target.skills.items())
    return True


def could_take(
    queue: QueueConfig, task: TaskState, op: OperatorState, now: datetime, load: float
) -> bool:
    """May ``op`` (with ``load``) be given ``task`` at ``now``? Online member, the queue's
    and the step's skills, has not refused it, holds no offer for it, has room."""
    return (
        op.id in queue.members
        and op.presence is Presence.ONLINE
        and all(op.skills.get(k, 0) >= v for k, v in queue.required_skills.items())
        and fits_step(op, task, oracle_step(queue, task, now))
        and op.id not in task.declined_by
        and op.id not in task.offered_to
        and load + weight_of(task.channel_kind) <= op.capacity + CAPACITY_EPSILON
    )


def rank(task: TaskState) -> tuple[int, datetime, str]:
    """Service order, restated: higher priority, then longest waiting, then id."""
    return (-task.priority, task.entered_queue_at, task.conversation_id)


# -- the world ---------------------------------------------------------------------------------


@dataclass
class World:
    queue: QueueConfig
    ops: dict[OperatorId, OperatorState]
    now: datetime = T0
    waiting: dict[ConversationId, TaskState] = field(default_factory=dict)
    #: conversation → (operator, weight) for assigned, still open conversations
    held: dict[ConversationId, tuple[OperatorId, float]] = field(default_factory=dict)
    #: conversation → operator → expiry of pending offers
    offers: dict[ConversationId, dict[OperatorId, datetime]] = field(default_factory=dict)
    #: conversation → last operator who served it (kept after resolution, for returns)
    served_by: dict[ConversationId, OperatorId] = field(default_factory=dict)
    outcome: dict[ConversationId, str] = field(default_factory=dict)
    counter: int = 0

    # books -------------------------------------------------------------------------------
    def load(self, op_id: OperatorId) -> float:
        held = sum(w for o, w in self.held.values() if o == op_id)
        offered = sum(
            weight_of(self.waiting[c].channel_kind)
            for c, by in self.offers.items()
            for o in by
            if o == op_id
        )
        return held + offered

    def snapshot(self) -> list[OperatorState]:
        return [dataclasses.replace(o, load=self.load(o.id)) for o in self.ops.values()]

    def check_books(self) -> None:
        for o in self.ops.values():
            assert self.load(o.id) <= o.capacity + CAPACITY_EPSILON, (o, self.load(o.id))
        for cid, by in self.offers.items():
            assert set(by) == set(self.waiting[cid].offered_to)

    # one pass ----------------------------------------------------------------------------
    def run_pass(self) -> list[Decision]:
        before = {o.id: o for o in self.snapshot()}
        tasks = list(self.waiting.values())
        decisions = decide(self.queue, tasks, list(before.values()), self.now)
        assert [d.task.conversation_id for d in decisions] == [
            t.conversation_id for t in sorted(tasks, key=rank)
        ]
        assert [t.conversation_id for t in service_order(tasks)] == [
            t.conversation_id for t in sorted(tasks, key=rank)
        ]
        # loads as the pass goes, from the books: each decision is checked at its turn
        loads = {o: before[o].load for o in before}
        for d in decisions:
            self.check_decision(d, before, loads)
        self.check_priority(decisions, before)
        for d in decisions:
            self.apply(d)
        self.check_books()
        self.check_no_idle_wait(decisions)
        return decisions

    def check_decision(
        self,
        d: Decision,
        before: dict[OperatorId, OperatorState],
        loads: dict[OperatorId, float],
    ) -> None:
        doc = to_json(d.explanation)
        assert from_json(json.loads(json.dumps(doc, allow_nan=False))) == d.explanation
        task = d.task
        weight = weight_of(task.channel_kind)
        step = oracle_step(self.queue, task, self.now)
        if isinstance(d, Overflow):
            assert isinstance(step.target, OverflowQueue)
            assert d.queue_id == step.target.queue_id
            return
        assert not isinstance(step.target, OverflowQueue)
        if isinstance(d, Assign | Offer):
            original = self.waiting[task.conversation_id]
            winners = [d.operator] if isinstance(d, Assign) else list(d.operators)
            assert winners
            pre = dict(loads)
            if self.queue.strategy is Strategy.RING_ALL:
                # ring-all offers every eligible operator at once
                assert {w.id for w in winners} == {
                    o.id
                    for o in before.values()
                    if could_take(self.queue, original, o, self.now, pre[o.id])
                }
            for w in winners:
                # eligible under the step in force, with the loads of the pass so far
                assert could_take(self.queue, original, before[w.id], self.now, pre[w.id])
                loads[w.id] += weight
                assert abs(w.load - loads[w.id]) < 1e-6
                assert w.load <= w.capacity + CAPACITY_EPSILON
        if isinstance(d, Wait) and d.reason is WaitReason.OFFER_PENDING:
            assert task.offered_to

    def check_priority(
        self, decisions: list[Decision], before: dict[OperatorId, OperatorState]
    ) -> None:
        """Higher priority first, then longest waiting: no operator was given a task while
        a task ranked above it, which ends the pass waiting, could have had that operator
        at that moment."""
        waited = [
            self.waiting[d.task.conversation_id]
            for d in decisions
            if isinstance(d, Wait)
            and not (d.task.offered_to and self.queue.strategy is not Strategy.RING_ALL)
        ]
        loads = {o: before[o].load for o in before}
        for d in decisions:
            if not isinstance(d, Assign | Offer):
                continue
            winners = [d.operator] if isinstance(d, Assign) else list(d.operators)
            for w in winners:
                for above in waited:
                    if rank(above) < rank(d.task):
                        assert not could_take(
                            self.queue, above, before[w.id], self.now, loads[w.id]
                        )
            for w in winners:
                loads[w.id] += weight_of(d.task.channel_kind)

    def check_no_idle_wait(self, decisions: list[Decision]) -> None:
        """No task waits while an eligible online operator has room and no offer for it is
        pending; in particular no lower-priority task took an operator a waiting,
        higher-priority one could have had (loads only grow within a pass)."""
        for d in decisions:
            if not isinstance(d, Wait):
                continue
            task = self.waiting[d.task.conversation_id]
            if task.offered_to and self.queue.strategy is not Strategy.RING_ALL:
                continue
            for o in self.ops.values():
                assert not could_take(self.queue, task, o, self.now, self.load(o.id)), (
                    task,
                    o,
                    self.load(o.id),
                )

    def apply(self, d: Decision) -> None:
        cid = d.task.conversation_id
        if isinstance(d, Assign):
            self.ops[d.operator.id] = d.operator
            del self.waiting[cid]
            self.held[cid] = (d.operator.id, weight_of(d.task.channel_kind))
            self.served_by[cid] = d.operator.id
            self.outcome[cid] = "assigned"
        elif isinstance(d, Offer):
            for o in d.operators:
                self.ops[o.id] = o
                self.offers.setdefault(cid, {})[o.id] = d.expires_at
            self.waiting[cid] = d.task
        elif isinstance(d, Overflow):
            del self.waiting[cid]
            withdrawn = self.offers.pop(cid, {})
            assert set(withdrawn) == set(d.task.offered_to)
            self.outcome[cid] = "overflowed"

    # events ------------------------------------------------------------------------------
    def arrive(self, kind: ChannelKind, priority: int, returning: int | None) -> None:
        self.counter += 1
        cid = ConversationId(f"c{self.counter}")
        last = None
        if returning is not None and self.served_by:
            last = sorted(self.served_by.values())[returning % len(self.served_by)]
        self.waiting[cid] = TaskState(cid, self.queue.id, kind, self.now, priority, last)

    def set_presence(self, pick: int, presence: Presence) -> None:
        op_id = sorted(self.ops)[pick % len(self.ops)]
        self.ops[op_id] = dataclasses.replace(self.ops[op_id], presence=presence)
        if presence is not Presence.ONLINE:  # pending offers to them time out
            for cid in [c for c, by in self.offers.items() if op_id in by]:
                self.refuse(cid, op_id, timeout=True)

    def pending(self) -> list[tuple[ConversationId, OperatorId]]:
        return sorted((c, o) for c, by in self.offers.items() for o in by)

    def refuse(self, cid: ConversationId, op_id: OperatorId, *, timeout: bool) -> None:
        task = self.waiting[cid]
        self.waiting[cid] = on_timeout(task, op_id) if timeout else on_decline(task, op_id)
        del self.offers[cid][op_id]
        if not self.offers[cid]:
            del self.offers[cid]

    def accept(self, pick: int) -> None:
        pending = self.pending()
        if not pending:
            return
        cid, op_id = pending[pick % len(pending)]
        task = self.waiting.pop(cid)
        withdrawn = on_accept(task, op_id)
        assert withdrawn == set(self.offers.pop(cid)) - {op_id}
        self.held[cid] = (op_id, weight_of(task.channel_kind))
        self.served_by[cid] = op_id
        self.outcome[cid] = "assigned"

    def decline(self, pick: int) -> None:
        pending = self.pending()
        if pending:
            cid, op_id = pending[pick % len(pending)]
            self.refuse(cid, op_id, timeout=False)

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        for cid, op_id in self.pending():
            if self.offers[cid][op_id] <= self.now:
                self.refuse(cid, op_id, timeout=True)

    def resolve_held(self, pick: int) -> None:
        if self.held:
            cid = sorted(self.held)[pick % len(self.held)]
            del self.held[cid]

    def resolve_waiting(self, pick: int) -> None:
        if self.waiting:
            cid = sorted(self.waiting)[pick % len(self.waiting)]
            del self.waiting[cid]
            self.offers.pop(cid, None)
            self.outcome[cid] = "resolved"


# -- generating worlds and histories ---------------------------------------------------------

skills_st = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 4), max_size=2)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    n = draw(st.integers(1, 5))
    ops = {}
    for i in range(n):
        oid = OperatorId(f"op{i}")
        ops[oid] = OperatorState(
            oid,
            draw(skills_st),
            draw(st.sampled_from([0.0, 0.5, 1.0, 1.0, 2.0, 2.0, 3.0])),
            0.0,
            draw(st.sampled_from([Presence.ONLINE, Presence.ONLINE, Presence.AWAY])),
        )
    # An all-round operator, so that the drain usually has somebody (who may still decline).
    ace = OperatorId("ace")
    ops[ace] = OperatorState(ace, dict.fromkeys(SKILLS, 10), 2.0, 0.0, Presence.ONLINE)
    members = draw(st.permutations(sorted(ops)))
    members = members[: draw(st.integers(1, len(members)))]
    strategy = draw(st.sampled_from(list(Strategy)))
    timeout = 30.0 if strategy is Strategy.RING_ALL else draw(st.sampled_from([None, 30.0]))
    steps: list[EscalationStep] = []
    t = 0.0
    for target in draw(
        st.lists(
            st.one_of(
                st.just(LastOperator()),
                st.builds(
                    SkillAtLeast,
                    st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 4), min_size=1),
                ),
                st.just(AnyMember()),
            ),
            max_size=3,
        )
    ):
        steps.append(EscalationStep(t, target))
        t += draw(st.sampled_from([30.0, 60.0, 120.0]))
    overflow: bool = draw(st.booleans())
    if steps and overflow:
        steps.append(EscalationStep(t, OverflowQueue(QueueId("overflow"))))
    queue = QueueConfig(
        QueueId("q"),
        "q",
        members=tuple(members),
        required_skills=draw(
            st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 2), max_size=1)
        ),
        strategy=strategy,
        accept_timeout_seconds=timeout,
        escalation=tuple(steps),
    )
    return World(queue, ops)


arrive_st = st.tuples(
    st.just("arrive"),
    st.sampled_from(KINDS),
    st.integers(0, 3),
    st.none() | st.integers(0, 9),
)
events_st = st.lists(
    st.one_of(
        arrive_st,
        arrive_st,  # arrivals twice as likely: queues should fill up
        st.tuples(
            st.just("presence"),
            st.integers(0, 9),
            st.sampled_from([Presence.ONLINE, Presence.ONLINE, Presence.AWAY, Presence.OFFLINE]),
        ),
        st.tuples(st.just("accept"), st.integers(0, 99)),
        st.tuples(st.just("decline"), st.integers(0, 99)),
        st.tuples(st.just("tick"), st.sampled_from([1.0, 10.0, 31.0, 65.0, 200.0])),
        st.tuples(st.just("resolve"), st.integers(0, 99)),
        st.tuples(st.just("leave"), st.integers(0, 99)),
    ),
    min_size=5,
    max_size=40,
)


def play(world: World, event: tuple[object, ...]) -> None:
    match event:
        case ("arrive", str(kind), int(priority), returning):
            world.arrive(
                ChannelKind(kind), priority, returning if isinstance(returning, int) else None
            )
        case ("presence", int(pick), Presence() as presence):
            world.set_presence(pick, presence)
        case ("accept", int(pick)):
            world.accept(pick)
        case ("decline", int(pick)):
            world.decline(pick)
        case ("tick", float(seconds)):
            world.tick(seconds)
        case ("resolve", int(pick)):
            world.resolve_held(pick)
        case ("leave", int(pick)):
            world.resolve_waiting(pick)
        case _:
            raise AssertionError(event)


def servable_ever(world: World, task: TaskState) -> bool:
    """Could anyone ever take ``task`` once everyone is online, free and time has run past
    every step, as long as nobody declines again?"""
    final = oracle_step(world.queue, task, world.now)
    return any(
        o.id in world.queue.members
        and all(o.skills.get(k, 0) >= v for k, v in world.queue.required_skills.items())
        and fits_step(o, task, final)
        and o.id not in task.declined_by
        and weight_of(task.channel_kind) <= o.capacity + CAPACITY_EPSILON
        for o in world.ops.values()
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=worlds(), events=events_st)
def test_random_histories_keep_the_invariants(
    world: World, events: list[tuple[object, ...]]
) -> None:
    world.run_pass()
    for event in events:
        play(world, event)
        world.run_pass()

    # Drain: capacity eventually frees and nobody refuses any more.
    for oid, o in list(world.ops.items()):
        world.ops[oid] = dataclasses.replace(o, presence=Presence.ONLINE)
    last_step = max((s.after_seconds for s in world.queue.escalation), default=0.0)
    world.now += timedelta(seconds=last_step + 1)
    for _ in range(len(world.waiting) + 3):
        world.run_pass()
        while world.pending():
            world.accept(0)
        world.held.clear()
        if not world.waiting:
            break
    for task in world.waiting.values():
        assert not servable_ever(world, task), task
    for cid in world.outcome:
        assert world.outcome[cid] in {"assigned", "overflowed", "resolved"}
    assert set(world.outcome) | set(world.waiting) == {
        ConversationId(f"c{i}") for i in range(1, world.counter + 1)
    }


@settings(max_examples=200, deadline=None)
@given(world=worlds(), events=events_st)
def test_a_pass_does_not_depend_on_the_order_of_its_inputs(
    world: World, events: list[tuple[object, ...]]
) -> None:
    for event in events:
        play(world, event)
        world.run_pass()
    tasks = list(world.waiting.values())
    ops = world.snapshot()
    a = decide(world.queue, tasks, ops, world.now)
    b = decide(world.queue, tasks[::-1], ops[::-1], world.now)
    assert a == b


@settings(max_examples=300, deadline=None)
@given(world=worlds(), events=events_st)
def test_deciding_until_full_is_a_prefix_of_deciding_all_and_the_rest_would_wait(
    world: World, events: list[tuple[object, ...]]
) -> None:
    """What the routing pass asks (decide_until_full) answers what decide answers for a
    prefix of the tasks in service order, and decide gives every task after it Wait.
    The last events are not followed by a pass, so that there is work to decide."""
    for n, event in enumerate(events):
        play(world, event)
        if n < len(events) - 3:
            world.run_pass()
    tasks = list(world.waiting.values())
    ops = world.snapshot()
    everything = decide(world.queue, tasks, ops, world.now)
    prefix, rest = decide_until_full(world.queue, tasks, ops, world.now)
    assert prefix == everything[: len(prefix)]
    assert [d.task for d in everything[len(prefix) :]] == rest
    assert all(isinstance(d, Wait) for d in everything[len(prefix) :])
    if any(isinstance(s.target, OverflowQueue) for s in world.queue.escalation):
        assert not rest
