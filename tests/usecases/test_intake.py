"""The intake policy seam on a real database (SQLite and PostgreSQL) with the real router:
a policy can give a new or reopened conversation to a bot, routing leaves a bot
conversation alone, and a hand-off puts it in routing's queue."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from inbox.bus import InProcessEventBus
from inbox.domain.channel_io import WebhookBatch
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import Text
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import InvalidInput, InvalidTransition, NotFound
from inbox.domain.events import ConversationChanged, Event
from inbox.domain.ids import ChannelId, ConversationId
from inbox.domain.messages import AuthorKind, Direction, InboundMessage, MessageKind, SenderProfile
from inbox.domain.operators import Operator, Presence, Role
from inbox.ports import IntakeRequest, IntakeStatus, Tx
from inbox.usecases import (
    Core,
    add_channel,
    add_operator,
    hand_off,
    ingest_inbound,
    list_messages,
    resolve_conversation,
    set_channel_enabled,
    set_presence,
    store_batch,
)
from operator_ws import Argon2PasswordHasher
from routing import RoutingService, RoutingSettings
from routing.events import OfferChanged
from routing.ports import RoutingTx
from server.channels import CATALOG
from storage import SqlStore

HASHER = Argon2PasswordHasher(fast_for_tests=True)
_n = itertools.count()


class BotChannels:
    """An intake policy: conversations on the listed channels go to the bot, the rest to
    routing. It records what it was asked, and reads the contact through ``tx`` (as a
    real policy may) to show that the transaction is usable."""

    def __init__(self) -> None:
        self.bot_channels: set[ChannelId] = set()
        self.requests: list[IntakeRequest] = []
        self.contact_names: list[str] = []

    async def take(self, tx: Tx, request: IntakeRequest) -> IntakeStatus:
        self.requests.append(request)
        contact = await tx.contacts.get(request.contact_id)
        assert contact is not None  # the identity is stored before the policy is asked
        self.contact_names.append(contact.display_name)
        if request.channel.id in self.bot_channels:
            return ConversationStatus.BOT
        return ConversationStatus.QUEUED


class Harness:
    def __init__(self, store: SqlStore) -> None:
        self.clock = FixedClock()
        self.bus = InProcessEventBus()
        self.policy = BotChannels()
        self.store = store
        self.core = Core(
            store=store, bus=self.bus, clock=self.clock, intake=self.policy, channels=CATALOG
        )
        self.events: list[Event] = []

        async def record(event: Event) -> None:
            self.events.append(event)

        self.bus.subscribe(record)
        self.router = RoutingService(
            self.core, store, settings=RoutingSettings(presence_stale_seconds=None)
        )
        self.bus.subscribe(self.router.on_event)

    async def operator(
        self, login: str, role: Role = Role.OPERATOR, *, online: bool = True
    ) -> Operator:
        op = await add_operator(
            self.core, HASHER, login=login, password="long enough", role=role, capacity=3
        )
        return await set_presence(self.core, op.id, Presence.ONLINE) if online else op

    async def customer_writes(
        self, channel: Channel, who: str, *, pass_channel: bool = False
    ) -> Conversation:
        self.clock.advance(1)
        inbound = InboundMessage(
            channel_id=channel.id,
            external_id=f"m{next(_n)}",
            sender=SenderProfile(who, display_name=who),
            parts=(Text("hello"),),
        )
        if pass_channel:
            result = await ingest_inbound(self.core, inbound, channel=channel)
        else:
            result = await ingest_inbound(self.core, inbound)
        return result.conversation

    async def conv(self, cid: ConversationId) -> Conversation:
        async def work(tx: Tx) -> Conversation:
            found = await tx.conversations.get(cid)
            assert found is not None
            return found

        return await self.core.store.read(work)

    async def task(self, cid: ConversationId) -> Any:
        async def work(tx: RoutingTx) -> Any:
            return await tx.routing.get_task(cid)

        return await self.store.read(work)

    def changes(self) -> list[ConversationChanged]:
        return [e for e in self.events if isinstance(e, ConversationChanged)]


@pytest.fixture
async def h(store: SqlStore) -> Harness:
    return Harness(store)


async def test_without_a_policy_every_new_conversation_is_queued(store: SqlStore) -> None:
    core = Core(store=store, bus=InProcessEventBus(), clock=FixedClock(), channels=CATALOG)
    channel = await add_channel(core, ChannelKind("webchat"), "site", {})
    result = await ingest_inbound(
        core,
        InboundMessage(channel.id, "x1", SenderProfile("v1", "Vera"), (Text("hi"),)),
    )
    assert result.conversation.status is ConversationStatus.QUEUED
    assert result.conversation.queued_at == core.clock.now()


async def test_a_bot_conversation_is_not_routed_until_it_is_handed_off(h: Harness) -> None:
    site = await add_channel(h.core, ChannelKind("webchat"), "site", {})
    h.policy.bot_channels.add(site.id)
    anna = await h.operator("anna")
    boss = await h.operator("boss", Role.SUPERVISOR, online=False)

    conv = await h.customer_writes(site, "Vera")
    assert conv.status is ConversationStatus.BOT
    assert conv.queued_at is None
    assert conv.assignee_id is None
    # The policy was asked once, inside the transaction, about a new conversation.
    [request] = h.policy.requests
    assert request.reopening is None
    assert request.conversation_id == conv.id
    assert request.channel.id == site.id
    assert h.policy.contact_names == ["Vera"]
    [created] = h.changes()
    assert created.reason == "created"
    assert created.conversation.status is ConversationStatus.BOT

    # The customer writes again: the conversation stays the bot's, the policy is not asked.
    again = await h.customer_writes(site, "Vera")
    assert again.id == conv.id
    assert again.status is ConversationStatus.BOT
    assert len(h.policy.requests) == 1

    # An online operator with free capacity, and routing runs: nothing is offered.
    await h.router.run_pass()
    h.clock.advance(30)
    await h.router.run_pass()
    assert (await h.conv(conv.id)).status is ConversationStatus.BOT
    assert await h.task(conv.id) is None
    assert not [e for e in h.events if isinstance(e, OfferChanged)]

    h.events.clear()
    handed = await hand_off(
        h.core, conv.id, note="Asked for a refund of order 42", author_name="Helper"
    )
    assert handed.status is ConversationStatus.QUEUED
    assert handed.queued_at == h.clock.now()
    [change] = h.changes()
    assert change.reason == "unassigned"
    assert change.previous_status is ConversationStatus.BOT
    assert change.conversation.status is ConversationStatus.QUEUED
    # The note the bot left for the operator.
    messages = await list_messages(h.core, boss, conv.id)
    note = messages[-1]
    assert note.kind is MessageKind.NOTE
    assert note.direction is Direction.INTERNAL
    assert note.author_kind is AuthorKind.BOT
    assert note.author_name == "Helper"
    assert note.parts == (Text("Asked for a refund of order 42"),)

    await h.router.run_pass()
    assigned = await h.conv(conv.id)
    assert assigned.status is ConversationStatus.ASSIGNED
    assert assigned.assignee_id == anna.id

    with pytest.raises(InvalidTransition):
        await hand_off(h.core, conv.id)  # no longer the bot's
    with pytest.raises(NotFound):
        await hand_off(h.core, ConversationId("nope"))


async def test_a_routing_conversation_cannot_be_handed_off(h: Harness) -> None:
    site = await add_channel(h.core, ChannelKind("webchat"), "site", {})
    conv = await h.customer_writes(site, "Vera")
    assert conv.status is ConversationStatus.QUEUED
    with pytest.raises(InvalidTransition):
        await hand_off(h.core, conv.id)
    assert (await h.conv(conv.id)).status is ConversationStatus.QUEUED


async def test_a_reopen_asks_the_policy_again(h: Harness) -> None:
    site = await add_channel(h.core, ChannelKind("webchat"), "site", {})
    h.policy.bot_channels.add(site.id)
    boss = await h.operator("boss", Role.SUPERVISOR)
    conv = await h.customer_writes(site, "Vera")
    closed = await resolve_conversation(h.core, boss, conv.id)  # bot → resolved
    assert closed.status is ConversationStatus.RESOLVED

    h.events.clear()
    reopened = await h.customer_writes(site, "Vera")
    assert reopened.id == conv.id
    assert reopened.status is ConversationStatus.BOT
    assert h.policy.requests[-1].reopening is not None
    assert h.policy.requests[-1].reopening.status is ConversationStatus.RESOLVED
    [change] = h.changes()
    assert change.reason == "reopened"
    assert change.previous_status is ConversationStatus.RESOLVED
    assert change.conversation.status is ConversationStatus.BOT

    # The bot goes off duty: the next reopen goes to routing.
    await resolve_conversation(h.core, boss, conv.id)
    h.policy.bot_channels.clear()
    queued = await h.customer_writes(site, "Vera")
    assert queued.status is ConversationStatus.QUEUED
    assert queued.queued_at == h.clock.now()
    await h.router.run_pass()
    assert (await h.conv(conv.id)).assignee_id == boss.id


async def test_ingest_uses_the_channel_the_edge_loaded(h: Harness) -> None:
    """Given the channel, ingest does not read its row again: the row says "disabled" here
    (changed after the edge loaded it), and a new customer is still stored; without the
    channel, ingest reads the row and refuses."""
    site = await add_channel(h.core, ChannelKind("webchat"), "site", {})
    h.policy.bot_channels.add(site.id)
    await set_channel_enabled(h.core, site.id, False)

    with pytest.raises(NotFound):
        await h.customer_writes(site, "Vera")

    conv = await h.customer_writes(site, "Vera", pass_channel=True)
    assert conv.status is ConversationStatus.BOT
    assert h.policy.requests[-1].channel is site  # the very object the edge passed

    # The webhook path hands its channel down the same way.
    batch = WebhookBatch(
        messages=(InboundMessage(site.id, "w1", SenderProfile("Ivan", "Ivan"), (Text("hi"),)),)
    )
    await store_batch(h.core, site, batch)
    assert h.policy.requests[-1].channel is site
    assert h.policy.contact_names[-1] == "Ivan"


async def test_a_channel_that_is_not_the_messages_is_refused(h: Harness) -> None:
    site = await add_channel(h.core, ChannelKind("webchat"), "site", {})
    other = await add_channel(h.core, ChannelKind("webchat"), "other", {})
    inbound = InboundMessage(site.id, "z1", SenderProfile("v"), (Text("hi"),))
    with pytest.raises(InvalidInput, match="did not come in on this channel"):
        await ingest_inbound(h.core, inbound, channel=other)
