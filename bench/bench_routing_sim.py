"""A discrete-event simulation of a contact centre driven by the real routing policy.

Poisson arrivals, exponential handling times, operators with skills and capacity; a heap
of events on a virtual clock (float seconds, turned into datetimes for the policy; never
the wall clock, no sleeping). After every event that can change a routing decision (an
arrival, a completion, an escalation step's boundary, an offer's answer or expiry) the
queues concerned get a routing pass with :func:`routing.policy.decide` over their
waiting tasks and the operators' current :class:`~routing.policy.OperatorState` (load: the
weights of their open conversations plus pending offers). ``Assign`` makes the operator
busy until ``now + handling time``; ``Offer`` reserves the weight until the operator
answers (:func:`~routing.policy.on_accept`, :func:`~routing.policy.on_decline`) or the
offer expires (:func:`~routing.policy.on_timeout`); ``Overflow`` moves the task; ``Wait``
keeps it (a timer wakes it at its next escalation step).

Scenarios:

- **erlang**: one queue, ``c`` operators of capacity 1, web chat only, least loaded,
  direct assignment: an M/M/c queue, so the measured mean wait must match Erlang C.
- **skills**: three skills, three queues, operators with subsets of skills at levels 1-5
  (experts handle faster); the skill router (queue skill >= 3 for 30 s, then any member
  with the skill) against plain round robin over the same arrivals.
- **rate**: 500 online operators, decisions per second and latency of one arriving task.

    python -m bench.bench_routing_sim [--small] [--seed N] [--scenario all|erlang|skills|rate]
"""

from __future__ import annotations

import argparse
import heapq
import math
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from inbox.domain.channels import ChannelKind
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.operators import Presence
from routing.policy import (
    DEFAULT_WEIGHTS,
    AnyMember,
    Assign,
    ChannelWeights,
    EscalationStep,
    Offer,
    OperatorState,
    Overflow,
    QueueConfig,
    QueueId,
    SkillAtLeast,
    Strategy,
    TaskState,
    Wait,
    decide,
    next_step_at,
    on_accept,
    on_decline,
    on_timeout,
    to_json,
    weight_of,
)

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def at(seconds: float) -> datetime:
    """The virtual clock: ``seconds`` after :data:`EPOCH`, to the microsecond."""
    return EPOCH + timedelta(microseconds=round(seconds * 1e6))


def seconds_of(moment: datetime) -> float:
    """The inverse of :func:`at` (exact for the datetimes it returns)."""
    return (moment - EPOCH) // _MICROSECOND / 1e6


# -- queueing theory -----------------------------------------------------------------------


def erlang_b(servers: int, offered: float) -> float:
    """Erlang B blocking probability for ``offered`` Erlangs on ``servers`` servers, by
    the recurrence B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)) (stable: no factorials)."""
    if servers < 0 or offered < 0:
        raise ValueError("servers and offered load must be >= 0")
    b = 1.0
    for k in range(1, servers + 1):
        b = offered * b / (k + offered * b)
    return b


def erlang_c(servers: int, offered: float) -> float:
    """Erlang C: the probability that an arrival waits in an M/M/c queue with ``offered``
    Erlangs (a = lambda/mu) and ``servers`` servers; C = B / (1 - rho (1 - B)). Needs
    rho = a/c < 1."""
    if servers < 1 or not 0 <= offered < servers:
        raise ValueError("Erlang C needs 0 <= offered load < servers")
    b = erlang_b(servers, offered)
    rho = offered / servers
    return b / (1 - rho * (1 - b))


def erlang_c_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """The mean wait in queue of M/M/c: Wq = C / (c mu - lambda)."""
    c = erlang_c(servers, arrival_rate / service_rate)
    return c / (servers * service_rate - arrival_rate)


# -- the model -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    """An operator as the simulation keeps them: always online."""

    id: OperatorId
    skills: Mapping[str, int]
    capacity: float


@dataclass(frozen=True, slots=True)
class Arrival:
    """One conversation: when it arrives, where, on which channel, and its work, a unit
    exponential sample that the handling-time model scales (so two routers compared over
    the same arrivals face the same randomness)."""

    time: float
    queue_id: QueueId
    kind: ChannelKind
    work: float


#: The handling time of an arrival by an operator in a queue, in seconds.
HandlingTime = Callable[[Arrival, OperatorSpec, QueueConfig], float]


def poisson_arrivals(
    rng: random.Random,
    count: int,
    rates: Mapping[QueueId, float],
    kinds: Sequence[tuple[ChannelKind, float]] = ((ChannelKind("webchat"), 1.0),),
) -> list[Arrival]:
    """``count`` arrivals of independent Poisson streams (``rates`` per second per
    queue), merged: exponential gaps at the total rate, each arrival's queue drawn in
    proportion to the rates; the channel kind drawn from ``kinds`` (kind, share)."""
    queues = list(rates)
    shares = [rates[q] for q in queues]
    total = sum(shares)
    kind_names = [k for k, _ in kinds]
    kind_shares = [s for _, s in kinds]
    out: list[Arrival] = []
    t = 0.0
    expovariate, choices = rng.expovariate, rng.choices
    for _ in range(count):
        t += expovariate(total)
        queue = queues[0] if len(queues) == 1 else choices(queues, shares)[0]
        kind = kind_names[0] if len(kind_names) == 1 else choices(kind_names, kind_shares)[0]
        out.append(Arrival(t, queue, kind, expovariate(1.0)))
    return out


@dataclass(slots=True)
class SimResult:
    """What one run measured. Waits are those of the arrivals after the warm-up."""

    name: str
    arrivals: int  # all arrivals
    measured: int  # arrivals after the warm-up
    served: int  # all arrivals assigned (or accepted) by the end
    waits: list[float]
    occupancy: float  # busy capacity-time / total capacity-time, after the warm-up
    peak_excess: float  # the largest load - capacity seen after any decision or event
    passes: int
    decisions: int
    assignments: Counter[tuple[QueueId, OperatorId]] = field(default_factory=Counter)
    overflows: int = 0
    refusals: int = 0  # declines and timeouts
    #: With ``simulate(record=True)``: (queue, operator, wait) of every arrival served.
    log: list[tuple[QueueId, OperatorId, float]] = field(default_factory=list)

    @property
    def unserved(self) -> int:
        return self.arrivals - self.served

    @property
    def mean_wait(self) -> float:
        return sum(self.waits) / len(self.waits) if self.waits else 0.0

    @property
    def p90_wait(self) -> float:
        return percentile(self.waits, 0.9)

    def within(self, limit: float) -> float:
        """The share of measured arrivals answered within ``limit`` seconds."""
        if not self.waits:
            return 0.0
        return sum(1 for w in self.waits if w <= limit) / len(self.waits)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by the nearest-rank method; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def combine(name: str, runs: Sequence[SimResult]) -> SimResult:
    """Replications pooled into one result (waits concatenated; occupancy averaged)."""
    out = SimResult(
        name=name,
        arrivals=sum(r.arrivals for r in runs),
        measured=sum(r.measured for r in runs),
        served=sum(r.served for r in runs),
        waits=[w for r in runs for w in r.waits],
        occupancy=statistics.fmean(r.occupancy for r in runs) if runs else 0.0,
        peak_excess=max((r.peak_excess for r in runs), default=0.0),
        passes=sum(r.passes for r in runs),
        decisions=sum(r.decisions for r in runs),
        overflows=sum(r.overflows for r in runs),
        refusals=sum(r.refusals for r in runs),
    )
    for r in runs:
        out.assignments.update(r.assignments)
    return out


# Event kinds, in the order simultaneous events are handled (then by insertion).
_ARRIVAL, _COMPLETE, _STEP, _ANSWER, _EXPIRE = range(5)


def simulate(
    name: str,
    queues: Sequence[QueueConfig],
    operators: Sequence[OperatorSpec],
    arrivals: Sequence[Arrival],
    handling: HandlingTime,
    *,
    warmup: int = 0,
    seed: int = 0,
    accept_delay: float = 5.0,
    decline_share: float = 0.0,
    weights: ChannelWeights = DEFAULT_WEIGHTS,
    record: bool = False,
) -> SimResult:
    """Run ``arrivals`` (in time order) through ``queues`` until every event is handled
    (all arrivals served, unless some task can never be: every member refused it).

    Queues with an accept timeout offer: each operator offered a task answers after an
    exponential delay of mean ``accept_delay`` seconds, declining with probability
    ``decline_share``, or lets the offer expire when the delay exceeds the timeout (the
    answers draw from ``random.Random(seed)``). ``warmup``: the first arrivals, whose
    waits are not measured; occupancy is measured from the first measured arrival to the
    last arrival. ``record``: keep every service in :attr:`SimResult.log`.
    """
    by_queue = {q.id: q for q in queues}
    spec = {o.id: o for o in operators}
    rng = random.Random(seed)
    open_load = dict.fromkeys(spec, 0.0)
    reserved = dict.fromkeys(spec, 0.0)
    last: dict[OperatorId, datetime | None] = dict.fromkeys(spec)
    turns: dict[tuple[QueueId, OperatorId], int] = {}
    member_of: dict[OperatorId, list[QueueId]] = {o: [] for o in spec}
    for q in queues:
        for m in q.members:
            if m in spec:
                member_of[m].append(q.id)
    members = {q.id: [m for m in q.members if m in spec] for q in queues}
    # Each member's OperatorState per queue, built again only after it changed.
    current: dict[tuple[QueueId, OperatorId], OperatorState] = {}

    def changed(op: OperatorId) -> None:
        for q in member_of[op]:
            current.pop((q, op), None)

    waiting: dict[QueueId, dict[ConversationId, TaskState]] = {q.id: {} for q in queues}
    where: dict[ConversationId, QueueId] = {}
    arrival_of: dict[ConversationId, int] = {}
    step_timers: set[tuple[ConversationId, float]] = set()
    result = SimResult(name, len(arrivals), max(0, len(arrivals) - warmup), 0, [], 0.0, 0.0, 0, 0)

    events: list[tuple[float, int, int, object]] = []
    seq = 0

    def push(t: float, kind: int, payload: object) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, kind, seq, payload))

    if arrivals:  # each arrival schedules the next: the heap stays small
        push(arrivals[0].time, _ARRIVAL, 0)

    window_start = arrivals[warmup].time if warmup < len(arrivals) else math.inf
    window_end = arrivals[-1].time if arrivals else 0.0
    busy = 0.0  # integral of the open load over the window
    total_open = 0.0
    clock = 0.0

    def excess(op: OperatorId) -> None:
        over = open_load[op] + reserved[op] - spec[op].capacity
        if over > result.peak_excess:
            result.peak_excess = over

    def served(conv: ConversationId, t: float, op: OperatorId, weight: float) -> None:
        nonlocal total_open
        index = arrival_of.pop(conv)
        queue_id = where.pop(conv)
        del waiting[queue_id][conv]
        arrival = arrivals[index]
        result.served += 1
        result.assignments[queue_id, op] += 1
        if index >= warmup:
            result.waits.append(t - arrival.time)
        if record:
            result.log.append((queue_id, op, t - arrival.time))
        open_load[op] += weight
        total_open += weight
        changed(op)
        excess(op)
        handle = handling(arrival, spec[op], by_queue[queue_id])
        push(t + handle, _COMPLETE, (op, weight))

    def release(op: OperatorId, weight: float) -> None:
        reserved[op] = max(0.0, reserved[op] - weight)
        changed(op)

    def routing_pass(queue_id: QueueId, t: float) -> None:
        tasks = waiting[queue_id]
        if not tasks:
            return
        queue = by_queue[queue_id]
        now = at(t)
        states = []
        for m in members[queue_id]:
            st = current.get((queue_id, m))
            if st is None:
                st = current[queue_id, m] = OperatorState(
                    m,
                    spec[m].skills,
                    spec[m].capacity,
                    open_load[m] + reserved[m],
                    Presence.ONLINE,
                    last[m],
                    turns.get((queue_id, m), 0),
                )
            states.append(st)
        decisions = decide(queue, list(tasks.values()), states, now, weights=weights)
        stepped = len(queue.steps) > 1  # else no step ever follows
        result.passes += 1
        result.decisions += len(decisions)
        for d in decisions:
            conv = d.task.conversation_id
            weight = weight_of(d.task.channel_kind, weights)
            if isinstance(d, Assign):
                op = d.operator.id
                last[op] = d.operator.last_assigned_at
                turns[queue_id, op] = d.operator.rr_turn
                served(conv, t, op, weight)  # (invalidates the cached state)
            elif isinstance(d, Offer):
                tasks[conv] = d.task
                timeout = queue.accept_timeout_seconds or 0.0
                for st in d.operators:
                    op = st.id
                    reserved[op] += weight
                    last[op] = st.last_assigned_at
                    turns[queue_id, op] = st.rr_turn
                    changed(op)
                    excess(op)
                    delay = rng.expovariate(1.0 / accept_delay)
                    if delay < timeout:
                        push(t + delay, _ANSWER, (conv, op, rng.random() >= decline_share))
                    else:
                        push(seconds_of(d.expires_at), _EXPIRE, (conv, op, False))
            elif isinstance(d, Overflow):
                result.overflows += 1
                for op in d.task.offered_to:
                    release(op, weight)
                del tasks[conv]
                moved = d.task.moved_to(d.queue_id, now)
                waiting[d.queue_id][conv] = moved
                where[conv] = d.queue_id
                dirty.add(d.queue_id)
            else:
                assert isinstance(d, Wait)
            if stepped and isinstance(d, Wait | Offer) and conv in tasks:
                following = next_step_at(queue, tasks[conv], now)
                if following is not None:
                    when = seconds_of(following)
                    if when > t and (conv, when) not in step_timers:
                        step_timers.add((conv, when))
                        push(when, _STEP, conv)

    dirty: set[QueueId] = set()
    while events:
        t, kind, _, payload = heapq.heappop(events)
        lo, hi = max(clock, window_start), min(t, window_end)
        if hi > lo:
            busy += total_open * (hi - lo)
        clock = t
        dirty.clear()
        if kind == _ARRIVAL:
            assert isinstance(payload, int)
            a = arrivals[payload]
            if payload + 1 < len(arrivals):
                push(arrivals[payload + 1].time, _ARRIVAL, payload + 1)
            conv = ConversationId(f"c{payload}")
            waiting[a.queue_id][conv] = TaskState(conv, a.queue_id, a.kind, at(a.time))
            where[conv] = a.queue_id
            arrival_of[conv] = payload
            dirty.add(a.queue_id)
        elif kind == _COMPLETE:
            op, weight = cast(tuple[OperatorId, float], payload)
            open_load[op] = max(0.0, open_load[op] - weight)
            total_open -= weight
            changed(op)
            dirty.update(q for q in member_of[op] if waiting[q])
        elif kind == _STEP:
            assert isinstance(payload, str)
            conv = ConversationId(payload)
            step_timers.discard((conv, t))
            if conv not in where:
                continue  # served meanwhile
            dirty.add(where[conv])
        else:  # an answer or an expiry
            conv, op, accepted = cast(tuple[ConversationId, OperatorId, bool], payload)
            queue_id = where.get(conv)
            task = waiting[queue_id].get(conv) if queue_id is not None else None
            if queue_id is None or task is None or op not in task.offered_to:
                continue  # withdrawn meanwhile (another operator won, or overflow)
            weight = weight_of(task.channel_kind, weights)
            if accepted:
                for other in on_accept(task, op):
                    release(other, weight)
                    dirty.update(member_of[other])
                release(op, weight)
                served(conv, t, op, weight)
            else:
                result.refusals += 1
                refused = on_decline(task, op) if kind == _ANSWER else on_timeout(task, op)
                waiting[queue_id][conv] = refused
                release(op, weight)
                dirty.update(member_of[op])
            dirty.add(queue_id)
        for queue_id in [q.id for q in queues if q.id in dirty]:
            routing_pass(queue_id, t)
    span = window_end - window_start
    capacity = sum(o.capacity for o in operators)
    result.occupancy = busy / (capacity * span) if span > 0 and capacity > 0 else 0.0
    return result


# -- scenario: M/M/c against Erlang C ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErlangCase:
    servers: int = 10
    utilisation: float = 0.8
    mean_handle: float = 180.0  # seconds
    arrivals: int = 250_000  # per replication
    replications: int = 4
    warmup: int = 10_000  # per replication

    @property
    def service_rate(self) -> float:
        return 1.0 / self.mean_handle

    @property
    def arrival_rate(self) -> float:
        return self.utilisation * self.servers * self.service_rate


ERLANG_LARGE = ErlangCase()
ERLANG_SMALL = ErlangCase(utilisation=0.7, arrivals=60_000, replications=1, warmup=3_000)


def mmc_setup(servers: int) -> tuple[QueueConfig, list[OperatorSpec]]:
    """One queue of ``servers`` operators of capacity 1, least loaded, assigning
    directly."""
    ops = [OperatorSpec(OperatorId(f"agent{i:02d}"), {}, 1.0) for i in range(servers)]
    queue = QueueConfig(
        QueueId("support"),
        "support",
        members=tuple(o.id for o in ops),
        strategy=Strategy.LEAST_LOADED,
    )
    return queue, ops


def erlang_replication(case: ErlangCase, seed: int) -> SimResult:
    """One replication of ``case``: its own arrivals from ``random.Random(seed)``."""
    queue, ops = mmc_setup(case.servers)
    mean = case.mean_handle

    def handling(arrival: Arrival, _op: OperatorSpec, _q: QueueConfig) -> float:
        return arrival.work * mean

    arrivals = poisson_arrivals(random.Random(seed), case.arrivals, {queue.id: case.arrival_rate})
    return simulate(
        f"M/M/{case.servers} seed {seed}", [queue], ops, arrivals, handling, warmup=case.warmup
    )


def run_erlang(
    case: ErlangCase, seed: int, jobs: int = 1
) -> tuple[SimResult, list[SimResult], float]:
    """The replications of ``case`` (seeds ``seed``, ``seed + 1``, ...; ``jobs``
    processes), pooled; and the Erlang C mean wait."""
    seeds = [seed + r for r in range(case.replications)]
    if jobs > 1 and len(seeds) > 1:
        with ProcessPoolExecutor(max_workers=min(jobs, len(seeds))) as pool:
            runs = list(pool.map(erlang_replication, [case] * len(seeds), seeds))
    else:
        runs = [erlang_replication(case, s) for s in seeds]
    expected = erlang_c_wait(case.servers, case.arrival_rate, case.service_rate)
    return combine(f"M/M/{case.servers}, pooled", runs), runs, expected


# -- scenario: skills against round robin --------------------------------------------------

SKILLS = ("lang:ru", "lang:en", "lenses")
#: Each queue's skill (required at level 1; the skill router wants level >= 3 first),
#: arrival share and mean handling time (s) of an operator at level 3.
SKILL_QUEUES: Mapping[str, tuple[str, float, float]] = {
    "ru": ("lang:ru", 0.5, 240.0),
    "en": ("lang:en", 0.3, 300.0),
    "lenses": ("lenses", 0.2, 360.0),
}
CHANNEL_MIX = (
    (ChannelKind("webchat"), 0.6),
    (ChannelKind("telegram"), 0.25),
    (ChannelKind("email"), 0.15),
)
EXPERT_FIRST_SECONDS = 30


def speed_factor(level: int) -> float:
    """Handling time relative to level 3: experts are faster (level 1: 1.3x, 5: 0.7x)."""
    return 1.0 + 0.15 * (3 - level)


def skill_operators(seed: int, count: int = 30) -> list[OperatorSpec]:
    """``count`` operators; most speak Russian, some English, some know lenses, at levels
    1-5; everyone has at least one of the three skills. Capacity 2 or 3."""
    rng = random.Random(f"operators-{seed}")
    ops = []
    for i in range(count):
        skills: dict[str, int] = {}
        if rng.random() < 0.8:
            skills["lang:ru"] = rng.randint(1, 5)
        if rng.random() < 0.45:
            skills["lang:en"] = rng.randint(1, 5)
        if rng.random() < 0.35:
            skills["lenses"] = rng.randint(1, 5)
        if not skills:
            skills[rng.choice(SKILLS)] = rng.randint(1, 5)
        ops.append(OperatorSpec(OperatorId(f"op{i:02d}"), skills, float(rng.choice((2, 3)))))
    return ops


def skill_queues(ops: Sequence[OperatorSpec], *, skill_router: bool) -> list[QueueConfig]:
    """One queue per :data:`SKILL_QUEUES` entry; its members: the operators with its
    skill. The skill router: least loaded, experts (level >= 3) for the first
    :data:`EXPERT_FIRST_SECONDS`, then any member. The baseline: round robin, no steps."""
    out = []
    for name, (skill, _, _) in SKILL_QUEUES.items():
        members = tuple(o.id for o in ops if o.skills.get(skill, 0) >= 1)
        if skill_router:
            escalation: tuple[EscalationStep, ...] = (
                EscalationStep(0, SkillAtLeast({skill: 3})),
                EscalationStep(EXPERT_FIRST_SECONDS, AnyMember()),
            )
            strategy = Strategy.LEAST_LOADED
        else:
            escalation, strategy = (), Strategy.ROUND_ROBIN
        out.append(
            QueueConfig(
                QueueId(name),
                name,
                members=members,
                required_skills={skill: 1},
                strategy=strategy,
                escalation=escalation,
            )
        )
    return out


def skill_handling(arrival: Arrival, op: OperatorSpec, queue: QueueConfig) -> float:
    skill, _, mean = SKILL_QUEUES[queue.id]
    return arrival.work * mean * speed_factor(op.skills.get(skill, 1))


@dataclass(frozen=True, slots=True)
class SkillCase:
    operators: int = 30
    arrivals: int = 40_000
    warmup: int = 2_000
    #: Offered work (at level-3 speed, weighted) / total capacity.
    load: float = 0.9


SKILLS_LARGE = SkillCase()
SKILLS_SMALL = SkillCase(arrivals=6_000, warmup=500)


def run_skills(
    case: SkillCase, seed: int, *, record: bool = False
) -> tuple[SimResult, SimResult, list[OperatorSpec]]:
    """The skill router and round robin over the same operators and arrivals."""
    ops = skill_operators(seed, case.operators)
    capacity = sum(o.capacity for o in ops)
    mean_weight = sum(share * weight_of(kind) for kind, share in CHANNEL_MIX)
    work_per_arrival = sum(share * mean for _, share, mean in SKILL_QUEUES.values())
    total_rate = case.load * capacity / (work_per_arrival * mean_weight)
    rates = {QueueId(n): share * total_rate for n, (_, share, _) in SKILL_QUEUES.items()}
    arrivals = poisson_arrivals(random.Random(seed), case.arrivals, rates, CHANNEL_MIX)
    results = []
    for skill_router, name in ((True, "skill router"), (False, "round robin")):
        queues = skill_queues(ops, skill_router=skill_router)
        results.append(
            simulate(
                name,
                queues,
                ops,
                arrivals,
                skill_handling,
                warmup=case.warmup,
                seed=seed,
                record=record,
            )
        )
    return results[0], results[1], ops


# -- scenario: decisions per second --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateResult:
    name: str
    rate: float
    p50: float
    p99: float


def run_rate(operators: int, calls: int, seed: int) -> list[RateResult]:
    """One arriving task against ``operators`` online operators, as in
    ``bench/bench_routing_decisions.py``: ``decide`` alone, and ``decide`` with its
    explanation read (``to_json``)."""
    from bench.bench_routing_decisions import NOW, make_operators, make_task

    rng = random.Random(seed)
    ops = make_operators(rng, operators)
    # Half of them idle, so arrivals are assigned rather than all waiting.
    snapshot = [
        o
        if i % 2
        else OperatorState(o.id, o.skills, o.capacity, 0.0, o.presence, o.last_assigned_at)
        for i, o in enumerate(ops)
    ]
    queue = QueueConfig(
        QueueId("main"),
        "main",
        members=tuple(o.id for o in ops),
        required_skills={"lang:ru": 1},
        strategy=Strategy.LEAST_LOADED,
        escalation=(
            EscalationStep(0, SkillAtLeast({"lenses": 3})),
            EscalationStep(60, AnyMember()),
        ),
    )
    tasks = [make_task(rng, i, NOW - timedelta(seconds=rng.choice((5, 90)))) for i in range(calls)]
    for t in tasks[:50]:  # warm-up
        decide(queue, [t], snapshot, NOW)

    def measure(call: Callable[[TaskState], object]) -> list[float]:
        out = []
        for t in tasks:
            start = time.perf_counter()
            call(t)
            out.append(time.perf_counter() - start)
        return out

    def explained(t: TaskState) -> object:
        return to_json(decide(queue, [t], snapshot, NOW)[0].explanation)

    out = []
    for name, samples in (
        ("decide, one arriving task", measure(lambda t: decide(queue, [t], snapshot, NOW))),
        ("decide + to_json(explanation)", measure(explained)),
    ):
        out.append(
            RateResult(
                name,
                len(samples) / sum(samples),
                statistics.median(samples),
                statistics.quantiles(samples, n=100)[98],
            )
        )
    return out


# -- reporting -----------------------------------------------------------------------------


def _header() -> str:
    return (
        f"{'':<28} {'convs':>8} {'mean wait':>10} {'p90 wait':>9} {'<=20s':>7} "
        f"{'<=60s':>7} {'occupancy':>9}"
    )


def _row(r: SimResult) -> str:
    return (
        f"{r.name:<28} {r.measured:>8,} {r.mean_wait:>9.1f}s {r.p90_wait:>8.1f}s "
        f"{r.within(20):>7.1%} {r.within(60):>7.1%} {r.occupancy:>9.1%}"
    )


def _batch_interval(runs: Iterable[SimResult], batches: int = 10) -> float:
    """A rough 95% half-width of the pooled mean wait, from batch means (each
    replication cut into ``batches`` consecutive batches)."""
    means = []
    for r in runs:
        size = len(r.waits) // batches
        means += [statistics.fmean(r.waits[i * size : (i + 1) * size]) for i in range(batches)]
    if len(means) < 2:
        return math.nan
    return 1.96 * statistics.stdev(means) / math.sqrt(len(means))


def report_erlang(case: ErlangCase, seed: int, jobs: int, *, target: bool) -> float:
    start = time.perf_counter()
    pooled, runs, expected = run_erlang(case, seed, jobs)
    elapsed = time.perf_counter() - start
    ratio = pooled.mean_wait / expected
    half = _batch_interval(runs)
    print(
        f"== erlang: M/M/{case.servers}, lambda={case.arrival_rate * 60:.3f}/min, "
        f"mean handle {case.mean_handle:g}s, rho={case.utilisation:g}, "
        f"{case.replications} x {case.arrivals:,} arrivals ({case.warmup:,} warm-up each)"
    )
    print(_header())
    for r in runs:
        print(_row(r))
    if len(runs) > 1:
        print(_row(pooled))
    verdict = (
        f"target |ratio - 1| <= 5%: {'met' if abs(ratio - 1) <= 0.05 else 'NOT met'}"
        if target
        else "small run: expect about +-15% (the 5% target is for the default run)"
    )
    print(
        f"Erlang C: P(wait) {erlang_c(case.servers, case.arrival_rate / case.service_rate):.4f}"
        f", mean wait {expected:.2f}s; measured {pooled.mean_wait:.2f}s "
        f"(+-{half:.2f}s, rough 95% from batch means)"
    )
    print(f"ratio measured/erlang_c {ratio:.4f}   {verdict}")
    print(
        f"{pooled.passes:,} routing passes, {pooled.decisions:,} decisions, "
        f"unserved {pooled.unserved}, peak load-capacity {pooled.peak_excess:g}, "
        f"{elapsed:.1f}s"
    )
    return ratio


def report_skills(case: SkillCase, seed: int) -> None:
    start = time.perf_counter()
    skilled, plain, ops = run_skills(case, seed)
    elapsed = time.perf_counter() - start
    per_skill = {s: sum(1 for o in ops if s in o.skills) for s in SKILLS}
    print(
        f"== skills: {len(ops)} operators ({', '.join(f'{s} {n}' for s, n in per_skill.items())}"
        f"), queues {', '.join(SKILL_QUEUES)}, {case.arrivals:,} arrivals "
        f"({case.warmup:,} warm-up), offered load {case.load:.0%} at level-3 speed"
    )
    print(
        f"   skill router: least loaded, skill >= 3 for the first {EXPERT_FIRST_SECONDS}s, "
        "then any member; round robin: no steps, levels ignored; same arrivals"
    )
    print(_header())
    print(_row(skilled))
    print(_row(plain))
    wait_ratio = skilled.mean_wait / plain.mean_wait if plain.mean_wait else math.nan
    within_ratio = skilled.within(60) / plain.within(60) if plain.within(60) else math.nan
    print(
        f"skill router / round robin: mean wait x{wait_ratio:.3f}, "
        f"share within 60s x{within_ratio:.3f}; unserved {skilled.unserved}/{plain.unserved}, "
        f"{elapsed:.1f}s"
    )


def report_rate(operators: int, calls: int, seed: int) -> None:
    print(f"== rate: {operators} online operators, one arriving task, {calls:,} calls")
    results = run_rate(operators, calls, seed)
    for r in results:
        print(
            f"{r.name:<32} {r.rate:>8,.0f} decisions/s   p50 {r.p50 * 1000:6.3f} ms   "
            f"p99 {r.p99 * 1000:6.3f} ms"
        )
    first = results[0]
    ok = first.rate >= 2000 and first.p99 < 0.005
    print(
        f"targets (>= 2,000 decisions/s, p99 < 5 ms): {'met' if ok else 'NOT met'} "
        f"({first.rate:,.0f}/s, p99 {first.p99 * 1000:.2f} ms)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="a quick run (CI)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="processes for replications"
    )
    parser.add_argument("--scenario", choices=("all", "erlang", "skills", "rate"), default="all")
    args = parser.parse_args(argv)
    todo = args.scenario
    if todo in ("all", "erlang"):
        case = ERLANG_SMALL if args.small else ERLANG_LARGE
        report_erlang(case, args.seed, args.jobs, target=not args.small)
    if todo in ("all", "skills"):
        report_skills(SKILLS_SMALL if args.small else SKILLS_LARGE, args.seed)
    if todo in ("all", "rate"):
        report_rate(500, 500 if args.small else 3000, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
