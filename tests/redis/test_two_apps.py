# Russian texts are what these tests are about.
# ruff: noqa: RUF001
"""Two server processes (two apps in one test) on one database and one Redis: an operator
connected to app A sees what arrives at app B. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

import server.wiring as root_wiring
from bots import DEFAULT_SCOPE
from bots.flow import parse_flow
from inbox.domain.channels import ChannelKind
from inbox.domain.event_registry import EventRegistry
from inbox.domain.messages import AuthorKind, Message
from inbox.domain.operators import Role
from inbox.ports import ConversationFilter, Tx
from inbox.usecases import add_channel
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from storage.redis_bus import RedisEventBus
from tests.e2e.conftest import Live, OperatorClient, make_settings
from tests.redis.conftest import LISTEN_TIMEOUT
from tests.webhooks.support import receiver, until

pytestmark = pytest.mark.redis


@dataclass
class Cluster:
    a: Live
    b: Live


@pytest.fixture
async def cluster(
    database_url: str,
    redis_url: str,
    channel_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Cluster]:
    class PrefixedBus(RedisEventBus):
        """The app's bus on this test's own channel (runs on one Redis stay apart)."""

        def __init__(self, url: str, *, registry: EventRegistry) -> None:
            super().__init__(url, registry=registry, channel_prefix=channel_prefix)

    monkeypatch.setattr(root_wiring, "RedisEventBus", PrefixedBus)
    settings = make_settings(database_url, tmp_path, redis_url=redis_url)
    servers: list[TestServer] = []
    lives: list[Live] = []
    async with aiohttp.ClientSession() as http:
        try:
            for _ in range(2):
                app = await create_app(settings, hasher=Argon2PasswordHasher(fast_for_tests=True))
                server = TestServer(app, host="127.0.0.1")
                servers.append(server)
                await server.start_server()
                bus = app[SERVICES].core.bus
                assert isinstance(bus, PrefixedBus)
                async with asyncio.timeout(LISTEN_TIMEOUT):
                    await bus.wait_listening()
                lives.append(Live(app, server, "", http))
            channel = await add_channel(lives[0].core, ChannelKind("webchat"), "Shop", {})
            for live in lives:
                live.channel_id = channel.id
            yield Cluster(lives[0], lives[1])
        finally:
            for live in lives:
                for ws in live._sockets:
                    await ws.close()
            for server in servers:
                await server.close()


async def frames_for(client: OperatorClient, seconds: float) -> list[dict[str, Any]]:
    """Everything the operator has been sent and not yet expected, plus what comes now."""
    frames = list(client.pending)
    client.pending.clear()
    try:
        while True:
            frames.append(await client.recv(seconds))
    except TimeoutError:
        return frames


async def test_an_operator_on_a_sees_a_web_chat_message_sent_to_b(cluster: Cluster) -> None:
    a, b = cluster.a, cluster.b
    assert a.app[SERVICES].core.bus is not b.app[SERVICES].core.bus
    await a.add_operator("anna")
    anna = await a.online_operator("anna")

    customer = await b.customer()
    welcome = await customer.hello()
    await customer.say("Есть ли линзы для астигматизма?", "c-1")

    created = await anna.expect("message.created")
    assert created["message"]["text"] == "Есть ли линзы для астигматизма?"
    assert created["message"]["direction"] == "inbound"
    assigned = await anna.expect("conversation.assigned")
    conversation_id = assigned["conversation"]["id"]
    assert created["conversation_id"] == conversation_id

    # Exactly once: neither app's hub pushed it twice (OperatorClient also checks seq).
    later = await frames_for(anna, 0.5)
    assert not [f for f in later if f["type"] == "message.created"], later

    # The customer (on B) sees the operator (on A) typing: Typing crosses processes.
    await anna.send(type="typing", conversation_id=conversation_id)
    typing = await customer.expect("typing")
    assert typing == {"type": "typing", "from": "agent", "name": "Anna"}

    # The reply is queued on A; whichever process's worker delivers it, the customer has
    # it live (B delivered it) or at the latest on their next hello on B.
    ack = await anna.command(
        "message.send", conversation_id=conversation_id, text="Да, есть.", client_id="o-1"
    )
    assert ack["type"] == "ack", ack
    updated = await anna.expect("message.updated")
    assert updated["message"]["id"] == ack["message"]["id"]
    assert updated["message"]["status"] in ("sent", "delivered")
    again = await b.customer()
    history = await again.hello(visitor_token=welcome["visitor_token"])
    texts = [m["text"] for m in history["messages"]]
    assert texts == ["Есть ли линзы для астигматизма?", "Да, есть."]


async def test_two_processes_answer_a_customer_once(cluster: Cluster) -> None:
    """Both apps run the bots and both get the message's event over Redis; the answer is
    written once (the conversation row lock and the session's handled_seq)."""
    a, b = cluster.a, cluster.b
    flow = parse_flow(
        "language: ru\n"
        "greeting: 'Здравствуйте! Чем помочь?'\n"
        "menu: false\n"
        "faq:\n"
        "  - answer: 'Доставляем курьером за 1–2 дня.'\n"
        "    keywords: ['доставка']\n"
    )
    await a.app[SERVICES].bots.settings.save_flow(DEFAULT_SCOPE, flow)
    await b.app[SERVICES].bots.settings.load()  # the event reaches B too; do not wait for it here
    customer = await b.customer()
    await customer.hello()
    await customer.send(type="message", text="Доставка есть?", client_id="c-1")

    async def bot_messages() -> list[Message]:
        async def work(tx: Tx) -> list[Message]:
            found: list[Message] = []
            for c in await tx.conversations.list(ConversationFilter()):
                found += [
                    m for m in await tx.messages.list(c.id) if m.author_kind is AuthorKind.BOT
                ]
            return found

        return await a.core.store.read(work)

    for _ in range(200):
        if len(await bot_messages()) >= 2:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # room for a second, wrong answer from the other process
    texts = [m.parts[0].text for m in await bot_messages()]  # type: ignore[union-attr]
    assert texts == ["Здравствуйте! Чем помочь?", "Доставляем курьером за 1–2 дня."]


async def test_a_webhook_added_on_one_app_records_on_the_other(cluster: Cluster) -> None:
    """The subscription list reaches app B over Redis: B's change records the delivery."""
    async with receiver() as hook:
        await cluster.a.add_operator("root", Role.ADMIN)
        admin = await cluster.a.token("root")
        status, created = await cluster.a.api(
            "POST",
            "/api/v1/webhooks",
            admin,
            json={"url": hook.url, "events": ["conversation.created"]},
        )
        assert status == 201, created
        recorder = cluster.b.app[SERVICES].webhook_worker.recorder

        await until(lambda: "conversation.created" in recorder.subscribed_events, LISTEN_TIMEOUT)
        customer = await cluster.b.customer()
        await customer.hello()
        await customer.say("hello from B", "c-1")
        await hook.wait_for(1)
        assert hook.received[0].body["event"] == "conversation.created"
