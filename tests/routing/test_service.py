"""The routing service on a real database (SQLite and PostgreSQL) and an injected clock:
every pass is run by hand (``run_pass``), time moves by ``clock.advance`` — no sleeping."""

# The Russian queue-position text is what the test checks (RUF001).
# ruff: noqa: RUF001

from __future__ import annotations

import itertools
from typing import Any, cast

import pytest

from inbox.bus import InProcessEventBus
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import Text, plain_text
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import Conflict, Forbidden, InvalidInput
from inbox.domain.events import ConversationChanged, Event
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.messages import AuthorKind, InboundMessage, SenderProfile
from inbox.domain.operators import Operator, Presence, Role
from inbox.usecases import (
    Core,
    add_channel,
    add_operator,
    ingest_inbound,
    resolve_conversation,
    send_reply,
    set_contact_tags,
    set_presence,
    touch_operators,
)
from operator_ws import Argon2PasswordHasher
from routing import RoutingService, RoutingSettings, RoutingTx
from routing.events import OfferChanged, RoutingAlert
from routing.policy import DEFAULT_WEIGHTS
from routing.records import TaskStatus
from server.channels import CATALOG
from storage import SqlStore

WEBCHAT = ChannelKind("webchat")

HASHER = Argon2PasswordHasher(fast_for_tests=True)
_n = itertools.count()


class Harness:
    def __init__(self, store: SqlStore, **settings: Any) -> None:
        self.clock = FixedClock()
        self.bus = InProcessEventBus()
        self.store = store
        self.core = Core(store=store, bus=self.bus, clock=self.clock, channels=CATALOG)
        self.events: list[Event] = []

        async def record(event: Event) -> None:
            self.events.append(event)

        self.bus.subscribe(record)
        self.router = self.new_router(**settings)
        self.admin: Operator | None = None

    def new_router(self, **settings: Any) -> RoutingService:
        values: dict[str, Any] = {"presence_stale_seconds": None}
        values.update(settings)
        router = RoutingService(
            self.core,
            self.store,
            weights={**DEFAULT_WEIGHTS, ChannelKind("email"): 0.5},
            settings=RoutingSettings(**values),
        )
        self.bus.subscribe(router.on_event)
        return router

    async def setup_admin(self) -> Operator:
        if self.admin is None:
            self.admin = await self.operator("boss", role=Role.SUPERVISOR, online=False)
        return self.admin

    async def operator(
        self,
        login: str,
        *,
        skills: dict[str, int] | None = None,
        capacity: int = 2,
        role: Role = Role.OPERATOR,
        online: bool = True,
    ) -> Operator:
        op = await add_operator(
            self.core,
            HASHER,
            login=login,
            password="long enough",
            role=role,
            skills=skills or {},
            capacity=capacity,
        )
        if online:
            op = await set_presence(self.core, op.id, Presence.ONLINE)
        return op

    async def channel(self, name: str, kind: ChannelKind = WEBCHAT) -> Channel:
        return await add_channel(self.core, kind, name, {})

    async def queue(self, name: str, **settings: Any) -> dict[str, object]:
        admin = await self.setup_admin()
        return await self.router.save_queue(admin, name, settings, create=True)

    async def customer_writes(
        self, channel: Channel, who: str, text: str = "hello"
    ) -> ConversationId:
        self.clock.advance(1)  # arrivals in a known order
        result = await ingest_inbound(
            self.core,
            InboundMessage(
                channel_id=channel.id,
                external_id=f"m{next(_n)}",
                sender=SenderProfile(who, display_name=who),
                parts=(Text(text),),
            ),
        )
        return result.conversation.id

    async def conv(self, cid: ConversationId) -> Conversation:
        async def work(tx: RoutingTx) -> Conversation:
            found = await tx.conversations.get(cid)
            assert found is not None
            return found

        return await self.store.read(work)

    async def task(self, cid: ConversationId) -> Any:
        async def work(tx: RoutingTx) -> Any:
            return await tx.routing.get_task(cid)

        return await self.store.read(work)

    async def assignee(self, cid: ConversationId) -> OperatorId | None:
        conv = await self.conv(cid)
        return conv.assignee_id if conv.status is ConversationStatus.ASSIGNED else None

    async def pass_(self, seconds: float = 0) -> None:
        self.clock.advance(seconds)
        await self.router.run_pass()

    async def decisions(self, cid: ConversationId) -> list[dict[str, Any]]:
        explained = await self.router.explain(await self.setup_admin(), cid)
        return cast(list[dict[str, Any]], explained["decisions"])

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
async def h(store: SqlStore) -> Harness:
    return Harness(store)


async def test_two_queues_route_by_skill_up_to_capacity_and_wait_in_order(h: Harness) -> None:
    shop, repairs = await h.channel("shop"), await h.channel("repairs")
    anna = await h.operator("anna", skills={"lenses": 3}, capacity=2)
    boris = await h.operator("boris", skills={"repairs": 2}, capacity=1)
    await h.queue("Lenses", channels=[shop.id], skills={"lenses": 1})
    await h.queue("Repairs", channels=[repairs.id], skills={"repairs": 1})

    lens = [await h.customer_writes(shop, f"c{i}") for i in range(4)]
    fix = [await h.customer_writes(repairs, f"r{i}") for i in range(2)]
    await h.pass_()

    assert [await h.assignee(c) for c in lens] == [anna.id, anna.id, None, None]
    assert [await h.assignee(c) for c in fix] == [boris.id, None]
    # Capacity frees up: the longest waiting of that queue goes next, never to the other skill.
    await resolve_conversation(h.core, anna, lens[0])
    await h.pass_(1)
    assert [await h.assignee(c) for c in lens[1:]] == [anna.id, anna.id, None]
    assert await h.assignee(fix[1]) is None
    # Every assignment is explained: the step, the candidates, the winner's score.
    assign = [d for d in await h.decisions(lens[2]) if d["outcome"] == "assign"]
    assert assign
    assert assign[0]["explanation"]["winners"] == [anna.id]
    reasons = {c["operator"]: c.get("excluded") for c in assign[0]["explanation"]["candidates"]}
    assert reasons[boris.id] == "missing_skill"  # a queue without members lists everyone
    with pytest.raises(Forbidden):
        await h.router.explain(anna, lens[2])


async def test_weights_let_an_email_count_half(h: Harness) -> None:
    mail = await h.channel("mail", ChannelKind("email"))
    anna = await h.operator("anna", capacity=1)
    convs = [await h.customer_writes(mail, f"e{i}@example.com") for i in range(3)]
    await h.pass_()
    assert [await h.assignee(c) for c in convs] == [anna.id, anna.id, None]


async def test_an_offer_times_out_or_is_declined_and_moves_on(h: Harness) -> None:
    shop = await h.channel("shop")
    anna = await h.operator("anna")
    boris = await h.operator("boris")
    cat = await h.operator("cat")
    await h.queue(
        "Shop",
        channels=[shop.id],
        members=["anna", "boris", "cat"],
        strategy="round_robin",
        accept_timeout=30,
    )
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    offers = h.of(OfferChanged)
    assert [(o.operator_id, o.state) for o in offers] == [(anna.id, "created")]
    assert (await h.conv(cid)).status is ConversationStatus.QUEUED
    assert h.router.next_wake == offers[0].expires_at

    await h.pass_(29)
    assert len(h.of(OfferChanged)) == 1  # not yet
    await h.pass_(1)  # 30 s: expired, offered to the next one
    states = [(o.operator_id, o.state) for o in h.of(OfferChanged)]
    assert states[1:] == [(anna.id, "expired"), (boris.id, "created")]
    with pytest.raises(Conflict):
        await h.router.accept_offer(anna, cid)  # a late accept

    await h.router.decline_offer(boris, cid)
    await h.pass_()
    assert [(o.operator_id, o.state) for o in h.of(OfferChanged)][-2:] == [
        (boris.id, "declined"),
        (cat.id, "created"),
    ]
    conv = await h.router.accept_offer(cat, cid)
    assert conv.assignee_id == cat.id
    outcomes = [d["outcome"] for d in await h.decisions(cid)]
    assert outcomes == ["offer", "timeout", "offer", "decline", "offer", "accept"]


async def test_ring_all_offers_everyone_and_the_first_accept_wins(h: Harness) -> None:
    shop = await h.channel("shop")
    anna, boris = await h.operator("anna"), await h.operator("boris")
    await h.queue("Shop", channels=[shop.id], strategy="ring_all", accept_timeout=20)
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    assert {o.operator_id for o in h.of(OfferChanged)} == {anna.id, boris.id}
    await h.router.accept_offer(boris, cid)
    ended = [o for o in h.of(OfferChanged) if o.operator_id == anna.id and o.state != "created"]
    assert [(o.state, o.reason) for o in ended] == [("withdrawn", "taken")]
    with pytest.raises(Conflict):
        await h.router.accept_offer(anna, cid)
    assert await h.assignee(cid) == boris.id


async def test_an_operator_who_leaves_gets_unanswered_conversations_requeued(h: Harness) -> None:
    shop = await h.channel("shop")
    anna = await h.operator("anna", capacity=3)
    answered = await h.customer_writes(shop, "c1")
    unanswered = await h.customer_writes(shop, "c2")
    await h.pass_()
    assert await h.assignee(answered) == anna.id
    await send_reply(h.core, anna, answered, (Text("On it"),), "k1")
    await h.pass_(1)
    await set_presence(h.core, anna.id, Presence.AWAY)
    boris = await h.operator("boris")
    await h.pass_(1)
    assert await h.assignee(answered) == anna.id  # the customer is not waiting on her
    assert await h.assignee(unanswered) == boris.id
    task = await h.task(unanswered)
    assert task.last_operator_id == anna.id


async def test_a_console_without_heartbeats_turns_the_operator_away(store: SqlStore) -> None:
    h = Harness(store, presence_stale_seconds=150)
    shop = await h.channel("shop")
    anna = await h.operator("anna")
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    assert await h.assignee(cid) == anna.id
    await h.pass_(100)
    await touch_operators(h.core, {anna.id})  # a heartbeat from her console
    await h.pass_(100)
    assert await h.assignee(cid) == anna.id
    await h.pass_(60)  # 160 s since the last heartbeat
    assert (await h.conv(cid)).status is ConversationStatus.QUEUED
    changed = [e for e in h.of(ConversationChanged) if e.reason == "unassigned"]
    assert changed
    assert changed[-1].previous_assignee_id == anna.id


async def test_a_queued_customer_is_told_their_position_in_their_language(h: Harness) -> None:
    shop = await h.channel("shop")
    await h.queue(
        "Shop",
        channels=[shop.id],
        position={"interval": 120, "first_after": 10, "language": "ru"},
    )
    first = await h.customer_writes(shop, "c1")
    second = await h.customer_writes(shop, "c2")
    await h.pass_()
    assert await _system_texts(h, second) == []  # not before first_after
    await h.pass_(10)
    assert await _system_texts(h, first) == [
        "Все операторы сейчас заняты. Вы 1-й в очереди, ожидание — около 5 мин."
    ]
    assert "Вы 2-й в очереди" in (await _system_texts(h, second))[0]
    await h.operator("anna", capacity=1)
    await h.pass_(60)  # anna takes the first; the second moves up, but 120 s have not passed
    assert len(await _system_texts(h, second)) == 1
    await h.pass_(60)
    assert "Вы 1-й в очереди" in (await _system_texts(h, second))[1]


async def _system_texts(h: Harness, cid: ConversationId) -> list[str]:
    async def work(tx: RoutingTx) -> list[str]:
        messages = await tx.messages.list(cid)
        return [plain_text(m.parts) for m in messages if m.author_kind is AuthorKind.SYSTEM]

    return await h.store.read(work)


async def test_sla_warns_the_assignee_then_alerts_supervisors_on_breach(h: Harness) -> None:
    shop = await h.channel("shop")
    await h.queue(
        "Shop",
        channels=[shop.id],
        sla={"0": {"first_response": 300, "resolution": 3600}},
        sla_warning_before=60,
    )
    anna = await h.operator("anna")
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    assert h.router.next_wake is not None
    await h.pass_(239)
    assert h.of(RoutingAlert) == []
    await h.pass_(1)
    warning = h.of(RoutingAlert)
    assert [(a.kind, a.target, a.operator_id) for a in warning] == [
        ("sla_warning", "first_response", anna.id)
    ]
    await h.pass_(60)
    assert [(a.kind, a.target) for a in h.of(RoutingAlert)][1:] == [
        ("sla_breach", "first_response")
    ]
    await h.pass_(600)
    assert len(h.of(RoutingAlert)) == 2  # once per breach
    await send_reply(h.core, anna, cid, (Text("Sorry for the wait"),), "k1")
    await resolve_conversation(h.core, anna, cid)
    await h.pass_(1)
    task = await h.task(cid)
    assert task.status is TaskStatus.DONE
    assert task.sla_met is False


async def test_the_response_timer_reoffers_to_another_operator(h: Harness) -> None:
    shop = await h.channel("shop")
    anna = await h.operator("anna")
    boris = await h.operator("boris")
    await h.queue(
        "Shop",
        channels=[shop.id],
        response_timeout=120,
        strategy="round_robin",
        members=["anna", "boris"],
    )
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    assert await h.assignee(cid) == anna.id
    await h.pass_(121)
    assert await h.assignee(cid) == boris.id
    alerts = h.of(RoutingAlert)
    assert [(a.kind, a.operator_id) for a in alerts] == [("response_overdue", anna.id)]


async def test_the_response_timer_can_only_alert(h: Harness) -> None:
    shop = await h.channel("shop")
    await h.queue("Shop", channels=[shop.id], response_timeout=60, response_action="alert")
    anna = await h.operator("anna")
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    await h.pass_(61)
    assert await h.assignee(cid) == anna.id
    assert [a.kind for a in h.of(RoutingAlert)] == ["response_overdue"]
    # Answering and a new question restart the clock.
    await send_reply(h.core, anna, cid, (Text("Yes?"),), "k1")
    await h.customer_writes(shop, "c1", "and?")
    await h.pass_(59)
    assert len(h.of(RoutingAlert)) == 1
    await h.pass_(2)
    assert len(h.of(RoutingAlert)) == 2


async def test_escalation_overflows_into_another_queue(h: Harness) -> None:
    shop = await h.channel("shop")
    nora = await h.operator("nora", online=False)
    await h.operator("anna", skills={"lenses": 1})  # a member, but below the queue's level
    night = await h.queue("Night", members=["nora"])
    await h.queue(
        "Shop",
        channels=[shop.id],
        members=["anna"],
        skills={"lenses": 2},
        escalation=[
            {"after": 0, "target": "any"},
            {"after": 300, "target": "overflow", "queue": "Night"},
        ],
    )
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    assert await h.assignee(cid) is None  # anna lacks lenses>=2
    await set_presence(h.core, nora.id, Presence.ONLINE)
    await h.pass_(300)
    assert await h.assignee(cid) == nora.id
    task = await h.task(cid)
    assert task.queue_id == night["id"]
    outcomes = [d["outcome"] for d in await h.decisions(cid)]
    assert outcomes == ["overflow", "assign"]


async def test_transfers_to_an_operator_with_a_note_and_to_a_skill(h: Harness) -> None:
    shop = await h.channel("shop")
    anna = await h.operator("anna", skills={"ru": 1})
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    boris = await h.operator("boris", skills={"wholesale": 3})
    conv = await h.router.transfer(anna, cid, operator_id=boris.id, note="wholesale order")
    assert conv.assignee_id == boris.id

    async def notes(tx: RoutingTx) -> list[str]:
        return [plain_text(m.parts) for m in await tx.messages.list(cid) if m.kind == "note"]

    assert (await h.store.read(notes))[-1] == "Transferred to boris by anna: wholesale order"
    with pytest.raises(Forbidden):
        await h.router.transfer(anna, cid, operator_id=anna.id)  # no longer hers
    # To a skill: only operators with it are eligible.
    await h.router.transfer(boris, cid, skills={"lenses": 2})
    await h.pass_()
    assert await h.assignee(cid) is None
    cat = await h.operator("cat", skills={"lenses": 2})
    await h.pass_()
    assert await h.assignee(cid) == cat.id


async def test_picking_by_hand_follows_the_queue_rules(h: Harness) -> None:
    shop = await h.channel("shop")
    other = await h.channel("other")
    anna = await h.operator("anna", capacity=1, online=False)
    boris = await h.operator("boris", online=False)
    await h.queue("Shop", channels=[shop.id], members=["anna"], allow_pick=False)
    await h.queue("Other", channels=[other.id], members=["anna"])
    c1 = await h.customer_writes(shop, "c1")
    c2 = await h.customer_writes(other, "c2")
    await h.pass_()
    with pytest.raises(Forbidden):
        await h.router.pick(anna, c1)
    with pytest.raises(Forbidden):
        await h.router.pick(boris, c2)  # not a member
    assert (await h.router.pick(anna, c2)).assignee_id == anna.id
    c3 = await h.customer_writes(other, "c3")
    await h.pass_()
    with pytest.raises(Conflict, match="capacity"):
        await h.router.pick(anna, c3)
    assert (await h.router.pick(await h.setup_admin(), c1)).assignee_id == h.admin.id  # type: ignore[union-attr]


async def test_timers_survive_a_restart(h: Harness) -> None:
    shop = await h.channel("shop")
    anna, boris = await h.operator("anna"), await h.operator("boris")
    await h.queue(
        "Shop",
        channels=[shop.id],
        members=["anna", "boris"],
        strategy="round_robin",
        accept_timeout=30,
    )
    await h.customer_writes(shop, "c1")
    await h.pass_()
    await h.router.stop()
    h.router = h.new_router()  # a new process: nothing in memory
    await h.pass_(31)
    offers = [(o.operator_id, o.state) for o in h.of(OfferChanged)]
    assert offers == [(anna.id, "created"), (anna.id, "expired"), (boris.id, "created")]


async def test_priority_rules_serve_returning_customers_first(h: Harness) -> None:
    shop = await h.channel("shop")
    await h.queue("Shop", channels=[shop.id], priority=[{"rule": "returning", "bonus": 5}])
    anna = await h.operator("anna", capacity=1, online=False)
    old = await h.customer_writes(shop, "regular")
    await h.pass_()
    await set_presence(h.core, anna.id, Presence.ONLINE)
    await h.pass_(1)
    await resolve_conversation(h.core, anna, old)
    await set_presence(h.core, anna.id, Presence.OFFLINE)
    await h.pass_(1)
    newcomer = await h.customer_writes(shop, "newcomer")
    await h.pass_(10)
    # The regular writes again later, on a new conversation... or the same one reopened.
    back = await h.customer_writes(shop, "regular", "me again")
    await h.pass_(1)
    await set_presence(h.core, anna.id, Presence.ONLINE)
    await h.pass_(1)
    assert await h.assignee(back) == anna.id
    assert await h.assignee(newcomer) is None


@pytest.mark.parametrize(
    "settings",
    [
        {"strategy": "fastest"},
        {"accept_timeout": -1},
        {"escalation": [{"after": 10, "target": "any"}]},
        {"members": ["ghost"]},
        {"sla": {"x": {}}},
        {"position": {"texts": {"ru": "{oops}"}}},
        {"what": 1},
    ],
)
async def test_bad_queue_settings_are_refused_and_nothing_is_stored(
    h: Harness, settings: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInput):
        await h.queue("Bad", **settings)
    names = [q["name"] for q in await h.router.list_queues(await h.setup_admin())]
    assert "Bad" not in names


async def test_operators_may_not_manage_queues(h: Harness) -> None:
    anna = await h.operator("anna")
    with pytest.raises(Forbidden):
        await h.router.save_queue(anna, "Mine", {}, create=True)


async def test_a_vip_tag_puts_the_customer_first(h: Harness) -> None:
    shop = await h.channel("shop")
    await h.queue("Shop", channels=[shop.id], priority=[{"rule": "tag", "tag": "vip", "bonus": 10}])
    anna = await h.operator("anna", capacity=1)
    vip = await h.customer_writes(shop, "vip")
    await h.pass_()
    assert await h.assignee(vip) == anna.id
    contact = await set_contact_tags(h.core, anna, vip, frozenset({"vip"}))
    assert contact.tags == {"vip"}
    await resolve_conversation(h.core, anna, vip)
    await set_presence(h.core, anna.id, Presence.OFFLINE)
    await h.pass_(1)
    newcomer = await h.customer_writes(shop, "newcomer")
    await h.customer_writes(shop, "vip", "me again")
    await set_presence(h.core, anna.id, Presence.ONLINE)
    await h.pass_(1)
    assert await h.assignee(vip) == anna.id
    assert await h.assignee(newcomer) is None
    assert (await h.task(vip)).priority == 10


async def test_a_large_queue_stores_a_sample_of_candidates_and_counts_them_all(
    h: Harness,
) -> None:
    shop = await h.channel("shop")
    for i in range(40):
        await h.operator(f"op{i:02d}", capacity=1, online=i % 2 == 0)
    cid = await h.customer_writes(shop, "c1")
    await h.pass_()
    stored = (await h.decisions(cid))[0]["explanation"]
    assert len(stored["candidates"]) == 30
    assert stored["candidates_total"] == 40
    assert stored["eligible_total"] == 20
    assert stored["excluded_counts"] == {"not_online": 20}
    assert stored["winners"][0] in {c["operator"] for c in stored["candidates"]}
    reasons = [c.get("excluded") for c in stored["candidates"]]
    assert reasons.count(None) == 16  # the winner, 15 runners-up, then a sample of the rest
    assert reasons.count("not_online") == 14
