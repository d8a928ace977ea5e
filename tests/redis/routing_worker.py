"""One "server process" for ``test_routing_two_processes.py``: a RoutingService on its own
store and Redis bus, racing another such process over the same PostgreSQL schema.

Run as ``python -m tests.redis.routing_worker CONFIG_JSON``. It opens the store and the bus,
prints ``ready``, waits for ``go`` on stdin, then for ``seconds`` (see ``max_seconds``)
runs routing passes as fast as it can while other tasks accept, decline and pick offers and
conversations, resolve assigned conversations and toggle operators' presence (the expected
refusals of those races are counted, anything else is recorded as an error). At the end it
stops the bus, closes the store and writes what it did to ``result_path`` as JSON: every
assignment it committed (conversation, operator, the instant of the decision), the counts
and the timings.

Not a test module: pytest does not collect it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inbox.domain.clock import SystemClock
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import DomainError
from inbox.domain.events import ConversationChanged, Event
from inbox.domain.operators import Operator, Presence
from inbox.ports import EventHandler
from inbox.usecases import Core, resolve_conversation, set_presence
from routing import RoutingService, RoutingSettings, RoutingTx
from routing.records import OfferRecord
from server.channels import CATALOG
from server.events import event_registry
from storage import SqlStore, open_store
from storage.redis_bus import RedisEventBus

__all__ = ["WorkerConfig", "main"]

#: Tasks per process that race the routing passes with console commands.
CHAOS_TASKS = 3
#: Passes a process runs at least (see ``WorkerConfig.max_seconds``).
MIN_PASSES = 3
#: Operators that the chaos sends away at most at once (as far as one process sees).
MAX_AWAY = 2


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    name: str
    database_url: str
    redis_url: str
    channel_prefix: str
    #: How long to race.
    seconds: float
    #: On a slow machine, go on past ``seconds`` (up to this) until this process has run
    #: a few passes and committed an assignment, so that the test is never vacuous.
    max_seconds: float
    seed: int
    result_path: str

    @staticmethod
    def from_json(text: str) -> WorkerConfig:
        return WorkerConfig(**json.loads(text))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))


@dataclass
class Tally:
    #: [conversation id, operator id, ISO instant of the decision] of every assignment
    #: this process committed (passes, accepts and picks alike).
    assigned: list[list[str]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    #: Per kind of work: [how many, total seconds, longest seconds].
    timings: dict[str, list[float]] = field(default_factory=dict)
    local_events: int = 0
    all_events: int = 0

    def timed(self, what: str, seconds: float) -> None:
        t = self.timings.setdefault(what, [0, 0.0, 0.0])
        t[0] += 1
        t[1] += seconds
        t[2] = max(t[2], seconds)

    def to_json(self) -> dict[str, Any]:
        return {
            "assigned": self.assigned,
            "counts": dict(self.counts),
            "errors": self.errors,
            "timings": {k: [round(v, 3) for v in t] for k, t in self.timings.items()},
            "local_events": self.local_events,
            "remote_events": self.all_events - self.local_events,
        }


class RecordingBus:
    """The process's bus, recording the assignments this process committed: ``publish`` is
    called after a commit with exactly that transaction's events; the other process's
    events arrive through the Redis listener and never pass here."""

    def __init__(self, inner: RedisEventBus, tally: Tally) -> None:
        self._inner = inner
        self._tally = tally

    async def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            if not isinstance(event, ConversationChanged) or event.reason != "assigned":
                continue
            conv, assignee = event.conversation, event.conversation.assignee_id
            if conv.status is ConversationStatus.ASSIGNED and assignee is not None:
                self._tally.assigned.append([conv.id, assignee, conv.updated_at.isoformat()])
        self._tally.local_events += len(events)
        await self._inner.publish(events)

    def subscribe(self, handler: EventHandler) -> None:
        self._inner.subscribe(handler)


@dataclass(frozen=True, slots=True)
class _View:
    operators: list[Operator]
    convs: list[Conversation]
    offers: list[OfferRecord]


async def _view(store: SqlStore) -> _View:
    async def work(tx: RoutingTx) -> _View:
        return _View(
            await tx.operators.list(),
            await tx.routing.list_routable(),
            await tx.routing.list_offers(),
        )

    return await store.read(work)


class Worker:
    def __init__(self, config: WorkerConfig, store: SqlStore, bus: RedisEventBus) -> None:
        self.config = config
        self.store = store
        self.tally = Tally()
        self.core = Core(
            store=store, bus=RecordingBus(bus, self.tally), clock=SystemClock(), channels=CATALOG
        )
        self.router = RoutingService(
            self.core, store, settings=RoutingSettings(presence_stale_seconds=None)
        )
        bus.subscribe(self.router.on_event)
        bus.subscribe(self._count)
        self.rng = random.Random(config.seed)
        self.started = 0.0

    async def _count(self, event: Event) -> None:
        self.tally.all_events += 1

    async def _attempt(
        self, what: str, action: Callable[..., Awaitable[object]], *args: object
    ) -> None:
        """Run one racing command: success and the domain's refusals are expected."""
        started = time.perf_counter()
        try:
            await action(*args)
        except DomainError as exc:
            self.tally.counts[f"{what}:{exc.code}"] += 1
        except Exception:
            self.tally.errors.append(f"{what}: {traceback.format_exc()}")
        else:
            self.tally.counts[f"{what}:ok"] += 1
        finally:
            self.tally.timed(what, time.perf_counter() - started)

    def going(self) -> bool:
        now = asyncio.get_running_loop().time()
        if now < self.started + self.config.seconds:
            return True
        enough = self.tally.counts["pass"] >= MIN_PASSES and self.tally.assigned
        return not enough and now < self.started + self.config.max_seconds

    async def passes(self) -> None:
        while self.going():
            started = time.perf_counter()
            try:
                await self.router.run_pass()
            except Exception:
                self.tally.errors.append(f"run_pass: {traceback.format_exc()}")
            else:
                self.tally.counts["pass"] += 1
            finally:
                self.tally.timed("pass", time.perf_counter() - started)
            await asyncio.sleep(0)

    async def chaos(self) -> None:
        rng = self.rng
        while self.going():
            started = time.perf_counter()
            view = await _view(self.store)
            self.tally.timed("read", time.perf_counter() - started)
            by_id = {o.id: o for o in view.operators}
            members = [o for o in view.operators if o.login.startswith("op")]
            queued = [c for c in view.convs if c.status is ConversationStatus.QUEUED]
            assigned = [c for c in view.convs if c.status is ConversationStatus.ASSIGNED]
            roll = rng.random()
            if roll < 0.30 and view.offers:
                offer = rng.choice(view.offers)
                actor = by_id[offer.operator_id]
                await self._attempt(
                    "accept", self.router.accept_offer, actor, offer.conversation_id
                )
            elif roll < 0.40 and view.offers:
                offer = rng.choice(view.offers)
                actor = by_id[offer.operator_id]
                await self._attempt(
                    "decline", self.router.decline_offer, actor, offer.conversation_id
                )
            elif roll < 0.55 and queued:
                actor = rng.choice(members)
                await self._attempt("pick", self.router.pick, actor, rng.choice(queued).id)
            elif roll < 0.90 and assigned:
                conv = rng.choice(assigned)
                assert conv.assignee_id is not None
                actor = by_id[conv.assignee_id]
                await self._attempt("resolve", resolve_conversation, self.core, actor, conv.id)
            else:
                # Away and back: mostly back, so that most operators stay online.
                away = [o for o in members if o.presence is not Presence.ONLINE]
                online = [o for o in members if o.presence is Presence.ONLINE]
                if away and (len(away) >= MAX_AWAY or not online or rng.random() < 0.5):
                    op, presence = rng.choice(away), Presence.ONLINE
                else:
                    op, presence = rng.choice(online), Presence.AWAY
                await self._attempt("presence", set_presence, self.core, op.id, presence)
            await asyncio.sleep(rng.uniform(0, 0.01))

    async def run(self) -> None:
        self.started = asyncio.get_running_loop().time()
        await asyncio.gather(self.passes(), *(self.chaos() for _ in range(CHAOS_TASKS)))


async def main(config: WorkerConfig) -> None:
    store = await open_store(config.database_url)
    bus = RedisEventBus(
        config.redis_url, registry=event_registry(), channel_prefix=config.channel_prefix
    )
    worker = Worker(config, store, bus)
    try:
        bus.start()
        async with asyncio.timeout(10):
            await bus.wait_listening()
        print("ready", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        if line.strip() != "go":
            raise RuntimeError(f"expected go, got {line!r}")
        await worker.run()
    finally:
        await bus.stop()
        await store.close()
    result = json.dumps(worker.tally.to_json())
    await asyncio.to_thread(Path(config.result_path).write_text, result, "utf-8")
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(WorkerConfig.from_json(sys.argv[1])))
