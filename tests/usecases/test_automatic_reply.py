"""``send_automatic_reply`` / ``write_automatic_reply`` on a real database (SQLite and
PostgreSQL): a bot's rich message goes through the outbox to a channel sender, idempotent
by client id, in its own transaction or inside the caller's (both or neither)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from channels.whatsapp.spec import CUSTOMER_SERVICE_WINDOW
from inbox.bus import InProcessEventBus
from inbox.delivery import DeliveryWorker
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import Button, Buttons, Part, Template, Text
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import InvalidInput, NotFound, WindowClosed
from inbox.domain.events import Event, MessageCreated, OutboxReady
from inbox.domain.ids import ChannelId, ConversationId, new_id
from inbox.domain.messages import (
    AuthorKind,
    DeliveryStatus,
    Direction,
    InboundMessage,
    Message,
    OutboundMessage,
    SenderProfile,
)
from inbox.ports import SendReceipt, Tx
from inbox.usecases import (
    Core,
    Outcome,
    WriteResult,
    add_channel,
    ingest_inbound,
    run,
    send_automatic_reply,
    write_automatic_reply,
)
from server.channels import CATALOG
from storage import SqlStore

MENU: tuple[Part, ...] = (
    Buttons(
        "How can we help?",
        (
            Button("Track my order", payload="track"),
            Button("Opening hours", kind="url", url="https://shop.example/hours"),
        ),
    ),
)


@dataclass
class RecordingSender:
    """A :class:`inbox.ports.ChannelSender` that keeps what it was given."""

    sent: list[tuple[Channel, OutboundMessage]] = field(default_factory=list)

    async def send(self, channel: Channel, message: OutboundMessage) -> SendReceipt:
        self.sent.append((channel, message))
        return SendReceipt(external_id=f"out-{len(self.sent)}")


class Harness:
    def __init__(self, store: SqlStore) -> None:
        self.clock = FixedClock()
        self.bus = InProcessEventBus()
        self.core = Core(store=store, bus=self.bus, clock=self.clock, channels=CATALOG)
        self.events: list[Event] = []

        async def record(event: Event) -> None:
            self.events.append(event)

        self.bus.subscribe(record)

    async def conversation(self, channel_id: ChannelId, who: str = "Vera") -> Conversation:
        result = await ingest_inbound(
            self.core,
            InboundMessage(channel_id, new_id(), SenderProfile(who, who), (Text("hi"),)),
        )
        return result.conversation

    async def messages(self, cid: ConversationId) -> list[Message]:
        async def work(tx: Tx) -> list[Message]:
            return await tx.messages.list(cid)

        return await self.core.store.read(work)

    async def pending(self) -> int:
        async def work(tx: Tx) -> int:
            return await tx.outbox.pending_count()

        return await self.core.store.read(work)

    async def conv(self, cid: ConversationId) -> Conversation:
        async def work(tx: Tx) -> Conversation | None:
            return await tx.conversations.get(cid)

        found = await self.core.store.read(work)
        assert found is not None
        return found


@pytest.fixture
async def h(store: SqlStore) -> Harness:
    return Harness(store)


async def test_a_bot_reply_with_buttons_goes_through_the_outbox(h: Harness) -> None:
    site = await add_channel(h.core, ChannelKind("webchat"), "site", {})
    conv = await h.conversation(site.id)
    h.events.clear()
    h.clock.advance(2)

    result = await send_automatic_reply(
        h.core, conv.id, MENU, author=AuthorKind.BOT, author_name="Helper", client_id="menu-1"
    )
    assert not result.duplicate
    message = result.message
    assert message.author_kind is AuthorKind.BOT
    assert message.author_id is None
    assert message.author_name == "Helper"
    assert message.direction is Direction.OUTBOUND
    assert message.status is DeliveryStatus.PENDING
    assert message.parts == MENU
    assert message.seq == conv.last_message_seq + 1
    assert result.conversation.preview.startswith("How can we help?\n1. Track my order")
    assert result.conversation.last_message_at == h.clock.now()
    assert result.conversation.unread_count == conv.unread_count  # nobody read it
    assert result.conversation.status is ConversationStatus.QUEUED  # status untouched
    assert await h.pending() == 1
    assert [type(e) for e in h.events] == [MessageCreated, OutboxReady]

    # The same client id again: the stored message, nothing new queued or published.
    h.events.clear()
    again = await send_automatic_reply(
        h.core, conv.id, MENU, author=AuthorKind.BOT, author_name="Helper", client_id="menu-1"
    )
    assert again.duplicate
    assert again.message.id == message.id
    assert await h.pending() == 1
    assert h.events == []

    sender = RecordingSender()
    worker = DeliveryWorker(h.core, {str(ChannelKind("webchat")): sender})
    assert await worker.run_once() == 1
    [(channel, out)] = sender.sent
    assert channel.id == site.id
    assert out.message_id == message.id
    assert out.parts == MENU
    assert out.author_name == "Helper"
    assert out.automatic  # a bot's message is marked automatic for the channel
    assert await h.pending() == 0
    stored = [m for m in await h.messages(conv.id) if m.id == message.id]
    assert [m.status for m in stored] == [DeliveryStatus.SENT]
    assert stored[0].external_id == "out-1"


async def test_a_system_message_may_follow_a_resolved_conversation(h: Harness) -> None:
    site = await add_channel(h.core, ChannelKind("webchat"), "site", {})
    conv = await h.conversation(site.id)

    async def close(tx: Tx) -> Outcome[None]:
        locked = await tx.conversations.get_for_update(conv.id)
        assert locked is not None
        await tx.conversations.update(locked.moved_to(ConversationStatus.RESOLVED, h.clock.now()))
        return Outcome(None)

    await run(h.core, close)
    link = (Text("Your payment link: https://pay.example/o/42"),)
    result = await send_automatic_reply(h.core, conv.id, link, author=AuthorKind.SYSTEM)
    assert result.message.author_kind is AuthorKind.SYSTEM
    assert result.conversation.status is ConversationStatus.RESOLVED
    assert (await h.conv(conv.id)).status is ConversationStatus.RESOLVED
    assert await h.pending() == 1


async def test_inside_the_callers_transaction_both_or_neither(h: Harness) -> None:
    site = await add_channel(h.core, ChannelKind("webchat"), "site", {})
    conv = await h.conversation(site.id)
    h.events.clear()

    async def tag_and_greet(tx: Tx) -> Outcome[WriteResult]:
        await tx.contacts.set_tags(conv.contact_id, frozenset({"vip"}))
        reply = await write_automatic_reply(
            tx, conv.id, (Text("Welcome back!"),), h.clock.now(), author=AuthorKind.BOT
        )
        return Outcome(reply.value, [*reply.events])

    result = await run(h.core, tag_and_greet)
    assert [type(e) for e in h.events] == [MessageCreated, OutboxReady]
    assert result.message.id in {m.id for m in await h.messages(conv.id)}
    assert await h.pending() == 1

    async def tags(tx: Tx) -> frozenset[str]:
        contact = await tx.contacts.get(conv.contact_id)
        assert contact is not None
        return contact.tags

    assert await h.core.store.read(tags) == {"vip"}

    # The caller fails after the reply was written: neither its write nor the reply stays.
    class Boom(Exception):
        pass

    async def greet_then_fail(tx: Tx) -> Outcome[None]:
        await tx.contacts.set_tags(conv.contact_id, frozenset({"vip", "angry"}))
        await write_automatic_reply(
            tx, conv.id, (Text("Never sent"),), h.clock.now(), author=AuthorKind.BOT
        )
        raise Boom

    h.events.clear()
    before = await h.messages(conv.id)
    with pytest.raises(Boom):
        await run(h.core, greet_then_fail)
    assert await h.messages(conv.id) == before
    assert await h.pending() == 1
    assert await h.core.store.read(tags) == {"vip"}
    assert h.events == []


async def test_the_channels_reply_window_applies(h: Harness) -> None:
    """WhatsApp refuses free text 24 hours after the customer's last message: the same check
    as ``send_reply``, and nothing is stored when it refuses."""
    wa = Channel(
        ChannelId(new_id()),
        ChannelKind("whatsapp"),
        "WA",
        h.clock.now(),
        {"templates": "order_update:ru"},
    )

    async def add(tx: Tx) -> Outcome[None]:
        await tx.channels.add(wa)
        return Outcome(None)

    await run(h.core, add)
    conv = await h.conversation(wa.id)
    inside = await send_automatic_reply(h.core, conv.id, MENU, author=AuthorKind.BOT)
    assert not inside.duplicate

    h.clock.advance(timedelta(hours=25).total_seconds())
    before = await h.messages(conv.id)
    with pytest.raises(WindowClosed):
        await send_automatic_reply(h.core, conv.id, MENU, author=AuthorKind.BOT)
    with pytest.raises(InvalidInput):
        await send_automatic_reply(
            h.core, conv.id, (Template("not_configured", "ru"),), author=AuthorKind.BOT
        )
    assert await h.messages(conv.id) == before
    template = await send_automatic_reply(
        h.core, conv.id, (Template("order_update", "ru", ("42",)),), author=AuthorKind.SYSTEM
    )
    assert template.message.parts == (Template("order_update", "ru", ("42",)),)
    assert await h.pending() == 2


async def test_bad_input_stores_nothing(h: Harness) -> None:
    site = await add_channel(h.core, ChannelKind("webchat"), "site", {})
    conv = await h.conversation(site.id)
    with pytest.raises(InvalidInput):
        await send_automatic_reply(h.core, conv.id, (), author=AuthorKind.BOT)
    with pytest.raises(InvalidInput):
        await send_automatic_reply(h.core, conv.id, (Text("  "),), author=AuthorKind.BOT)
    with pytest.raises(InvalidInput):
        await send_automatic_reply(h.core, conv.id, MENU, author=AuthorKind.BOT, client_id="")
    with pytest.raises(NotFound):
        await send_automatic_reply(h.core, ConversationId("nope"), MENU, author=AuthorKind.BOT)
    assert await h.pending() == 0


@pytest.mark.parametrize(("offset", "open_"), [(-1.0, True), (0.0, False), (1.0, False)])
async def test_the_whatsapp_window_inside_at_and_past_its_end(
    h: Harness, offset: float, open_: bool
) -> None:
    """One second before the window's end free text goes; at the end and after it does
    not -- measured from the one constant that sets the window (the spec's), so moving it
    to 1 h or 48 h moves this test with it, and its message names the same hours."""
    window = CUSTOMER_SERVICE_WINDOW
    hours = window.length.total_seconds() / 3600
    assert f"{hours:g} hours" in window.closed_message
    wa = Channel(ChannelId(new_id()), ChannelKind("whatsapp"), "WA", h.clock.now(), {})

    async def add(tx: Tx) -> Outcome[None]:
        await tx.channels.add(wa)
        return Outcome(None)

    await run(h.core, add)
    conv = await h.conversation(wa.id)
    h.clock.advance(window.length.total_seconds() + offset)
    if open_:
        sent = await send_automatic_reply(h.core, conv.id, MENU, author=AuthorKind.BOT)
        assert not sent.duplicate
    else:
        with pytest.raises(WindowClosed, match=f"{hours:g} hours"):
            await send_automatic_reply(h.core, conv.id, MENU, author=AuthorKind.BOT)


def test_whatsapps_window_is_metas_24_hours() -> None:
    """Meta's customer service window (channel-contracts.md §3.3): the one constant the
    boundary test above and the migration's backfill test measure from."""
    assert CUSTOMER_SERVICE_WINDOW.length == timedelta(hours=24)
