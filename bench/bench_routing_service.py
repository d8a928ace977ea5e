"""The routing service on a real database, against the basic router in the same run.

Two measurements, each on a fresh database per router so both start from the same state:

- **burst**: ``--operators`` online operators (capacity 5 each, random skills; one queue
  with everyone, least loaded, a required language most have) and ``--conversations``
  customers waiting; the router is asked to assign them all. Prints assignments per
  second and the time of one pass, for ``RoutingService.run_pass`` (explained decisions,
  routing tasks, the decision log, all under the routing lock) and for
  ``BasicRouter.assign_waiting`` (least loaded, one transaction per assignment). The
  timed passes are the ones that assign, from the first, until none is left waiting; the
  service's figure sits beside a plain read of the same state (``take_snapshot`` in a read
  transaction) in the same run, with the ratio.

  *Changed (issue #15):* the burst used to run one untimed pass first (it created the
  routing tasks, and so made every assignment) and then timed a second pass that had
  nothing left to do: the printed rate was assignments of the untimed pass over the time
  of an idle one, many times the real rate. Now the work itself is timed.
- **arrivals**: the router runs in the background while ``--messages`` customer messages
  arrive ``--concurrency`` at a time (new conversations and follow-ups); prints the
  ingest rate with each router subscribed, and how long the last conversation waited
  to be assigned after the last message.

    python -m bench.bench_routing_service [--operators 500] [--conversations 2000]
        [--messages 2000] [--concurrency 50] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text

from inbox.bus import InProcessEventBus
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import SystemClock
from inbox.domain.content import Text
from inbox.domain.conversations import ConversationStatus
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.domain.operators import Presence, Role
from inbox.ports import ConversationFilter, Tx
from inbox.usecases import Core, add_channel, add_operator, ingest_inbound, set_presence
from operator_ws import Argon2PasswordHasher
from routing import BasicRouter, RoutingService, RoutingSettings
from routing.snapshot import take_snapshot
from server.channels import CATALOG
from storage import SqlStore, migrate, open_store
from storage.engine import make_engine

SKILLS = ("lang:ru", "lang:en", "lenses", "repairs")


async def _setup(
    url: str, operators: int, seed: int, capacity: int = 5
) -> tuple[SqlStore, Core, Channel]:
    await migrate(url)
    store = await open_store(url)
    core = Core(store=store, bus=InProcessEventBus(), clock=SystemClock(), channels=CATALOG)
    rng = random.Random(seed)
    hasher = Argon2PasswordHasher(fast_for_tests=True)

    async def one(i: int) -> None:
        skills = {s: rng.randint(1, 5) for s in SKILLS if rng.random() < 0.5}
        if rng.random() < 0.9:
            skills["lang:ru"] = rng.randint(1, 5)
        op = await add_operator(
            core,
            hasher,
            login=f"op{i:04d}",
            password="long enough",
            role=Role.OPERATOR,
            skills=skills,
            capacity=capacity,
        )
        await set_presence(core, op.id, Presence.ONLINE)

    await asyncio.gather(*(one(i) for i in range(operators)))
    channel = await add_channel(core, ChannelKind("webchat"), "bench", {})
    return store, core, channel


async def _customers(
    core: Core, channel: Channel, n: int, start: int = 0, concurrency: int = 50
) -> None:
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            await ingest_inbound(
                core,
                InboundMessage(
                    channel_id=channel.id,
                    external_id=f"m{i}",
                    sender=SenderProfile(f"u{i}", display_name=f"Customer {i}"),
                    parts=(Text(f"question {i}"),),
                ),
            )

    await asyncio.gather(*(one(i) for i in range(start, start + n)))


async def _count(core: Core, status: ConversationStatus) -> int:
    async def work(tx: Tx) -> int:
        return len(await tx.conversations.list(ConversationFilter((status,), limit=100_000)))

    return await core.store.read(work)


async def _service_queue(router: RoutingService, core: Core) -> None:
    # One queue with everyone, requiring the language most operators speak.
    admin = await add_operator(
        core,
        Argon2PasswordHasher(fast_for_tests=True),
        login="boss",
        password="long enough",
        role=Role.ADMIN,
    )
    await router.save_queue(admin, "Main", {"skills": {"lang:ru": 1}}, create=True)


async def _burst(url: str, args: argparse.Namespace, which: str) -> dict[str, Any]:
    """The timed passes are the ones that make the assignments, from the first; they run
    until nothing is left to assign (or 20 passes). For the service, the same run also
    times a plain read of the state a pass starts from (``take_snapshot`` in a read
    transaction, before the first pass: the same rows), the baseline of its ratio."""
    store, core, channel = await _setup(url, args.operators, args.seed)
    try:
        service = RoutingService(core, store, settings=RoutingSettings(presence_stale_seconds=None))
        if which == "service":
            await _service_queue(service, core)
        await _customers(core, channel, args.conversations)
        read_seconds = 0.0
        if which == "service":
            ctx = service._ctx  # a bench may look inside: the same read the pass starts with
            t0 = time.perf_counter()
            await ctx.read(lambda tx: take_snapshot(ctx, tx, write=False))
            read_seconds = time.perf_counter() - t0
        passes: list[float] = []
        for _ in range(20):
            t0 = time.perf_counter()
            if which == "service":
                await service.run_pass()
            else:
                await BasicRouter(core, batch=100_000).assign_waiting()
            passes.append(time.perf_counter() - t0)
            if await _count(core, ConversationStatus.QUEUED) == 0:
                break
        assigned = await _count(core, ConversationStatus.ASSIGNED)
        return {
            "assigned": assigned,
            "seconds": sum(passes),
            "passes": len(passes),
            "first": passes[0],
            "read": read_seconds,
        }
    finally:
        await store.close()


async def _arrivals(url: str, args: argparse.Namespace, which: str) -> dict[str, Any]:
    store, core, channel = await _setup(url, args.operators, args.seed)
    router: BasicRouter | RoutingService
    try:
        if which == "service":
            router = RoutingService(
                core, store, settings=RoutingSettings(presence_stale_seconds=None)
            )
            await _service_queue(router, core)
        else:
            router = BasicRouter(core)
        assert isinstance(core.bus, InProcessEventBus)
        core.bus.subscribe(router.on_event)
        router.start()
        sem = asyncio.Semaphore(args.concurrency)
        customers = max(1, args.messages // 4)  # each writes about four messages

        async def one(i: int) -> None:
            async with sem:
                await ingest_inbound(
                    core,
                    InboundMessage(
                        channel_id=channel.id,
                        external_id=f"a{i}",
                        sender=SenderProfile(f"c{i % customers}", display_name="Customer"),
                        parts=(Text(f"message {i}"),),
                    ),
                )

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(args.messages)))
        ingest = time.perf_counter() - started
        t0 = time.perf_counter()
        while await _count(core, ConversationStatus.QUEUED) > 0:
            if time.perf_counter() - t0 > 60:
                break
            await asyncio.sleep(0.01)
        drain = time.perf_counter() - t0
        await router.stop()
        return {"rate": args.messages / ingest, "drain": drain}
    finally:
        await store.close()


async def _both(
    fn: Callable[[str, argparse.Namespace, str], Awaitable[dict[str, Any]]],
    args: argparse.Namespace,
) -> dict[str, dict[str, Any]]:
    """``fn`` for each router on a database of its own (a scratch schema on PostgreSQL,
    dropped afterwards)."""
    out = {}
    for which in ("basic", "service"):
        with tempfile.TemporaryDirectory() as tmp:
            if not args.postgres:
                out[which] = await fn(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args, which)
                continue
            schema = f"bench_{uuid.uuid4().hex[:16]}"
            await _execute(args.postgres, f"CREATE SCHEMA {schema}")
            try:
                url = make_url(args.postgres).update_query_dict({"schema": schema})
                out[which] = await fn(url.render_as_string(hide_password=False), args, which)
            finally:
                await _execute(args.postgres, f"DROP SCHEMA {schema} CASCADE")
    return out


async def _execute(url: str, statement: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    db = "PostgreSQL" if args.postgres else "SQLite"
    print(f"== burst on {db}: {args.operators} operators online, {args.conversations} waiting")
    burst = await _both(_burst, args)
    print("timed: the passes that assign, from the first, until none is left waiting")
    for which, r in burst.items():
        print(
            f"{which:8} assigned {r['assigned']:6,} in {r['seconds']:6.2f}s "
            f"= {r['assigned'] / r['seconds']:8,.0f}/s   {r['passes']} pass(es), "
            f"the first {r['first'] * 1000:8.1f} ms"
        )
    b, s = burst["basic"], burst["service"]
    print(
        f"service: a plain read of the same state (take_snapshot, read transaction) "
        f"{s['read'] * 1000:.1f} ms; the assigning pass costs x{s['first'] / s['read']:.1f} it"
    )
    print(
        f"service / basic: assignments per second x"
        f"{(s['assigned'] / s['seconds']) / (b['assigned'] / b['seconds']):.2f}"
    )
    print(f"== arrivals on {db}: {args.messages} messages, {args.concurrency} at a time")
    arrivals = await _both(_arrivals, args)
    for which, r in arrivals.items():
        print(
            f"{which:8} ingest {r['rate']:8,.0f} msg/s   queue empty "
            f"{r['drain'] * 1000:8.0f} ms after the last message"
        )
    ratio = arrivals["service"]["rate"] / arrivals["basic"]["rate"]
    print(f"service / basic: ingest rate x{ratio:.2f}")


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--operators", type=int, default=500)
    p.add_argument("--conversations", type=int, default=2000)
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--postgres", default="", help="a PostgreSQL URL (scratch schemas are made and dropped)"
    )
    return p.parse_args()


if __name__ == "__main__":
    asyncio.run(main(_parse()))
