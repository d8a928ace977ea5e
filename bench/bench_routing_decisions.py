"""Routing decisions: the skill-based policy against the basic one, in the same run.

500 online operators with random skills, capacities and loads; one queue (all of them
members, a required language, escalation "lenses>=3 for 60 s, then anyone") holding a
backlog. Measures, for :func:`routing.policy.decide`:

- **backlog**: one pass over the whole backlog (decisions per second: tasks decided / time);
- **arrival**: one pass for one arriving task against the operators as the backlog left
  them (decisions per second and p50/p99 latency of one call);

and the same arrival measurement for the baseline, :func:`routing.pick_operator` (least
loaded, no skills, no explanation) over the same operators. Targets from the issue:
>= 2,000 decisions/s and p99 < 5 ms for one arriving task.

    python -m bench.bench_routing_decisions [--operators 500] [--backlog 1000]
        [--arrivals 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from inbox.domain.channels import ChannelKind
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.operators import Presence
from routing import Candidate, pick_operator
from routing.policy import (
    AnyMember,
    Assign,
    EscalationStep,
    OperatorState,
    QueueConfig,
    QueueId,
    SkillAtLeast,
    Strategy,
    TaskState,
    decide,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SKILLS = ("lang:ru", "lang:en", "lenses", "repairs", "wholesale")
KINDS = (
    ChannelKind("webchat"),
    ChannelKind("telegram"),
    ChannelKind("whatsapp"),
    ChannelKind("email"),
)


def make_operators(rng: random.Random, n: int) -> list[OperatorState]:
    ops = []
    for i in range(n):
        skills = {s: rng.randint(1, 5) for s in SKILLS if rng.random() < 0.6}
        if rng.random() < 0.9:
            skills["lang:ru"] = rng.randint(1, 5)
        capacity = float(rng.randint(3, 6))
        ops.append(
            OperatorState(
                OperatorId(f"op{i:04d}"),
                skills,
                capacity,
                float(rng.randint(0, int(capacity) - 1)),
                Presence.ONLINE,
                NOW - timedelta(seconds=rng.randint(1, 3600)),
            )
        )
    return ops


def make_task(rng: random.Random, n: int, entered: datetime) -> TaskState:
    return TaskState(
        ConversationId(f"c{n}"),
        QueueId("main"),
        rng.choice(KINDS),
        entered,
        priority=rng.choice((0, 0, 0, 1, 5)),
    )


def latencies(call: Callable[[int], object], n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        call(i)
        out.append(time.perf_counter() - start)
    return out


def report(name: str, samples: list[float]) -> None:
    p50 = statistics.median(samples) * 1000
    p99 = statistics.quantiles(samples, n=100)[98] * 1000
    rate = len(samples) / sum(samples)
    print(f"{name:<34} {rate:>10,.0f} decisions/s   p50 {p50:6.3f} ms   p99 {p99:6.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operators", type=int, default=500)
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--arrivals", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    operators = make_operators(rng, args.operators)
    queue = QueueConfig(
        QueueId("main"),
        "main",
        members=tuple(o.id for o in operators),
        required_skills={"lang:ru": 1},
        strategy=Strategy.LEAST_LOADED,
        escalation=(
            EscalationStep(0, SkillAtLeast({"lenses": 3})),
            EscalationStep(60, AnyMember()),
        ),
    )
    backlog = [
        make_task(rng, i, NOW - timedelta(seconds=rng.randint(0, 600))) for i in range(args.backlog)
    ]

    start = time.perf_counter()
    decisions = decide(queue, backlog, operators, NOW)
    elapsed = time.perf_counter() - start
    backlog_rate = len(decisions) / elapsed
    assigned = [d for d in decisions if isinstance(d, Assign)]
    after = {o.id: o for o in operators}
    for d in assigned:
        after[d.operator.id] = d.operator
    print(
        f"{args.operators} online operators, backlog of {len(backlog)}: one pass "
        f"{elapsed * 1000:.1f} ms, {backlog_rate:,.0f} decisions/s "
        f"({len(assigned)} assigned, {len(decisions) - len(assigned)} wait)"
    )

    # Arrivals against the operators as the backlog left them; half free up first so
    # arrivals are assigned rather than all waiting.
    snapshot = [
        o
        if i % 2
        else OperatorState(o.id, o.skills, o.capacity, 0.0, o.presence, o.last_assigned_at)
        for i, o in enumerate(after.values())
    ]
    arrivals = [
        make_task(rng, 10**6 + i, NOW - timedelta(seconds=rng.choice((5, 90))))
        for i in range(args.arrivals)
    ]
    decide(queue, arrivals[:50], snapshot, NOW)  # warm-up
    policy = latencies(lambda i: decide(queue, [arrivals[i]], snapshot, NOW), args.arrivals)

    candidates = [
        Candidate(
            o.id, o.presence is Presence.ONLINE, int(o.load), int(o.capacity), o.last_assigned_at
        )
        for o in snapshot
    ]
    basic = latencies(lambda _i: pick_operator(candidates), args.arrivals)

    print(f"one arriving task, {args.arrivals} calls:")
    report("routing.policy.decide", policy)
    report("baseline routing.pick_operator", basic)
    p99 = statistics.quantiles(policy, n=100)[98]
    ok = backlog_rate >= 2000 and p99 < 0.005
    print(
        f"targets (backlog >= 2,000 decisions/s; one arrival p99 < 5 ms): "
        f"{'met' if ok else 'NOT met'} ({backlog_rate:,.0f}/s, p99 {p99 * 1000:.2f} ms); "
        f"one arrival costs {statistics.median(policy) / statistics.median(basic):.1f}x the "
        "baseline's median (skills, steps, weights and a scored explanation of every member)"
    )


if __name__ == "__main__":
    main()
