"""Two server processes route the same conversations on one PostgreSQL and one Redis.

Two OS processes (``tests/redis/routing_worker.py``), each with its own store, Redis bus
and :class:`routing.RoutingService` on the wall clock, run routing passes as fast as they
can for a few seconds while racing each other (and the passes) with accepts, declines,
picks, resolutions and presence changes. Meanwhile this process adds conversations and
reads the database over and over, each time in one REPEATABLE READ transaction (one
snapshot), checking what must hold at every commit:

- no operator's open load (the weights of the conversations assigned to them plus those
  of their pending offers) exceeds their capacity;
- an assigned conversation has its assignee, and its routing task is assigned to the same
  operator; a queued one has no assignee and no assigned task;
- offers are only pending for queued conversations.

Afterwards the routing decision log is checked. Here a conversation leaves ``assigned``
only by a logged requeue (the operator went away, or did not answer in time) or by being
resolved, which is final (no customer writes again), so per conversation, in log order
(``decided_at``, then id; the routing lock serialises routing transactions and each takes
``now`` after the lock), assignment decisions (assign, accept, pick) and requeues must
alternate, starting with an assignment. The episode of an assignment is the number of
requeues before it. Each process records every assignment it committed (from the events
of its own commits); each episode's assignment must be recorded by exactly one process,
and every recorded assignment must be in the log. The final status must agree with the
log: assigned / resolved ones end with an assignment to their (last) assignee, queued ones
with a requeue or nothing.

Needs ``INBOX_TEST_POSTGRES_URL`` and ``INBOX_TEST_REDIS_URL`` (skipped without them,
failed on ``CI=true``).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import SystemClock
from inbox.domain.content import Text
from inbox.domain.conversations import ConversationStatus
from inbox.domain.ids import OperatorId
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.domain.operators import Presence, Role
from inbox.usecases import Core, add_channel, add_operator, ingest_inbound, set_presence
from operator_ws import Argon2PasswordHasher
from routing import RoutingService, RoutingSettings
from routing.policy import DEFAULT_WEIGHTS
from routing.records import TaskStatus
from server.channels import CATALOG
from server.events import event_registry
from storage import SqlStore, make_engine, open_store
from storage.redis_bus import RedisEventBus
from storage.repositories import SqlTx
from storage.tables import conversations, routing_decisions
from tests.redis.conftest import LISTEN_TIMEOUT
from tests.redis.routing_worker import WorkerConfig

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
HASHER = Argon2PasswordHasher(fast_for_tests=True)

RUN_SECONDS = 6.0
#: A slow (busy) machine runs longer, until each process did some work (routing_worker.py).
MAX_RUN_SECONDS = 14.0
OPERATORS = 8
CONVERSATIONS_BEFORE = 90
CONVERSATIONS_DURING = 60
#: How long a worker may take to start (imports, connections) and to finish after its run.
START_TIMEOUT = 30.0
FINISH_TIMEOUT = 30.0

ASSIGNS = frozenset({"assign", "accept", "pick"})
UNASSIGNS = frozenset({"requeue", "response_timeout"})
#: Decisions that neither give nor take a conversation.
NEUTRAL = frozenset({"offer", "decline", "timeout", "withdrawn"})

WEBCHAT_WEIGHT = DEFAULT_WEIGHTS.get(ChannelKind("webchat"), 1.0)


# --------------------------------------------------------------------------- setup


class Shop:
    """This process's view of the installation: it sets it up and adds conversations."""

    def __init__(self, store: SqlStore, bus: RedisEventBus) -> None:
        self.core = Core(store=store, bus=bus, clock=SystemClock(), channels=CATALOG)
        self.router = RoutingService(
            self.core, store, settings=RoutingSettings(presence_stale_seconds=None)
        )
        self.direct: Channel | None = None
        self.ring: Channel | None = None
        self.arrived = 0

    async def setup(self) -> None:
        boss = await add_operator(
            self.core, HASHER, login="boss", password="long enough", role=Role.SUPERVISOR
        )
        await asyncio.gather(*(self.operator(i) for i in range(OPERATORS)))
        self.direct = await add_channel(self.core, ChannelKind("webchat"), "Direct chat", {})
        self.ring = await add_channel(self.core, ChannelKind("webchat"), "Ring chat", {})
        # Assigned at once, least loaded first; an operator who does not answer within
        # 2 s loses the conversation back to the queue.
        await self.router.save_queue(
            boss,
            "Direct",
            {
                "channels": [self.direct.id],
                "members": [f"op{i}" for i in range(6)],
                "skills": {"lenses": 1},
                "strategy": "least_loaded",
                "response_timeout": 2,
                "response_action": "reoffer",
            },
            create=True,
        )
        # Offered to every eligible member at once, 3 s to accept.
        await self.router.save_queue(
            boss,
            "Ring",
            {
                "channels": [self.ring.id],
                "members": [f"op{i}" for i in range(3, OPERATORS)],
                "skills": {"repairs": 1},
                "strategy": "ring_all",
                "accept_timeout": 3,
            },
            create=True,
        )

    async def operator(self, i: int) -> None:
        skills = {}
        if i < 6:
            skills["lenses"] = 1 + i % 3
        if i >= 3:
            skills["repairs"] = 2
        op = await add_operator(
            self.core,
            HASHER,
            login=f"op{i}",
            password="long enough",
            skills=skills,
            capacity=1 + i % 3,
        )
        await set_presence(self.core, op.id, Presence.ONLINE)

    async def customer_writes(self) -> None:
        n = self.arrived
        self.arrived += 1
        channel = self.direct if n % 3 else self.ring
        assert channel is not None
        # A new customer every time: a conversation is never reopened in this test.
        await ingest_inbound(
            self.core,
            InboundMessage(
                channel_id=channel.id,
                external_id=f"m{n}",
                sender=SenderProfile(f"customer-{n}", display_name=f"Customer {n}"),
                parts=(Text(f"hello {n}"),),
            ),
        )


# --------------------------------------------------------------------------- invariants


@dataclass
class Snapshot:
    """One consistent read of the routing state; ``problems`` lists what must not be."""

    problems: list[str] = field(default_factory=list)
    assigned: int = 0
    queued: int = 0
    offers: int = 0


async def snapshot(engine: AsyncEngine) -> Snapshot:
    """Reads everything in one REPEATABLE READ transaction and checks the invariants that
    hold at every commit."""
    out = Snapshot()
    async with engine.connect() as raw:
        conn = await raw.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            tx = SqlTx(conn)
            operators = {o.id: o for o in await tx.operators.list()}
            convs = {c.id: c for c in await tx.routing.list_routable()}
            offers = await tx.routing.list_offers()
            tasks = {
                t.conversation_id: t
                for t in await tx.routing.list_tasks((TaskStatus.WAITING, TaskStatus.ASSIGNED))
            }
    load: dict[OperatorId, float] = defaultdict(float)
    for conv in convs.values():
        task = tasks.get(conv.id)
        if conv.status is ConversationStatus.ASSIGNED:
            out.assigned += 1
            if conv.assignee_id is None:
                out.problems.append(f"{conv.id} is assigned to nobody")
                continue
            load[conv.assignee_id] += WEBCHAT_WEIGHT
            if task is None or task.status is not TaskStatus.ASSIGNED:
                status = task.status if task is not None else "missing"
                out.problems.append(f"{conv.id} is assigned but its task is {status}")
            elif task.assignee_id != conv.assignee_id:
                out.problems.append(
                    f"{conv.id} is assigned to {conv.assignee_id}, its task to {task.assignee_id}"
                )
        elif conv.status is ConversationStatus.QUEUED:
            out.queued += 1
            if conv.assignee_id is not None:
                out.problems.append(f"{conv.id} is queued with assignee {conv.assignee_id}")
            if task is not None and task.status is not TaskStatus.WAITING:
                out.problems.append(f"{conv.id} is queued but its task is {task.status}")
    for offer in offers:
        out.offers += 1
        load[offer.operator_id] += offer.weight
        offered = convs.get(offer.conversation_id)
        if offered is None or offered.status is not ConversationStatus.QUEUED:
            status = offered.status if offered is not None else "closed"
            out.problems.append(
                f"offer of {offer.conversation_id} to {offer.operator_id} pending while it "
                f"is {status}"
            )
    for oid, used in load.items():
        op = operators.get(oid)
        if op is None or used > op.capacity + 1e-9:
            capacity = op.capacity if op is not None else None
            out.problems.append(f"operator {oid} has load {used:g} > capacity {capacity}")
    return out


@dataclass(frozen=True, slots=True)
class Decision:
    conversation_id: str
    decided_at: datetime
    id: str
    outcome: str
    operator: str | None


def operator_of(outcome: str, explanation: dict[str, Any]) -> str | None:
    if outcome == "assign":
        winners = explanation.get("winners") or [None]
        return str(winners[0]) if winners[0] is not None else None
    value = explanation.get("operator")
    return str(value) if value is not None else None


async def decision_log(engine: AsyncEngine) -> dict[str, list[Decision]]:
    d = routing_decisions
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(d.c.conversation_id, d.c.decided_at, d.c.id, d.c.outcome, d.c.explanation)
        )
        by_conv: dict[str, list[Decision]] = defaultdict(list)
        for row in rows:
            cid, at, did, outcome, why = row
            by_conv[cid].append(Decision(cid, at, did, outcome, operator_of(outcome, dict(why))))
    for decisions in by_conv.values():
        decisions.sort(key=lambda x: (x.decided_at, x.id))
    return by_conv


async def final_statuses(engine: AsyncEngine) -> dict[str, tuple[ConversationStatus, str | None]]:
    c = conversations
    async with engine.connect() as conn:
        rows = await conn.execute(select(c.c.id, c.c.status, c.c.assignee_id))
        return {cid: (ConversationStatus(status), assignee) for cid, status, assignee in rows}


def check_log(
    log: dict[str, list[Decision]],
    statuses: dict[str, tuple[ConversationStatus, str | None]],
    records: dict[str, list[tuple[str, str, datetime]]],
) -> tuple[list[str], dict[str, int]]:
    """The decision log against itself, the final statuses and the processes' records;
    returns the problems and some counts."""
    problems: list[str] = []
    counts: dict[str, int] = defaultdict(int)
    # (conversation, episode) -> the processes that recorded its assignment.
    episodes: dict[tuple[str, int], list[str]] = defaultdict(list)
    by_instant: dict[tuple[str, datetime], tuple[int, Decision]] = {}
    for cid, decisions in log.items():
        requeues = 0
        holder: str | None = None  # who has it, by the log
        assigned = False
        for d in decisions:
            counts[d.outcome] += 1
            if d.outcome in ASSIGNS:
                if assigned:
                    problems.append(
                        f"{cid}: {d.outcome} to {d.operator} at {d.decided_at.isoformat()} while "
                        f"still assigned to {holder} (episode {requeues})"
                    )
                assigned, holder = True, d.operator
                key = (cid, d.decided_at)
                if key in by_instant:
                    problems.append(f"{cid}: two assignments at {d.decided_at.isoformat()}")
                by_instant[key] = (requeues, d)
            elif d.outcome in UNASSIGNS:
                if not assigned:
                    problems.append(f"{cid}: {d.outcome} at {d.decided_at.isoformat()} unassigned")
                assigned, holder = False, None
                requeues += 1
            elif d.outcome not in NEUTRAL:
                problems.append(f"{cid}: unexpected decision {d.outcome}")
        counts["max_episodes"] = max(counts["max_episodes"], requeues + 1)
        status, assignee = statuses.get(cid, (None, None))
        if status in (ConversationStatus.ASSIGNED, ConversationStatus.RESOLVED):
            if not assigned or holder != assignee:
                problems.append(f"{cid} ends {status} to {assignee}, the log says {holder}")
        elif status is ConversationStatus.QUEUED and assigned:
            problems.append(f"{cid} ends queued, the log says assigned to {holder}")
    for cid, (status, assignee) in statuses.items():
        if cid not in log and status is not ConversationStatus.QUEUED:
            problems.append(f"{cid} is {status} to {assignee} without any decision")
    matched: set[tuple[str, datetime]] = set()
    for process, recorded in records.items():
        for cid, operator, at in recorded:
            found = by_instant.get((cid, at))
            if found is None:
                problems.append(f"{process} recorded {cid} to {operator} at {at}: not in the log")
                continue
            episode, decision = found
            if decision.operator != operator:
                problems.append(
                    f"{process} recorded {cid} to {operator} at {at}; the log says "
                    f"{decision.operator}"
                )
            matched.add((cid, at))
            episodes[(cid, episode)].append(process)
    for (cid, episode), processes in episodes.items():
        if len(processes) > 1:
            problems.append(f"{cid} episode {episode} assigned by {sorted(processes)}")
    for key, (episode, decision) in by_instant.items():
        if key not in matched:
            problems.append(
                f"{decision.conversation_id} episode {episode}: {decision.outcome} to "
                f"{decision.operator} recorded by no process"
            )
    return problems, counts


# --------------------------------------------------------------------------- processes


def _open_log(path: Path) -> IO[bytes]:
    return path.open("wb")


@dataclass
class Proc:
    name: str
    process: asyncio.subprocess.Process
    stderr_path: Path
    result_path: Path

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return ""


async def spawn(name: str, config: WorkerConfig, tmp_path: Path) -> Proc:
    stderr_path = tmp_path / f"{name}.stderr"
    log = _open_log(stderr_path)
    try:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.redis.routing_worker",
            config.to_json(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            cwd=ROOT,
            env=env,
        )
    finally:
        log.close()  # the child has its own copy
    return Proc(name, process, stderr_path, Path(config.result_path))


async def expect_line(proc: Proc, want: str, timeout: float) -> None:
    assert proc.process.stdout is not None
    try:
        async with asyncio.timeout(timeout):
            line = await proc.process.stdout.readline()
    except TimeoutError:
        line = b"(timed out)"
    assert line.decode().strip() == want, f"{proc.name} said {line!r}:\n{proc.stderr()}"


async def stop(procs: list[Proc]) -> None:
    """Kill whatever still runs and reap every process: no zombies, whatever happened."""
    for proc in procs:
        if proc.process.returncode is None:
            proc.process.kill()
    for proc in procs:
        await proc.process.wait()


# --------------------------------------------------------------------------- the test


async def test_two_processes_never_assign_one_conversation_twice_nor_beyond_capacity(
    redis_url: str, channel_prefix: str, schema_url: str, tmp_path: Path
) -> None:
    store = await open_store(schema_url)
    bus = RedisEventBus(redis_url, registry=event_registry(), channel_prefix=channel_prefix)
    engine = make_engine(schema_url)
    procs: list[Proc] = []
    try:
        # The workers start (imports, connections) while this process sets up.
        for n, name in enumerate(("a", "b")):
            config = WorkerConfig(
                name=name,
                database_url=schema_url,
                redis_url=redis_url,
                channel_prefix=channel_prefix,
                seconds=RUN_SECONDS,
                max_seconds=MAX_RUN_SECONDS,
                seed=random.randrange(2**32) + n,
                result_path=str(tmp_path / f"{name}.json"),
            )
            procs.append(await spawn(name, config, tmp_path))
        bus.start()
        async with asyncio.timeout(LISTEN_TIMEOUT):
            await bus.wait_listening()
        shop = Shop(store, bus)
        await shop.setup()
        await asyncio.gather(*(shop.customer_writes() for _ in range(CONVERSATIONS_BEFORE)))
        for proc in procs:
            await expect_line(proc, "ready", START_TIMEOUT)
        for proc in procs:
            assert proc.process.stdin is not None
            proc.process.stdin.write(b"go\n")
            await proc.process.stdin.drain()

        async def arrivals() -> None:
            rng = random.Random()
            pause = RUN_SECONDS * 0.7 / CONVERSATIONS_DURING
            for _ in range(CONVERSATIONS_DURING):
                await asyncio.sleep(rng.uniform(0, 2 * pause))
                await shop.customer_writes()

        async def finished() -> None:
            for proc in procs:
                await expect_line(proc, "done", MAX_RUN_SECONDS + FINISH_TIMEOUT)
                async with asyncio.timeout(FINISH_TIMEOUT):
                    await proc.process.wait()

        problems: list[str] = []
        snapshots = 0
        busy = 0  # snapshots with several conversations assigned and some waiting
        arriving = asyncio.create_task(arrivals())
        done = asyncio.create_task(finished())
        try:
            while not done.done():
                seen = await snapshot(engine)
                snapshots += 1
                busy += seen.assigned >= OPERATORS // 2 and seen.queued > 0
                problems += [f"during the run: {p}" for p in seen.problems]
                await asyncio.sleep(0.02)
            await done
            await arriving
        finally:
            for task in (arriving, done):
                task.cancel()
            await asyncio.gather(arriving, done, return_exceptions=True)

        for proc in procs:
            assert proc.process.returncode == 0, f"{proc.name} failed:\n{proc.stderr()}"
        results = {
            proc.name: json.loads(proc.result_path.read_text(encoding="utf-8")) for proc in procs
        }

        final = await snapshot(engine)
        problems += [f"at the end: {p}" for p in final.problems]
        records = {
            name: [(r[0], r[1], datetime.fromisoformat(r[2])) for r in result["assigned"]]
            for name, result in results.items()
        }
        log_problems, counts = check_log(
            await decision_log(engine), await final_statuses(engine), records
        )
        problems += log_problems

        summary = {
            name: {k: v for k, v in r.items() if k != "assigned"} | {"assigned": len(r["assigned"])}
            for name, r in results.items()
        }
        report = json.dumps(
            {"snapshots": snapshots, "busy": busy, "decisions": counts, "workers": summary},
            indent=1,
            default=str,
        )
        print(report)
        # Each problem once (the monitor sees a lasting one in many snapshots), in order.
        unique = list(dict.fromkeys(problems))
        assert not unique, "\n".join(unique[:40]) + f"\n({len(unique)} problems)\n{report}"
        for name, result in results.items():
            assert not result["errors"], f"{name}: " + "\n".join(result["errors"][:5])
            # Both processes did real work and heard each other through Redis.
            assert result["counts"].get("pass", 0) > 0, report
            assert result["assigned"], f"{name} assigned nothing\n{report}"
            assert result["remote_events"] > 0, report
        # The invariants were checked while conversations waited for busy operators. (How
        # many accepts, picks and requeues a run has depends on the machine's speed: they
        # are in the report, not asserted.)
        assert snapshots >= 5, report
        assert busy > 0, report
    finally:
        await stop(procs)
        await bus.stop()
        await store.close()
        await engine.dispose()
