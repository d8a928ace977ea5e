"""Property tests of the routing *service* on a real database: hypothesis draws a small
contact centre (operators with skills and capacities, two skill queues and an overflow
queue, each with a drawn strategy, accept timeout and escalation) and a random history
(customer messages on three channels, presence changes, accepts, declines, time passing
past accept timeouts and escalation steps, supervisor transfers to an operator, a queue or
a skill, picks by hand, operator replies, resolutions, returning customers). After every
step the real ``RoutingService.run_pass`` runs and the invariants are checked by reading
the database:

1. capacity: no operator's weighted load (assigned conversations + pending offers) exceeds
   their capacity; conversations, tasks and offers agree with one another;
2. skills: every ``assign``/``offer`` decision went to online members of the decision's
   queue, not among the task's refusals, with the queue's skills, the transfer's extra
   skills and the skills of the escalation step in force (recomputed here from the drawn
   settings); an ``accept`` follows an offer to that operator;
3. no idle wait: after a pass no task waits while an online member with the required
   skills, matching the step in force, who has not refused it, has room for it and no
   offer is pending for it (under ring-all a pending offer does not excuse it);
4. priority: no task was given (assigned or offered) in a pass to an operator while a task
   of the same queue ranked above it (priority, then waiting time, then id) ended the pass
   waiting, with no offer, and could have had that operator in its place;
5. liveness: at the end everyone comes online, including an all-skilled operator who is a
   member of every queue, time runs past every timeout and step, offers are accepted:
   every open conversation ends assigned.

The oracle (:func:`step_in_force`, :func:`could_take`) is restated from ``docs/routing.md``
over the drawn settings, not taken from ``routing.policy``. Every example gets a fresh
database (a copy of the migrated SQLite file; the PostgreSQL schema emptied) and
deterministic ids, so a failure replays. The last tests are deterministic decision tables.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

import inbox.domain.ids
from inbox.bus import InProcessEventBus
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import Text
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import Conflict, Forbidden
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.domain.operators import Operator, Presence, Role
from inbox.usecases import (
    Core,
    add_channel,
    add_operator,
    ingest_inbound,
    resolve_conversation,
    send_reply,
    set_presence,
)
from operator_ws import Argon2PasswordHasher
from routing import RoutingService, RoutingSettings, RoutingTx
from routing.policy import DEFAULT_WEIGHTS
from routing.records import DecisionRecord, OfferRecord, QueueId, RoutingTask, TaskStatus
from server.channels import CATALOG
from storage import SqlStore, make_engine, open_store
from storage.tables import metadata

HASHER = Argon2PasswordHasher(fast_for_tests=True)
WEIGHTS = {**DEFAULT_WEIGHTS, ChannelKind("email"): 0.5}
EPS = 1e-9
STRATEGIES = ("least_loaded", "longest_idle", "round_robin", "ring_all")
SKILLS = ("lenses", "repairs")
#: channel name → (kind, queue it feeds)
CHANNELS: dict[str, tuple[ChannelKind, str]] = {
    "web": (ChannelKind("webchat"), "A"),
    "mail": (ChannelKind("email"), "A"),
    "tg": (ChannelKind("telegram"), "B"),
}
N_OPS = 4
ACE = "ace"  # all skills, room for everything, offline until the drain; never refuses


# -- the drawn contact centre ----------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    after: float
    target: str  # last_operator | skills | any | overflow
    skills: Mapping[str, int] = field(default_factory=dict)
    queue: str = ""

    def settings(self) -> dict[str, object]:
        out: dict[str, object] = {"after": self.after, "target": self.target}
        if self.target == "skills":
            out["skills"] = dict(self.skills)
        if self.target == "overflow":
            out["queue"] = self.queue
        return out


@dataclass(frozen=True)
class QueueSpec:
    name: str
    skills: Mapping[str, int]
    members: tuple[str, ...]  # logins, in round-robin order
    strategy: str
    timeout: float | None
    escalation: tuple[Step, ...] = ()
    returning_bonus: int = 0

    @property
    def ring_all(self) -> bool:
        return self.strategy == "ring_all"

    def settings(self) -> dict[str, object]:
        out: dict[str, object] = {
            "channels": [],  # filled in with ids
            "members": list(self.members),
            "skills": dict(self.skills),
            "strategy": self.strategy,
        }
        if self.timeout is not None:
            out["accept_timeout"] = self.timeout
        if self.escalation:
            out["escalation"] = [s.settings() for s in self.escalation]
        if self.returning_bonus:
            out["priority"] = [{"rule": "returning", "bonus": self.returning_bonus}]
        return out


@dataclass(frozen=True)
class OpSpec:
    login: str
    skills: Mapping[str, int]
    capacity: int
    online: bool


@dataclass(frozen=True)
class Scenario:
    ops: tuple[OpSpec, ...]
    queues: tuple[QueueSpec, ...]  # the overflow target first: it must exist to be named


skills_st = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 3), max_size=2)


@st.composite
def queue_specs(draw: st.DrawFn, name: str, skill: str | None) -> QueueSpec:
    logins = [f"op{i}" for i in range(N_OPS)]
    chosen = draw(st.lists(st.sampled_from(logins), unique=True, min_size=1, max_size=N_OPS))
    members = list(chosen)
    members.insert(draw(st.integers(0, len(members))), ACE)
    strategy = draw(st.sampled_from(STRATEGIES))
    timeout = 30.0 if strategy == "ring_all" else draw(st.sampled_from([None, 30.0]))
    escalation: tuple[Step, ...] = ()
    if name == "B":
        escalation = draw(
            st.sampled_from(
                [
                    (),
                    (Step(0, "any"), Step(120, "overflow", queue="C")),
                    (
                        Step(0, "last_operator"),
                        Step(60, "skills", {"repairs": 2}),
                        Step(120, "any"),
                        Step(240, "overflow", queue="C"),
                    ),
                    (Step(0, "skills", {"repairs": 3, "lenses": 1}), Step(90, "any")),
                ]
            )
        )
    return QueueSpec(
        name=name,
        skills={skill: 1} if skill else {},
        members=tuple(members),
        strategy=strategy,
        timeout=timeout,
        escalation=escalation,
        returning_bonus=5 if name != "C" else 0,
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    ops = tuple(
        OpSpec(
            f"op{i}",
            draw(skills_st),
            draw(st.sampled_from([0, 1, 1, 1, 2, 2, 3])),
            # mostly offline at first: a backlog builds up, then operators come online
            draw(st.sampled_from([True, False, False])),
        )
        for i in range(N_OPS)
    )
    queues = (
        draw(queue_specs("C", None)),
        draw(queue_specs("A", "lenses")),
        draw(queue_specs("B", "repairs")),
    )
    return Scenario(ops, queues)


conv_pick = st.integers(0, 99)
write_st = st.tuples(st.just("write"), st.sampled_from(sorted(CHANNELS)), st.integers(0, 5))
transfer_target = st.one_of(
    st.tuples(st.just("operator"), st.integers(0, N_OPS - 1)),
    st.tuples(st.just("queue"), st.sampled_from(["A", "B", "C"])),
    st.tuples(
        st.just("skills"),
        st.sampled_from([{"lenses": 2}, {"repairs": 3}, {"lenses": 1, "repairs": 1}]),
    ),
)
presence_st = st.tuples(
    st.just("presence"),
    st.integers(0, N_OPS - 1),
    st.sampled_from([Presence.ONLINE, Presence.ONLINE, Presence.AWAY, Presence.OFFLINE]),
)
events_st = st.lists(
    st.one_of(
        # messages (and bursts of new customers) most likely: queues fill up
        write_st,
        write_st,
        st.tuples(st.just("burst"), st.sampled_from(sorted(CHANNELS)), st.integers(2, 4)),
        presence_st,
        presence_st,
        st.tuples(st.just("accept"), conv_pick),
        st.tuples(st.just("decline"), conv_pick),
        st.tuples(st.just("tick"), st.sampled_from([1.0, 10.0, 31.0, 65.0, 200.0])),
        st.tuples(st.just("transfer"), conv_pick, transfer_target),
        st.tuples(st.just("resolve"), conv_pick),
        st.tuples(st.just("return"), conv_pick),
        st.tuples(st.just("reply"), conv_pick),
        st.tuples(st.just("pick"), st.integers(0, N_OPS - 1), conv_pick),
    ),
    min_size=8,
    max_size=30,
)


# -- the oracle --------------------------------------------------------------------------------


def step_in_force(q: QueueSpec, task: RoutingTask, now: datetime) -> tuple[int, Step]:
    """The latest step whose time has come (from entering the queue); a last-operator step
    of a task with no last operator hands over to the next one; no steps: anyone."""
    steps = list(q.escalation) or [Step(0, "any")]
    elapsed = (now - task.entered_queue_at).total_seconds()
    index = max([i for i, s in enumerate(steps) if s.after <= elapsed], default=0)
    while (
        index + 1 < len(steps)
        and steps[index].target == "last_operator"
        and task.last_operator_id is None
    ):
        index += 1
    return index, steps[index]


def required(q: QueueSpec, task: RoutingTask) -> dict[str, int]:
    out = dict(q.skills)
    for name, level in task.extra_skills.items():
        out[name] = max(level, out.get(name, 0))
    return out


def has_skills(op: Operator, skills: Mapping[str, int]) -> bool:
    return all(op.skills.get(k, 0) >= v for k, v in skills.items())


def fits_step(op: Operator, task: RoutingTask, step: Step) -> bool:
    if step.target == "overflow":
        return False
    if step.target == "last_operator":
        return op.id == task.last_operator_id
    return has_skills(op, step.skills)


def weight(kind: str) -> float:
    return WEIGHTS.get(ChannelKind(kind), 1.0)


def rank(task: RoutingTask) -> tuple[int, datetime, str]:
    return (-task.priority, task.entered_queue_at, task.conversation_id)


# -- reading the database ----------------------------------------------------------------------


@dataclass
class State:
    now: datetime
    ops: dict[OperatorId, Operator]
    convs: dict[ConversationId, Conversation]
    tasks: dict[ConversationId, RoutingTask]
    offers: dict[ConversationId, list[OfferRecord]]
    decisions: dict[ConversationId, list[DecisionRecord]]

    def load(self, op_id: OperatorId) -> float:
        held = sum(
            weight(c.channel_kind)
            for c in self.convs.values()
            if c.status is ConversationStatus.ASSIGNED and c.assignee_id == op_id
        )
        offered = sum(o.weight for os in self.offers.values() for o in os if o.operator_id == op_id)
        return held + offered

    def waiting(self) -> list[RoutingTask]:
        return [t for t in self.tasks.values() if t.status is TaskStatus.WAITING]


# -- the world ---------------------------------------------------------------------------------


@contextmanager
def deterministic_ids() -> Iterator[None]:
    """Ids from a counter (hashed, so their order is not the creation order): ties broken
    by id replay the same way."""
    counter = itertools.count()

    class _Secrets:
        @staticmethod
        def token_hex(n: int) -> str:
            return hashlib.sha256(f"id{next(counter)}".encode()).hexdigest()[: 2 * n]

    with mock.patch.object(inbox.domain.ids, "secrets", _Secrets):
        yield


class World:
    def __init__(self, store: SqlStore, scenario: Scenario) -> None:
        self.scenario = scenario
        self.clock = FixedClock()
        self.bus = InProcessEventBus()
        self.store = store
        self.core = Core(store=store, bus=self.bus, clock=self.clock, channels=CATALOG)
        self.router = RoutingService(
            self.core, store, weights=WEIGHTS, settings=RoutingSettings(presence_stale_seconds=None)
        )
        self.bus.subscribe(self.router.on_event)
        self.ops: dict[str, Operator] = {}
        self.channels: dict[str, Channel] = {}
        self.queues: dict[QueueId, QueueSpec] = {}
        self.conv_ids: list[ConversationId] = []
        #: conversation → (channel, customer), to write again
        self.sender: dict[ConversationId, tuple[str, int]] = {}
        self.seen: set[str] = set()
        self.counter = itertools.count()
        self.log: list[str] = []

    async def setup(self) -> None:
        self.boss = await self._operator("boss", {}, 0, Role.SUPERVISOR)
        for spec in self.scenario.ops:
            self.ops[spec.login] = await self._operator(spec.login, spec.skills, spec.capacity)
        self.ops[ACE] = await self._operator(ACE, dict.fromkeys(SKILLS, 10), 100)
        for name, (kind, _) in CHANNELS.items():
            self.channels[name] = await add_channel(self.core, kind, name, {})
        for q in self.scenario.queues:
            doc = q.settings()
            doc["channels"] = [
                c.id for n, (_, qn) in CHANNELS.items() if qn == q.name for c in [self.channels[n]]
            ]
            saved = await self.router.save_queue(self.boss, q.name, doc, create=True)
            self.queues[QueueId(str(saved["id"]))] = q
        for spec in self.scenario.ops:
            if spec.online:
                await set_presence(self.core, self.ops[spec.login].id, Presence.ONLINE)
        await self.pass_and_check()

    async def _operator(
        self, login: str, skills: Mapping[str, int], capacity: int, role: Role = Role.OPERATOR
    ) -> Operator:
        return await add_operator(
            self.core,
            HASHER,
            login=login,
            password="long enough",
            role=role,
            skills=dict(skills),
            capacity=capacity,
        )

    def login_of(self, op_id: OperatorId | None) -> str:
        return next((lg for lg, o in self.ops.items() if o.id == op_id), str(op_id))

    async def read(self) -> State:
        async def work(tx: RoutingTx) -> State:
            offers: dict[ConversationId, list[OfferRecord]] = defaultdict(list)
            for o in await tx.routing.list_offers():
                offers[o.conversation_id].append(o)
            return State(
                now=self.clock.now(),
                ops={o.id: o for o in await tx.operators.list()},
                convs={c.id: c for c in await tx.routing.list_routable()},
                tasks={
                    t.conversation_id: t
                    for t in await tx.routing.list_tasks((TaskStatus.WAITING, TaskStatus.ASSIGNED))
                },
                offers=dict(offers),
                decisions={
                    cid: await tx.routing.list_decisions(cid, limit=10_000) for cid in self.conv_ids
                },
            )

        return await self.store.read(work)

    # events --------------------------------------------------------------------------------

    def _pick(self, items: Sequence[ConversationId], pick: int) -> ConversationId | None:
        return items[pick % len(items)] if items else None

    async def _convs(self, *statuses: ConversationStatus) -> list[ConversationId]:
        s = await self.read()
        return [c for c in self.conv_ids if c in s.convs and s.convs[c].status in statuses]

    async def _pending(self) -> list[OfferRecord]:
        s = await self.read()
        order = {c: i for i, c in enumerate(self.conv_ids)}
        flat = [o for os in s.offers.values() for o in os]
        return sorted(flat, key=lambda o: (order[o.conversation_id], self.login_of(o.operator_id)))

    def _actor(self, op_id: OperatorId) -> Operator:
        return next(o for o in [*self.ops.values(), self.boss] if o.id == op_id)

    async def play(self, event: tuple[Any, ...]) -> None:
        self.log.append(repr(event))
        match event:
            case ("write", str(channel), int(customer)):
                self.clock.advance(1)
                result = await ingest_inbound(
                    self.core,
                    InboundMessage(
                        channel_id=self.channels[channel].id,
                        external_id=f"m{next(self.counter)}",
                        sender=SenderProfile(f"cust{customer}", display_name=f"cust{customer}"),
                        parts=(Text("hello"),),
                    ),
                )
                if result.conversation.id not in self.conv_ids:
                    self.conv_ids.append(result.conversation.id)
                    self.sender[result.conversation.id] = (channel, customer)
            case ("burst", str(channel), int(n)):
                for _ in range(n):  # new customers, one after another, before the pass
                    await self.play(("write", channel, 100 + next(self.counter)))
            case ("presence", int(i), Presence() as presence):
                await set_presence(self.core, self.ops[f"op{i}"].id, presence)
            case ("accept", int(pick)):
                pending = await self._pending()
                if pending:
                    o = pending[pick % len(pending)]
                    conv = await self.router.accept_offer(
                        self._actor(o.operator_id), o.conversation_id
                    )
                    assert conv.assignee_id == o.operator_id
            case ("decline", int(pick)):
                pending = await self._pending()
                if pending:
                    o = pending[pick % len(pending)]
                    await self.router.decline_offer(self._actor(o.operator_id), o.conversation_id)
            case ("tick", float(seconds)):
                self.clock.advance(seconds)
            case ("transfer", int(pick), target):
                cid = self._pick(
                    await self._convs(ConversationStatus.QUEUED, ConversationStatus.ASSIGNED), pick
                )
                if cid is None:
                    return
                with _allowed(Conflict):
                    match target:
                        case ("operator", int(i)):
                            await self.router.transfer(
                                self.boss, cid, operator_id=self.ops[f"op{i}"].id
                            )
                        case ("queue", str(name)):
                            await self.router.transfer(self.boss, cid, queue=name)
                        case ("skills", dict(skills)):
                            await self.router.transfer(self.boss, cid, skills=skills)
                        case _:
                            raise AssertionError(target)
            case ("resolve", int(pick)):
                s = await self.read()
                cid = self._pick([c for c in self.conv_ids if c in s.convs], pick)
                if cid is not None:
                    holder = s.convs[cid].assignee_id
                    actor = self._actor(holder) if holder else self.boss
                    await resolve_conversation(self.core, actor, cid)
            case ("return", int(pick)):
                # Resolved, and the customer writes again: reopened, a returning customer.
                s = await self.read()
                cid = self._pick([c for c in self.conv_ids if c in s.convs], pick)
                if cid is not None:
                    holder = s.convs[cid].assignee_id
                    actor = self._actor(holder) if holder else self.boss
                    await resolve_conversation(self.core, actor, cid)
                    # A pass in between ends the episode (without one the episode is
                    # lost: test_a_reopen_between_two_passes_starts_a_new_episode).
                    await self.pass_and_check()
                    await self.play(("write", *self.sender[cid]))
            case ("reply", int(pick)):
                s = await self.read()
                cid = self._pick(await self._convs(ConversationStatus.ASSIGNED), pick)
                if cid is not None:
                    holder = s.convs[cid].assignee_id
                    assert holder is not None
                    await send_reply(
                        self.core,
                        self._actor(holder),
                        cid,
                        (Text("on it"),),
                        f"r{next(self.counter)}",
                    )
            case ("pick", int(i), int(pick)):
                cid = self._pick(await self._convs(ConversationStatus.QUEUED), pick)
                if cid is not None:
                    with _allowed(Conflict, Forbidden):
                        conv = await self.router.pick(self.ops[f"op{i}"], cid)
                        assert conv.assignee_id == self.ops[f"op{i}"].id
            case _:
                raise AssertionError(event)

    # invariants ----------------------------------------------------------------------------

    async def pass_and_check(self) -> State:
        await self.router.run_pass()
        s = await self.read()
        new = [d for ds in s.decisions.values() for d in ds if d.id not in self.seen]
        self.seen |= {d.id for d in new}
        self.check_books(s)
        self.check_decisions(s, new)
        self.check_no_idle_wait(s)
        self.check_priority(s, new)
        return s

    def check_books(self, s: State) -> None:
        """1. Capacity, and conversations, tasks and offers agree."""
        for op in s.ops.values():
            assert s.load(op.id) <= op.capacity + EPS, (
                f"{op.login} holds {s.load(op.id)} > capacity {op.capacity}"
            )
        for cid, conv in s.convs.items():
            task = s.tasks.get(cid)
            assert task is not None, f"{cid} has no task"
            if conv.status is ConversationStatus.QUEUED:
                assert task.status is TaskStatus.WAITING, (cid, task)
            elif conv.status is ConversationStatus.ASSIGNED:
                assert task.status is TaskStatus.ASSIGNED, (cid, task)
                assert task.assignee_id == conv.assignee_id, (cid, task)
                assert cid not in s.offers, f"offers pending for the assigned {cid}"
        for cid, offers in s.offers.items():
            task = s.tasks.get(cid)
            assert task is not None, cid
            assert task.status is TaskStatus.WAITING, (cid, task)
            for o in offers:
                assert o.queue_id == task.queue_id
                assert o.expires_at > s.now, f"an expired offer survived a pass: {o}"
                assert s.ops[o.operator_id].presence is Presence.ONLINE, o
                assert abs(o.weight - weight(task.channel_kind)) < EPS

    def check_decisions(self, s: State, new: list[DecisionRecord]) -> None:
        """2. Router assignments and offers go to eligible operators under the step in
        force; an accept follows an offer."""
        for d in new:
            if d.outcome in ("assign", "offer"):
                assert d.decided_at == s.now
                q = self.queues[d.queue_id]
                task = s.tasks[d.conversation_id]
                assert task.queue_id == d.queue_id
                index, step = step_in_force(q, task, s.now)
                assert d.explanation["step_index"] == index, (d.explanation, index)
                winners = [OperatorId(str(w)) for w in d.explanation["winners"]]
                assert winners
                if d.outcome == "assign":
                    assert winners == [task.assignee_id]
                for w in winners:
                    op = s.ops[w]
                    assert op.login in q.members, (op.login, q)
                    assert op.presence is Presence.ONLINE, op
                    assert has_skills(op, required(q, task)), (op.login, op.skills, task)
                    assert fits_step(op, task, step), (op.login, op.skills, step)
                    assert w not in task.declined_by
            elif d.outcome == "accept":
                who = d.explanation["operator"]
                earlier = s.decisions[d.conversation_id]
                offered = [
                    x
                    for x in earlier[: earlier.index(d)]
                    if x.outcome == "offer" and who in x.explanation["winners"]
                ]
                assert offered, f"{who} accepted {d.conversation_id} without an offer"

    def could_take(
        self, s: State, task: RoutingTask, op: Operator, load: float | None = None
    ) -> bool:
        q = self.queues[task.queue_id]
        _, step = step_in_force(q, task, s.now)
        offered = {o.operator_id for o in s.offers.get(task.conversation_id, [])}
        used = s.load(op.id) if load is None else load
        return (
            op.login in q.members
            and op.presence is Presence.ONLINE
            and not op.disabled
            and has_skills(op, required(q, task))
            and fits_step(op, task, step)
            and op.id not in task.declined_by
            and op.id not in offered
            and used + weight(task.channel_kind) <= op.capacity + EPS
        )

    def check_no_idle_wait(self, s: State) -> None:
        """3. Nobody waits while an eligible operator has room."""
        for task in s.waiting():
            q = self.queues[task.queue_id]
            _, step = step_in_force(q, task, s.now)
            assert step.target != "overflow", f"{task} should have overflowed"
            if task.conversation_id in s.offers and not q.ring_all:
                continue
            idle = [op.login for op in s.ops.values() if self.could_take(s, task, op)]
            assert not idle, f"{task} waits in {q.name} while {idle} could take it"

    def check_priority(self, s: State, new: list[DecisionRecord]) -> None:
        """4. No operator was given a task while a task ranked above it, left waiting with
        no offer, could have had them instead (their load less the given task)."""
        served = [d for d in new if d.outcome in ("assign", "offer")]
        left = [t for t in s.waiting() if t.conversation_id not in s.offers]
        for d in served:
            task = s.tasks[d.conversation_id]
            for w in d.explanation["winners"]:
                op = s.ops[OperatorId(str(w))]
                before = s.load(op.id) - weight(task.channel_kind)
                for above in left:
                    if above.queue_id == task.queue_id and rank(above) < rank(task):
                        assert not self.could_take(s, above, op, before), (
                            f"{op.login} got {task} while {above} ranked above it waits"
                        )

    async def drain(self) -> None:
        """5. Everyone online, time past every timeout and step, offers accepted: every
        open conversation ends assigned."""
        for op in self.ops.values():
            await set_presence(self.core, op.id, Presence.ONLINE)
        for _ in range(6):
            self.clock.advance(500)
            s = await self.pass_and_check()
            while pending := await self._pending():
                o = pending[0]
                await self.router.accept_offer(self._actor(o.operator_id), o.conversation_id)
            s = await self.pass_and_check()
            if not s.waiting():
                break
        s = await self.read()
        stuck = [
            (c.id, s.tasks.get(c.id))
            for c in s.convs.values()
            if c.status is not ConversationStatus.ASSIGNED
        ]
        assert not stuck, f"still waiting after the drain: {stuck}"


class _allowed:
    """Swallow the listed (expected) refusals of a command."""

    def __init__(self, *kinds: type[Exception]) -> None:
        self.kinds = kinds

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> bool:
        return kind is not None and issubclass(kind, self.kinds)


# -- fresh databases -----------------------------------------------------------------------------


@contextmanager
def fresh_databases(backend: Any) -> Iterator[Callable[[], Awaitable[SqlStore]]]:
    """A function that opens a store on an empty, migrated database of its own."""
    if backend.sqlite_template is not None:
        with tempfile.TemporaryDirectory() as tmp:
            n = itertools.count()

            def copy(path: Path) -> None:
                for suffix in ("", "-wal"):
                    source = Path(f"{backend.sqlite_template}{suffix}")
                    if source.exists():
                        shutil.copyfile(source, f"{path}{suffix}")

            async def sqlite_store() -> SqlStore:
                path = Path(tmp) / f"example{next(n)}.db"
                copy(path)  # a few milliseconds, in the example's own event loop
                return await open_store(f"sqlite+aiosqlite:///{path}")

            yield sqlite_store
        return

    async def postgres_store() -> SqlStore:
        engine = make_engine(backend.postgres_url)
        try:
            async with engine.begin() as conn:
                for table in reversed(metadata.sorted_tables):
                    await conn.execute(delete(table))
        finally:
            await engine.dispose()
        return await open_store(backend.postgres_url)

    yield postgres_store


async def run_history(
    opener: Callable[[], Awaitable[SqlStore]], scenario: Scenario, events: list[tuple[Any, ...]]
) -> None:
    store = await opener()
    try:
        with deterministic_ids():
            world = World(store, scenario)
            await world.setup()
            for event in events:
                await world.play(event)
                await world.pass_and_check()
            await world.drain()
    finally:
        await store.close()


def test_random_histories_keep_the_invariants(_migrated_backend: Any) -> None:  # noqa: PT019
    sqlite = _migrated_backend.sqlite_template is not None
    with fresh_databases(_migrated_backend) as opener:

        @settings(
            max_examples=int(os.environ.get("INBOX_ROUTING_EXAMPLES", 0)) or (50 if sqlite else 10),
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(scenario=scenarios(), events=events_st)
        def check(scenario: Scenario, events: list[tuple[Any, ...]]) -> None:
            asyncio.run(run_history(opener, scenario, events))

        check()


# -- decision tables ----------------------------------------------------------------------------


def _spec(name: str, skills: Mapping[str, int], members: Sequence[str], **kw: Any) -> QueueSpec:
    strategy = kw.pop("strategy", "least_loaded")
    return QueueSpec(name, skills, tuple(members), strategy, kw.pop("timeout", None), **kw)


async def _world(store: SqlStore, ops: Sequence[OpSpec], *queues: QueueSpec) -> World:
    c = _spec("C", {}, [ACE])
    world = World(store, Scenario(tuple(ops), (c, *queues)))
    await world.setup()
    return world


async def test_a_transfer_to_a_skill_keeps_its_place_in_the_queue(store: SqlStore) -> None:
    """The longest-waiting task goes first even when it was narrowed to a skill: a task
    sent to ``lenses>=2`` and a plain task of the same queue both fit the only expert."""
    world = await _world(
        store,
        [OpSpec("op0", {"lenses": 3}, 1, False)],
        _spec("A", {"lenses": 1}, ["op0"]),
        _spec("B", {"repairs": 1}, ["op0"]),
    )
    await world.play(("write", "web", 0))
    first = world.conv_ids[0]
    await world.router.transfer(world.boss, first, skills={"lenses": 2})
    await world.pass_and_check()
    await world.play(("write", "web", 1))  # later, no extra skills
    await world.pass_and_check()
    await world.play(("presence", 0, Presence.ONLINE))
    await world.router.run_pass()
    s = await world.read()
    assert s.convs[first].assignee_id == world.ops["op0"].id


async def test_a_returning_customer_goes_before_a_newcomer_who_waited_longer(
    store: SqlStore,
) -> None:
    """One place: a newcomer has waited longer, but the returning customer (bonus 5) goes
    first. ``pass_and_check`` checks the invariants after every pass as well."""
    world = await _world(
        store,
        [OpSpec("op0", {"lenses": 1}, 1, True)],
        _spec("A", {"lenses": 1}, ["op0"], returning_bonus=5),
        _spec("B", {"repairs": 1}, ["op0"]),
    )
    for event in [
        ("write", "web", 0),
        ("resolve", 0),
        ("presence", 0, Presence.OFFLINE),
        ("write", "web", 1),  # the newcomer
        ("write", "web", 0),  # the regular again: reopened
        ("presence", 0, Presence.ONLINE),
    ]:
        await world.play(event)
        s = await world.pass_and_check()
    regular, newcomer = world.conv_ids
    assert (s.tasks[regular].priority, s.tasks[newcomer].priority) == (5, 0)
    assert s.tasks[newcomer].entered_queue_at < s.tasks[regular].entered_queue_at
    assert s.convs[regular].assignee_id == world.ops["op0"].id
    assert s.convs[newcomer].status is ConversationStatus.QUEUED


async def test_a_reopen_between_two_passes_starts_a_new_episode(store: SqlStore) -> None:
    world = await _world(
        store,
        [OpSpec("op0", {"lenses": 1}, 1, True)],
        _spec("A", {"lenses": 1}, ["op0"], returning_bonus=5),
        _spec("B", {"repairs": 1}, ["op0"]),
    )
    await world.play(("write", "web", 0))
    cid = world.conv_ids[0]
    await world.pass_and_check()
    await resolve_conversation(world.core, world.ops["op0"], cid)
    await world.play(("write", "web", 0))  # "thanks!" before the router's next pass
    reopened_at = world.clock.now()
    s = await world.pass_and_check()
    task = s.tasks[cid]
    assert (task.priority, task.started_at) == (5, reopened_at)
