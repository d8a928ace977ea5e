"""Routing at scale: the routing service with its persistence, at 500 operators and 2,000
waiting conversations, arrivals and resolves interleaved (issue #15).

One database (SQLite in a temporary directory, or a scratch schema with ``--postgres``).
``--operators`` online operators of capacity ``--capacity`` (2: 1,000 places for 2,000
customers, so about half keep waiting), one queue with everyone, least loaded.
Measured, all in the same run:

- **fill**: ``--conversations`` customers write while the service is off; the passes
  that follow file them and assign as many as there is room for, each within its budget
  (``RoutingSettings.pass_budget``), until one leaves nothing for the next.
  Decisions/s = assignments / the time of those passes.
- **idle pass** (nothing changed since the last pass) at a quarter of the state and at
  the full state, and a **pass after one change** (one resolve) at the full state. If an
  idle pass costs about as much as a pass after one change and grows with the state, it
  is O(state); the line ``idle pass is O(...)`` says which the figures show.
- **steady**: ``--rounds`` rounds; each resolves ``--per-round`` assigned conversations
  and lets as many new customers write (interleaved), then runs one pass (timed).
  Decisions/s = assignments / pass time over all rounds. Per-decision p99: each pass's
  time divided by its assignments, weighted by them (we time passes, not decisions:
  a decision is only persisted as part of its pass).
- **ingest**: ``--messages`` customer messages ``--concurrency`` at a time, with the
  service off, then with it subscribed and running (new customers each time); ratio
  on/off (goal >= 0.9).

The service sees every event of the bus, as in a server (it keeps its state between
passes and re-reads what the events name: ``routing.kept``), except in the "off" half of
the ingest phase; before the "on" half it is told to read everything again.

Goals from the issue: >= 2,000 decisions/s, p99 <= 5 ms, an idle pass O(changes),
ingest with routing >= 0.9x. Ends with one JSON line.

    python -m bench.bench_routing_scale [--quick] [--postgres URL] [--profile] [--operators 500]
        [--conversations 2000] [--rounds 20] [--per-round 10] [--messages 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import platform
import pstats
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from bench.bench_routing_service import _count, _customers, _execute, _setup
from inbox.bus import InProcessEventBus
from inbox.domain.conversations import ConversationStatus
from inbox.domain.events import ConversationChanged, Event
from inbox.domain.operators import Operator, Role
from inbox.ports import ConversationFilter, Tx
from inbox.usecases import Core, add_operator, resolve_conversation
from operator_ws import Argon2PasswordHasher
from routing import RoutingService, RoutingSettings


class _Counter:
    """Counts assignments (``ConversationChanged`` with reason ``assigned``) and forwards
    events to the service only while ``forward`` is set (the bus has no unsubscribe)."""

    def __init__(self, service: RoutingService) -> None:
        self.service = service
        self.assigned = 0
        self.forward = False

    async def on_event(self, event: Event) -> None:
        if isinstance(event, ConversationChanged) and event.reason == "assigned":
            self.assigned += 1
        if self.forward:
            await self.service.on_event(event)


async def _timed_pass(service: RoutingService, counter: _Counter) -> tuple[float, int]:
    before = counter.assigned
    t0 = time.perf_counter()
    await service.run_pass()
    return time.perf_counter() - t0, counter.assigned - before


async def _drain(service: RoutingService, counter: _Counter) -> tuple[float, int, int]:
    """Passes until one leaves nothing for the next (each pass has a budget:
    ``RoutingSettings.pass_budget``); their total time, assignments and number."""
    seconds, decided, passes = 0.0, 0, 0
    while True:
        took, made = await _timed_pass(service, counter)
        seconds, decided, passes = seconds + took, decided + made, passes + 1
        if not service.behind:
            return seconds, decided, passes


async def _idle(service: RoutingService, counter: _Counter, n: int) -> float:
    """Median of ``n`` passes with nothing changed (the passes before settle whatever is
    left)."""
    await _drain(service, counter)
    return statistics.median([(await _timed_pass(service, counter))[0] for _ in range(n)])


async def _assigned_ids(core: Core) -> list[Any]:
    async def work(tx: Tx) -> list[Any]:
        rows = await tx.conversations.list(
            ConversationFilter((ConversationStatus.ASSIGNED,), limit=100_000)
        )
        return [c.id for c in rows]

    return await core.store.read(work)


async def _profile(service: RoutingService, core: Core, boss: Operator, rng: random.Random) -> None:
    """cProfile of an idle pass and of a pass after one resolve. On SQLite the store runs
    the SQL in its own threads, which cProfile does not see: use ``--postgres``."""
    await service.run_pass()
    for label in ("idle pass", "pass after one resolve"):
        if label != "idle pass":
            await resolve_conversation(core, boss, rng.choice(await _assigned_ids(core)))
        profile = cProfile.Profile()
        profile.enable()
        await service.run_pass()
        profile.disable()
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(25)
        print(f"== cProfile: {label}\n{text.getvalue()}")


def _p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


async def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    store, core, channel = await _setup(url, args.operators, args.seed, capacity=args.capacity)
    try:
        service = RoutingService(core, store, settings=RoutingSettings(presence_stale_seconds=None))
        boss: Operator = await add_operator(
            core,
            Argon2PasswordHasher(fast_for_tests=True),
            login="boss",
            password="long enough",
            role=Role.ADMIN,
        )
        await service.save_queue(boss, "Main", {"skills": {"lang:ru": 1}}, create=True)
        counter = _Counter(service)
        counter.forward = True  # the service sees every event, as in a server
        assert isinstance(core.bus, InProcessEventBus)
        core.bus.subscribe(counter.on_event)
        out: dict[str, Any] = {}

        # A quarter of the customers: fill, then an idle pass at that state.
        quarter = args.conversations // 4
        await _customers(core, channel, quarter)
        await service.run_pass()
        out["idle_pass_quarter_ms"] = await _idle(service, counter, args.idle) * 1000
        out["state_quarter"] = quarter
        # The rest: the passes that file and assign them, until none is left (timed: they
        # do the work; each pass within its budget).
        await _customers(core, channel, args.conversations - quarter, start=quarter)
        seconds, decided, passes = await _drain(service, counter)
        out["fill_pass_s"] = seconds
        out["fill_passes"] = passes
        out["fill_decisions"] = decided
        out["fill_decisions_per_s"] = decided / seconds if seconds else 0.0
        out["idle_pass_full_ms"] = await _idle(service, counter, args.idle) * 1000
        out["state_full"] = args.conversations
        out["waiting"] = await _count(core, ConversationStatus.QUEUED)
        out["assigned"] = await _count(core, ConversationStatus.ASSIGNED)

        # One change, then the pass that handles it.
        one_change: list[float] = []
        for _ in range(args.idle):
            ids = await _assigned_ids(core)
            await resolve_conversation(core, boss, rng.choice(ids))
            one_change.append((await _timed_pass(service, counter))[0])
        out["one_change_pass_ms"] = statistics.median(one_change) * 1000

        # Steady: resolves and arrivals interleaved, one pass per round.
        next_customer = args.conversations
        pass_times: list[float] = []
        per_decision: list[float] = []
        decisions = 0
        for _ in range(args.rounds):
            ids = rng.sample(await _assigned_ids(core), args.per_round)
            resolves = [resolve_conversation(core, boss, cid) for cid in ids]
            await asyncio.gather(
                *resolves, _customers(core, channel, args.per_round, start=next_customer)
            )
            next_customer += args.per_round
            seconds, decided = await _timed_pass(service, counter)
            pass_times.append(seconds)
            decisions += decided
            if decided:
                per_decision.extend([seconds / decided] * decided)
        out["steady_decisions"] = decisions
        out["steady_pass_median_ms"] = statistics.median(pass_times) * 1000
        out["steady_decisions_per_s"] = decisions / sum(pass_times) if pass_times else 0.0
        out["per_decision_p99_ms"] = _p99(per_decision) * 1000
        if args.profile:
            await _profile(service, core, boss, rng)

        # Ingest with the service off, then subscribed and running (its loop's passes
        # counted, and those that assigned nothing).
        loop_passes = [0, 0]
        plain_pass = service.run_pass

        async def counted_pass() -> None:
            before = counter.assigned
            await plain_pass()
            loop_passes[0] += 1
            loop_passes[1] += counter.assigned == before

        service.run_pass = counted_pass  # type: ignore[method-assign]
        out["kept_passes_before_ingest"] = service.keeper.kept_passes
        out["full_reads_before_ingest"] = service.keeper.full_reads
        for mode in ("off", "on"):
            if mode == "off":
                counter.forward = False  # no routing at all
            else:
                # It did not see the "off" arrivals: it reads everything first, as a
                # router that starts does.
                service.forget()
                counter.forward = True
                service.start()
            t0 = time.perf_counter()
            await _customers(
                core, channel, args.messages, start=next_customer, concurrency=args.concurrency
            )
            out[f"ingest_{mode}_per_s"] = args.messages / (time.perf_counter() - t0)
            next_customer += args.messages
            if mode == "on":
                await service.stop()
                counter.forward = False
        out["ingest_on_passes"], out["ingest_on_passes_without_assignment"] = loop_passes
        out["kept_passes"] = service.keeper.kept_passes
        out["full_reads"] = service.keeper.full_reads
        out["ingest_ratio"] = out["ingest_on_per_s"] / out["ingest_off_per_s"]
        return out
    finally:
        await store.close()


def _verdict(r: dict[str, Any]) -> str:
    """O(state) when the idle pass grew with the state (x4 state: at least x2 time) or
    costs as much as a pass after one change; O(changes) otherwise."""
    growth = r["idle_pass_full_ms"] / max(r["idle_pass_quarter_ms"], 1e-9)
    if growth >= 2 or r["idle_pass_full_ms"] >= 0.5 * r["one_change_pass_ms"]:
        return "O(state)"
    return "O(changes)"


async def main(args: argparse.Namespace) -> None:
    db = "PostgreSQL" if args.postgres else "SQLite"
    with tempfile.TemporaryDirectory() as tmp:
        if not args.postgres:
            r = await run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args)
        else:
            schema = f"bench_{uuid.uuid4().hex[:16]}"
            await _execute(args.postgres, f"CREATE SCHEMA {schema}")
            try:
                url = make_url(args.postgres).update_query_dict({"schema": schema})
                r = await run(url.render_as_string(hide_password=False), args)
            finally:
                await _execute(args.postgres, f"DROP SCHEMA {schema} CASCADE")
    verdict = _verdict(r)
    growth = r["idle_pass_full_ms"] / max(r["idle_pass_quarter_ms"], 1e-9)
    print(
        f"== routing at scale on {db}: {args.operators} operators (capacity {args.capacity}), "
        f"{args.conversations} customers; {r['assigned']} assigned, {r['waiting']} waiting"
    )
    print(
        f"fill     passes until none is left ({r['fill_passes']}): {r['fill_decisions']} "
        f"assignments in {r['fill_pass_s']:.2f}s = {r['fill_decisions_per_s']:,.0f} "
        "decisions/s (goal 2,000)"
    )
    print(
        f"steady   {args.rounds} rounds x ({args.per_round} resolves + {args.per_round} "
        f"arrivals), one timed pass each: {r['steady_decisions']} assignments, "
        f"{r['steady_decisions_per_s']:,.0f} decisions/s, pass median "
        f"{r['steady_pass_median_ms']:.1f} ms"
    )
    print(
        f"         per-decision p99 (pass time / its assignments) "
        f"{r['per_decision_p99_ms']:.1f} ms (goal 5 ms)"
    )
    print(
        f"idle     pass with nothing changed: {r['idle_pass_quarter_ms']:.1f} ms at "
        f"{r['state_quarter']} customers, {r['idle_pass_full_ms']:.1f} ms at "
        f"{r['state_full']} (x{growth:.2f}); after one change: {r['one_change_pass_ms']:.1f} ms"
    )
    print(f"         idle pass is {verdict} (goal O(changes))")
    print(
        f"ingest   {args.messages} messages, {args.concurrency} at a time: routing off "
        f"{r['ingest_off_per_s']:,.0f} msg/s, on {r['ingest_on_per_s']:,.0f} msg/s, "
        f"x{r['ingest_ratio']:.2f} (goal >= 0.9)"
    )
    print(
        f"         passes while routing was on: {r['ingest_on_passes']}, "
        f"{r['ingest_on_passes_without_assignment']} of them assigned nothing"
    )
    print(
        f"kept     passes from the kept picture: {r['kept_passes']}, that read everything: "
        f"{r['full_reads']} (before the ingest phase: {r['kept_passes_before_ingest']} and "
        f"{r['full_reads_before_ingest']})"
    )
    line = {
        "name": "routing_scale",
        "database": db,
        "operators": args.operators,
        "capacity": args.capacity,
        "conversations": args.conversations,
        "quick": args.quick,
        **{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()},
        "idle_pass": verdict,
        "idle_growth_x4_state": round(growth, 3),
        "goals": {
            "decisions_per_s": 2000,
            "p99_ms": 5,
            "idle_pass": "O(changes)",
            "ingest_ratio": 0.9,
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    print(json.dumps(line))


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="a small run (under ~30 s)")
    p.add_argument("--operators", type=int, default=500)
    p.add_argument("--capacity", type=int, default=2)
    p.add_argument("--conversations", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--per-round", type=int, default=10)
    p.add_argument("--idle", type=int, default=5, help="passes per idle/one-change median")
    p.add_argument("--messages", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--profile", action="store_true", help="cProfile an idle and a busy pass (PostgreSQL)"
    )
    p.add_argument(
        "--postgres", default="", help="a PostgreSQL URL (a scratch schema is made and dropped)"
    )
    args = p.parse_args()
    if args.quick:
        args.operators, args.conversations = 100, 400
        args.rounds, args.idle, args.messages = 5, 3, 200
    return args


if __name__ == "__main__":
    asyncio.run(main(_parse()))
