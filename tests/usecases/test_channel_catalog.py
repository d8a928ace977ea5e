"""The channel catalog: the core learns a kind's options, secrets, reply window, templates
and threading from the kind's declaration (channels/<kind>/spec.py), never from its name.

A kind invented here ("sms") proves it: no core file names it, yet the core refuses its
unknown options, masks its secrets, stores and enforces its reply window and threads its
messages -- on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from inbox.bus import InProcessEventBus
from inbox.delivery import DeliveryWorker
from inbox.domain.channel_spec import ChannelCatalog, ChannelSpec, ReplyWindow
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import Template, Text
from inbox.domain.errors import InvalidInput, WindowClosed
from inbox.domain.messages import AuthorKind, InboundMessage, OutboundMessage, SenderProfile
from inbox.domain.operators import Operator, Presence, Role
from inbox.domain.views import conversation_view
from inbox.ports import SendReceipt
from inbox.usecases import (
    Core,
    add_channel,
    add_operator,
    claim_conversation,
    ingest_inbound,
    list_channels,
    send_automatic_reply,
    send_reply,
    set_presence,
)
from operator_ws import Argon2PasswordHasher
from server.channels import CATALOG
from storage import SqlStore

HASHER = Argon2PasswordHasher(fast_for_tests=True)
SMS = ChannelKind("sms")
CLOSED = "The SMS window is over: send a template."
SMS_SPEC = ChannelSpec(
    kind=SMS,
    options=frozenset({"token", "sender"}),
    secrets=frozenset({"token", "webhook_key"}),
    generate=lambda: {"webhook_key": "generated"},
    reply_window=ReplyWindow(timedelta(hours=1), CLOSED),
    templates=lambda channel: [("promo", "en")],
    threading=2,
)


@dataclass
class RecordingSender:
    sent: list[OutboundMessage] = field(default_factory=list)

    async def send(self, channel: Channel, message: OutboundMessage) -> SendReceipt:
        self.sent.append(message)
        return SendReceipt(external_id=f"sms-out-{len(self.sent)}")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def core(store: SqlStore, clock: FixedClock) -> Core:
    return Core(
        store=store, bus=InProcessEventBus(), clock=clock, channels=ChannelCatalog.of([SMS_SPEC])
    )


async def _operator(core: Core, login: str) -> Operator:
    op = await add_operator(core, HASHER, login=login, password="long enough", role=Role.OPERATOR)
    return await set_presence(core, op.id, Presence.ONLINE)


def test_catalog_refuses_a_kind_declared_twice() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        ChannelCatalog.of([SMS_SPEC, SMS_SPEC])


def test_the_root_catalog_holds_every_installed_kind() -> None:
    assert CATALOG.kinds() == ["api", "email", "telegram", "viber", "vk", "webchat", "whatsapp"]
    assert (spec := CATALOG.get("whatsapp")) is not None
    assert spec.reply_window is not None
    assert (spec := CATALOG.get("email")) is not None
    assert spec.threading == 30
    assert (spec := CATALOG.get("webchat")) is not None
    assert not spec.needs_adapter
    assert (spec := CATALOG.get("api")) is not None
    assert not spec.needs_adapter
    assert "other channels" in spec.no_replies


async def test_a_kind_outside_the_catalog_is_refused(core: Core) -> None:
    with pytest.raises(InvalidInput, match=r"unknown channel kind 'fax'.*installed: sms"):
        await add_channel(core, ChannelKind("fax"), "Fax", {})


async def test_options_come_from_the_spec_and_secrets_are_masked(core: Core) -> None:
    with pytest.raises(InvalidInput, match=r"unknown option\(s\) for sms: tokn"):
        await add_channel(core, SMS, "SMS", {"tokn": "x"})
    assert await list_channels(core) == []  # nothing stored

    channel = await add_channel(core, SMS, "SMS", {"token": "t0ken", "sender": "Shop"})
    assert channel.options["webhook_key"] == "generated"
    view = core.channels.public_view(channel)
    assert view["options"] == {"token": "***", "sender": "Shop", "webhook_key": "***"}
    # A kind that is not installed (any more) shows no option value at all.
    assert ChannelCatalog().public_view(channel)["options"] == {
        "token": "***",
        "sender": "***",
        "webhook_key": "***",
    }


async def test_the_reply_window_is_stored_and_enforced(
    core: Core, clock: FixedClock, store: SqlStore
) -> None:
    channel = await add_channel(core, SMS, "SMS", {"token": "t"})
    operator = await _operator(core, "ann")
    start = clock.now()
    message = InboundMessage(channel.id, "in-1", SenderProfile("+100", "Ann"), (Text("hi"),))
    result = await ingest_inbound(core, message)
    conversation = result.conversation
    assert conversation.reply_window_ends_at == start + timedelta(hours=1)
    assert conversation_view(conversation)["window_expires_at"] == (
        (start + timedelta(hours=1)).isoformat()
    )
    await claim_conversation(core, operator, conversation.id)

    clock.advance(59 * 60)
    await send_reply(core, operator, conversation.id, (Text("inside"),), None)

    clock.advance(60)
    with pytest.raises(WindowClosed, match="SMS window is over"):
        await send_reply(core, operator, conversation.id, (Text("too late"),), None)
    with pytest.raises(WindowClosed):
        await send_automatic_reply(
            core, conversation.id, (Text("bot, too late"),), author=AuthorKind.BOT
        )
    # Templates the spec lists still go; others are refused.
    await send_reply(core, operator, conversation.id, (Template("promo", "en"),), None)
    with pytest.raises(InvalidInput, match="not configured"):
        await send_reply(core, operator, conversation.id, (Template("other", "en"),), None)

    # The customer writes again: the window opens again from that message.
    clock.advance(5 * 3600)
    again = InboundMessage(channel.id, "in-2", SenderProfile("+100", "Ann"), (Text("back"),))
    reopened = (await ingest_inbound(core, again)).conversation
    assert reopened.reply_window_ends_at == clock.now() + timedelta(hours=1)
    await send_reply(core, operator, conversation.id, (Text("welcome back"),), None)


async def test_a_kind_without_templates_refuses_them(store: SqlStore, clock: FixedClock) -> None:
    plain = ChannelSpec(kind=ChannelKind("chat"), options=frozenset())
    core = Core(
        store=store, bus=InProcessEventBus(), clock=clock, channels=ChannelCatalog.of([plain])
    )
    channel = await add_channel(core, plain.kind, "Chat", {})
    operator = await _operator(core, "bo")
    message = InboundMessage(channel.id, "c-1", SenderProfile("v1", "V"), (Text("hi"),))
    conversation = (await ingest_inbound(core, message)).conversation
    assert conversation.reply_window_ends_at is None
    await claim_conversation(core, operator, conversation.id)
    with pytest.raises(InvalidInput, match="templates cannot be sent on chat channels"):
        await send_reply(core, operator, conversation.id, (Template("promo", "en"),), None)
    clock.advance(30 * 86400)  # no window: free text goes any time
    await send_reply(core, operator, conversation.id, (Text("still here"),), None)


async def test_threading_depth_comes_from_the_spec(core: Core) -> None:
    channel = await add_channel(core, SMS, "SMS", {"token": "t"})
    operator = await _operator(core, "cy")
    ids = []
    for n in range(3):
        message = InboundMessage(
            channel.id, f"ext-{n}", SenderProfile("+100", "Ann"), (Text(f"m{n}"),)
        )
        conversation = (await ingest_inbound(core, message)).conversation
        ids.append(message.external_id)
    await claim_conversation(core, operator, conversation.id)
    await send_reply(core, operator, conversation.id, (Text("answer"),), None)
    sender = RecordingSender()
    await DeliveryWorker(core, {"sms": sender}).run_once()
    (out,) = sender.sent
    # threading=2: the last two earlier ids, and the customer's last message answered.
    assert out.references == tuple(ids[-2:])
    assert out.in_reply_to == ids[-1]
