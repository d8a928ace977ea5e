"""The facts as the recorder keeps them, through the real use cases and the real store
(SQLite and PostgreSQL): episodes on reopen, a reopen by hand, routing's late SLA into the
episode it belongs to, a contact merge."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from inbox.bus import InProcessEventBus
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import Text
from inbox.domain.ids import ConversationId
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.domain.operators import Operator, Role
from inbox.usecases import (
    Core,
    add_channel,
    add_operator,
    ingest_inbound,
    merge_contacts,
    reopen,
    resolve_conversation,
    send_reply,
)
from reports import EpisodeFacts, FactRecorder
from routing.records import QueueId, RoutingTask, TaskStatus
from server.channels import CATALOG
from server.reports import facts_hook, rating_of
from storage import SqlStore
from storage.repositories.tx import SqlTx
from tests.reports.scenario import HASHER, PASSWORD, msk


@dataclass
class Harness:
    store: SqlStore
    core: Core
    clock: FixedClock
    boss: Operator
    channel: Channel
    n: int = 0

    async def write(self, who: str) -> ConversationId:
        self.n += 1
        message = InboundMessage(
            self.channel.id, f"m{self.n}", SenderProfile(who), (Text("Здравствуйте"),)
        )
        return (await ingest_inbound(self.core, message)).conversation.id

    async def facts(self, cid: ConversationId) -> list[EpisodeFacts]:
        async def work(tx: SqlTx) -> list[EpisodeFacts]:
            found = []
            for episode in range(1, 10):
                f = await tx.reports.get(cid, episode)
                if f is not None:
                    found.append(f)
            return found

        return await self.store.read(work)


@pytest.fixture
async def h(store: SqlStore) -> Harness:
    clock = FixedClock(msk(2, 10, 0))
    store.add_transaction_hook(facts_hook(FactRecorder(rating_of=rating_of)))
    core = Core(store=store, bus=InProcessEventBus(), clock=clock, channels=CATALOG)
    boss = await add_operator(core, HASHER, login="boss", password=PASSWORD, role=Role.ADMIN)
    channel = await add_channel(core, ChannelKind("webchat"), "Shop", {})
    return Harness(store, core, clock, boss, channel)


async def test_a_customer_reopen_is_a_new_episode_a_reopen_by_hand_is_not(h: Harness) -> None:
    cid = await h.write("c1")
    h.clock.advance(60)
    await send_reply(h.core, h.boss, cid, (Text("Добрый день"),), "r1")
    h.clock.advance(60)
    await resolve_conversation(h.core, h.boss, cid, "Sold")
    h.clock.advance(60)
    await reopen(h.core, h.boss, cid)  # by hand: the same request goes on
    (one,) = await h.facts(cid)
    assert one.resolved_at is None
    assert one.close_reason == ""
    assert one.first_response_seconds == 60.0
    h.clock.advance(60)
    await resolve_conversation(h.core, h.boss, cid)
    (one,) = await h.facts(cid)
    assert one.resolution_seconds == 240.0

    h.clock.advance(3600)
    assert await h.write("c1") == cid  # the customer writes again: a new request
    first, second = await h.facts(cid)
    assert (first.current, second.current) == (False, True)
    assert first.next_received_at == second.received_at == h.clock.now()
    assert (first.new_customer, second.new_customer) == (True, False)
    assert second.first_response_at is None
    assert second.queued_at == h.clock.now()


async def test_routing_settles_the_sla_of_the_episode_its_task_served(h: Harness) -> None:
    cid = await h.write("c1")
    started = h.clock.now()
    h.clock.advance(30)
    await resolve_conversation(h.core, h.boss, cid)
    h.clock.advance(30)
    await h.write("c1")  # episode 2 begins before routing settled episode 1's task

    async def settle(tx: SqlTx) -> None:
        await tx.routing.put_task(
            RoutingTask(
                conversation_id=cid,
                queue_id=QueueId("q-sales"),
                status=TaskStatus.DONE,
                channel_kind="webchat",
                started_at=started,
                entered_queue_at=started,
                updated_at=h.clock.now(),
                sla_met=True,
            )
        )

    await h.store.transact(settle)
    first, second = await h.facts(cid)
    assert (first.queue_id, first.sla_met) == ("q-sales", True)
    assert (second.queue_id, second.sla_met) == (None, None)


async def test_a_merge_moves_the_facts_to_the_kept_contact(h: Harness) -> None:
    first = await h.write("c1")
    second = await h.write("c2")
    (a,) = await h.facts(first)
    (b,) = await h.facts(second)
    await merge_contacts(h.core, h.boss, a.contact_id, b.contact_id)
    (moved,) = await h.facts(second)
    assert moved.contact_id == a.contact_id

    async def has(tx: SqlTx) -> tuple[bool, bool]:
        return (
            await tx.reports.has_episodes(a.contact_id),
            await tx.reports.has_episodes(b.contact_id),
        )

    assert await h.store.read(has) == (True, False)
