"""The contact-centre simulation (``bench/bench_routing_sim.py``) on small cases.

Correctness only, never timings: the Erlang C formulas against exact sums and textbook
values; the M/M/c run against the FCFS recursion on the same sample path (exactly) and
against Erlang C (statistically, fixed seed); and the invariants of every run: each
arrival served, capacity never exceeded, the skill router never giving a task to an
operator without the queue's skill (nor, in the first 30 s, to a non-expert).
"""

from __future__ import annotations

import heapq
import math
import random
from fractions import Fraction

import pytest

from bench.bench_routing_sim import (
    ERLANG_SMALL,
    EXPERT_FIRST_SECONDS,
    SKILL_QUEUES,
    Arrival,
    ErlangCase,
    OperatorSpec,
    SimResult,
    SkillCase,
    at,
    erlang_b,
    erlang_c,
    erlang_c_wait,
    erlang_replication,
    mmc_setup,
    percentile,
    poisson_arrivals,
    run_skills,
    seconds_of,
    simulate,
)
from inbox.domain.channels import ChannelKind
from inbox.domain.ids import OperatorId
from routing.policy import (
    CAPACITY_EPSILON,
    AnyMember,
    EscalationStep,
    OverflowQueue,
    QueueConfig,
    QueueId,
    SkillAtLeast,
    Strategy,
)

# -- Erlang B and C ---------------------------------------------------------------------------


def exact_erlang_c(servers: int, offered: Fraction) -> Fraction:
    """The textbook sum: (a^c/c! * c/(c-a)) / (sum_{k<c} a^k/k! + a^c/c! * c/(c-a))."""
    term = Fraction(1)
    total = Fraction(0)
    for k in range(servers):
        total += term
        term = term * offered / (k + 1)
    top = term * servers / (servers - offered)
    return top / (total + top)


def exact_erlang_b(servers: int, offered: Fraction) -> Fraction:
    terms = [Fraction(1)]
    for k in range(1, servers + 1):
        terms.append(terms[-1] * offered / k)
    return terms[-1] / sum(terms)


@pytest.mark.parametrize("servers", [1, 2, 3, 5, 10, 25, 60])
@pytest.mark.parametrize("utilisation", [Fraction(1, 10), Fraction(1, 2), Fraction(17, 20)])
def test_erlang_formulas_match_the_exact_sums(servers: int, utilisation: Fraction) -> None:
    offered = utilisation * servers
    assert erlang_c(servers, float(offered)) == pytest.approx(
        float(exact_erlang_c(servers, offered)), rel=1e-12
    )
    assert erlang_b(servers, float(offered)) == pytest.approx(
        float(exact_erlang_b(servers, offered)), rel=1e-12
    )


def test_erlang_c_textbook_values() -> None:
    # M/M/1: the probability of waiting is the utilisation; Wq = rho / (mu - lambda).
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    assert erlang_c_wait(1, 0.7, 1.0) == pytest.approx(0.7 / 0.3)
    # M/M/2 at one Erlang: P(wait) = 1/3, Wq = (1/3) / (2 - 1) for mu = 1.
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c_wait(2, 1.0, 1.0) == pytest.approx(1 / 3)
    # Erlang B tables: 10 servers, 5 Erlangs -> 1.84% blocked; 1 server -> a / (1 + a).
    assert erlang_b(10, 5.0) == pytest.approx(0.018385, abs=5e-6)
    assert erlang_b(1, 3.0) == pytest.approx(0.75)
    # M/M/2 in closed form: C = a^2 / (2 + a).
    assert erlang_c(2, 1.5) == pytest.approx(1.5**2 / 3.5)
    # C from B (the tables' relation): C = c B / (c - a (1 - B)).
    b = erlang_b(8, 6.0)
    assert erlang_c(8, 6.0) == pytest.approx(8 * b / (8 - 6.0 * (1 - b)))


def test_erlang_c_is_stable_for_large_systems() -> None:
    # Factorials of 2000 overflow a float; the recurrence does not.
    c = erlang_c(2000, 1980.0)
    assert 0 < c < 1
    assert c == pytest.approx(float(exact_erlang_c(2000, Fraction(1980))), rel=1e-9)
    with pytest.raises(ValueError, match="Erlang C"):
        erlang_c(3, 3.0)


# -- the clock and the helpers ----------------------------------------------------------------


def test_virtual_clock_round_trips() -> None:
    for t in (0.0, 0.1, 12.345678, 86_400.5, 3.0e6 + 1e-6):
        assert at(seconds_of(at(t))) == at(t)
        assert abs(seconds_of(at(t)) - t) <= 5e-7


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.9) == 0.0
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.9) == 5.0
    assert percentile([float(i) for i in range(1, 101)], 0.9) == 90.0


# -- M/M/c --------------------------------------------------------------------------------------


def fcfs_waits(arrivals: list[Arrival], servers: int, mean_handle: float) -> list[float]:
    """The M/M/c FCFS recursion: each arrival takes the server that frees first."""
    free = [0.0] * servers
    waits = []
    for a in arrivals:
        start = max(a.time, heapq.heappop(free))
        heapq.heappush(free, start + a.work * mean_handle)
        waits.append(start - a.time)
    return waits


def test_mmc_run_is_the_fcfs_queue_on_the_same_sample_path() -> None:
    case = ErlangCase(servers=4, utilisation=0.85, mean_handle=60.0, arrivals=3_000, warmup=0)
    queue, ops = mmc_setup(case.servers)
    arrivals = poisson_arrivals(random.Random(7), case.arrivals, {queue.id: case.arrival_rate})
    result = simulate(
        "mm4",
        [queue],
        ops,
        arrivals,
        lambda a, _op, _q: a.work * case.mean_handle,
        record=True,
    )
    assert result.served == result.arrivals == case.arrivals
    assert result.waits == pytest.approx(fcfs_waits(arrivals, 4, 60.0), abs=1e-6)
    assert sum(1 for w in result.waits if w > 0) > 100  # a real queue formed
    assert result.peak_excess <= CAPACITY_EPSILON


@pytest.fixture(scope="module")
def mmc_small() -> SimResult:
    return erlang_replication(ERLANG_SMALL, 1)


def test_mmc_mean_wait_agrees_with_erlang_c(mmc_small: SimResult) -> None:
    case = ERLANG_SMALL
    expected = erlang_c_wait(case.servers, case.arrival_rate, case.service_rate)
    # 57,000 measured waits at rho = 0.7: the ratio's standard deviation over seeds is
    # about 0.075, so 0.7..1.3 is four of them.
    assert 0.7 < mmc_small.mean_wait / expected < 1.3
    assert mmc_small.occupancy == pytest.approx(case.utilisation, abs=0.03)
    assert mmc_small.measured == case.arrivals - case.warmup == len(mmc_small.waits)


def test_mmc_every_arrival_served_within_capacity(mmc_small: SimResult) -> None:
    assert mmc_small.unserved == 0
    assert mmc_small.peak_excess <= CAPACITY_EPSILON
    assert 0 < mmc_small.within(20) <= mmc_small.within(60) <= 1
    assert mmc_small.p90_wait >= 0


# -- skills -------------------------------------------------------------------------------------


def test_skill_router_and_round_robin_respect_skills_and_capacity() -> None:
    skilled, plain, ops = run_skills(SkillCase(arrivals=3_000, warmup=200), 3, record=True)
    levels = {o.id: o.skills for o in ops}
    for result in (skilled, plain):
        assert result.unserved == 0
        assert result.peak_excess <= CAPACITY_EPSILON
        assert len(result.log) == result.arrivals
        for queue_id, op, _wait in result.log:
            skill = SKILL_QUEUES[queue_id][0]
            assert levels[op].get(skill, 0) >= 1, (queue_id, op)
    experts_only = [(q, op) for q, op, wait in skilled.log if wait < EXPERT_FIRST_SECONDS - 1e-6]
    assert experts_only
    for queue_id, op in experts_only:
        assert levels[op][SKILL_QUEUES[queue_id][0]] >= 3, (queue_id, op)
    # Round robin ignores levels: it does give early work to non-experts.
    assert any(
        levels[op][SKILL_QUEUES[q][0]] < 3
        for q, op, wait in plain.log
        if wait < EXPERT_FIRST_SECONDS
    )


# -- offers, refusals and overflow ---------------------------------------------------------------


def test_offers_with_declines_timeouts_and_overflow_serve_everyone_within_capacity() -> None:
    rng = random.Random(11)
    ops = [
        OperatorSpec(
            OperatorId(f"op{i}"),
            {"lenses": rng.randint(1, 5), **({"lang:en": 2} if i % 3 == 0 else {})},
            float(rng.choice((1, 2, 3))),
        )
        for i in range(8)
    ]
    members = tuple(o.id for o in ops)
    main = QueueConfig(
        QueueId("main"),
        "main",
        members=members,
        strategy=Strategy.LONGEST_IDLE,
        accept_timeout_seconds=15,
        escalation=(
            EscalationStep(0, SkillAtLeast({"lenses": 4})),
            EscalationStep(20, AnyMember()),
            EscalationStep(90, OverflowQueue(QueueId("backup"))),
        ),
    )
    backup = QueueConfig(
        QueueId("backup"),
        "backup",
        members=members,
        strategy=Strategy.RING_ALL,
        accept_timeout_seconds=15,
    )
    arrivals = poisson_arrivals(
        random.Random(12),
        2_000,
        {main.id: 0.2},
        ((ChannelKind("webchat"), 0.7), (ChannelKind("email"), 0.3)),
    )
    result = simulate(
        "offers",
        [main, backup],
        ops,
        arrivals,
        lambda a, _op, _q: a.work * 60.0,
        seed=13,
        accept_delay=6.0,
        decline_share=0.15,
        record=True,
    )
    assert result.unserved == 0
    assert result.peak_excess <= CAPACITY_EPSILON
    assert result.refusals > 0
    assert result.overflows > 0
    assert {q for q, _, _ in result.log} == {main.id, backup.id}
    assert all(w >= 0 and math.isfinite(w) for w in result.waits)
