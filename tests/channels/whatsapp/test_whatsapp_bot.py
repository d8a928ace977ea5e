"""The bot on WhatsApp, end to end: the real server with the real WhatsApp adapter against
the fake Graph API. A supervisor sets business hours and a Russian flow over REST; signed
webhooks bring the customer's messages; the bot's answers are what the fake recorded.
Covers off hours, an inflected FAQ question, the menu as reply buttons, the hand-off with
a collected phone, the rating request (and its absence after the 24-hour window), and a
redelivered webhook. Runs on SQLite and PostgreSQL.

The app runs on a :class:`FixedClock` (``create_app(clock=...)``), so "open" and "closed"
are chosen by the clock: Thursday 1 January 2026, 12:00 in Moscow is open for
``mon-fri 09:00-18:00``, Saturday 3 January, 12:00 is closed (next opening Monday 09:00).
"""

# Russian texts are what these tests are about.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bots import BotService
from channels.whatsapp import create_adapter
from inbox.domain.clock import FixedClock
from inbox.domain.ids import ConversationId
from inbox.domain.operators import Role
from inbox.usecases import resolve_conversation
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.channels.whatsapp.support import CUSTOMER, shared
from tests.channels.whatsapp.test_e2e import add_whatsapp_channel, post_webhook, text_webhook
from tests.e2e.conftest import Live, make_settings
from tests.fakes.whatsapp_api import FakeWhatsAppApi

#: Thursday, 12:00 in Moscow: open.
OPEN_AT = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
#: Saturday, 12:00 in Moscow: closed until Monday 09:00.
CLOSED_AT = datetime(2026, 1, 3, 9, 0, tzinfo=UTC)
HOURS = {"tz": "Europe/Moscow", "week": "mon-fri 09:00-18:00"}
NEXT_OPEN = "в понедельник в 09:00 (UTC+03:00)"

FLOW: dict[str, Any] = {
    "language": "ru",
    "greeting": "Здравствуйте! Чем помочь?",
    "off_hours": "Сейчас мы не работаем. Ответим {next_open}.",
    "faq": [
        {
            "title": "Доставка",
            "answer": "Доставляем курьером за 1–2 дня.",
            "keywords": ["доставка", "курьер"],
        }
    ],
    "handoff": ["оператор", "operator"],
    "collect": ["phone"],
}
DEADLINE = 10.0


@dataclass
class Bot:
    live: Live
    fake: FakeWhatsAppApi
    clock: FixedClock
    boss: str  # a supervisor's token
    seen: int = 0  # fake.sent already looked at

    @property
    def bots(self) -> BotService:
        return self.live.app[SERVICES].bots

    async def move_clock(self, seconds: float) -> None:
        """Move the app's clock; the supervisor logs in again (tokens live 12 hours)."""
        self.clock.advance(seconds)
        self.boss = await self.live.token("sveta")

    async def configure(self, flow: dict[str, Any] = FLOW) -> None:
        status, body = await self.live.api(
            "PUT", "/api/v1/bots/default/hours", self.boss, json=HOURS
        )
        assert status == 200, body
        status, body = await self.live.api("PUT", "/api/v1/bots/default/flow", self.boss, json=flow)
        assert status == 200, body

    async def says(self, message_id: str, text: str) -> None:
        assert await post_webhook(self.live, text_webhook(message_id, text)) == (200, {"ok": True})

    async def presses(self, message_id: str, payload: str, title: str) -> None:
        webhook: dict[str, Any] = copy.deepcopy(
            shared("whatsapp_webhook_interactive_button_reply.json")
        )
        message = webhook["entry"][0]["changes"][0]["value"]["messages"][0]
        del message["context"]
        message["id"] = message_id
        message["interactive"]["button_reply"] = {"id": payload, "title": title}
        assert await post_webhook(self.live, webhook) == (200, {"ok": True})

    async def answers(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` messages the bot sent to the customer (as the fake got them)."""
        await until(lambda: len(self.fake.sent) >= self.seen + count)
        new = self.fake.sent[self.seen : self.seen + count]
        self.seen += count
        assert all(body["to"] == CUSTOMER for body in new)
        return new

    async def conversation_id(self) -> str:
        status, body = await self.live.api("GET", "/api/v1/conversations", self.boss)
        assert status == 200, body
        [conversation] = body["conversations"]
        return str(conversation["id"])

    async def conversation(self, conversation_id: str) -> dict[str, Any]:
        status, body = await self.live.api(
            "GET", f"/api/v1/conversations/{conversation_id}", self.boss
        )
        assert status == 200, body
        conversation: dict[str, Any] = body["conversation"]
        return conversation

    async def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        status, body = await self.live.api(
            "GET", f"/api/v1/conversations/{conversation_id}/messages", self.boss
        )
        assert status == 200, body
        messages: list[dict[str, Any]] = body["messages"]
        return messages

    async def quiet(self, conversation_id: str) -> None:
        """The bot has nothing left to answer and every reply it wrote has gone out: no
        further send can come (no sleeping on a guess)."""
        assert await self.bots.answer(ConversationId(conversation_id)) == 0
        assert await self.bots.sweep() == 0

        async def delivered() -> bool:
            outbound = [
                m
                for m in await self.messages(conversation_id)
                if m["direction"] == "outbound" and m["kind"] == "message"
            ]
            return all(m["status"] == "sent" for m in outbound) and len(outbound) == len(
                self.fake.sent
            )

        await until_async(delivered)


async def until(done: Callable[[], bool], timeout: float = DEADLINE) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def until_async(done: Callable[[], Awaitable[bool]], timeout: float = DEADLINE) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await done():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def text_of(body: dict[str, Any]) -> str:
    if body["type"] == "text":
        return str(body["text"]["body"])
    return str(body["interactive"]["body"]["text"])


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(OPEN_AT)


@pytest.fixture
async def bot(
    database_url: str, tmp_path: Path, fake: FakeWhatsAppApi, clock: FixedClock
) -> AsyncIterator[Bot]:
    app = await create_app(
        make_settings(database_url, tmp_path),
        clock=clock,
        hasher=Argon2PasswordHasher(fast_for_tests=True),
        adapter_factories={"whatsapp": create_adapter},
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        live = Live(app, server, "", http)
        try:
            await add_whatsapp_channel(live, fake)
            await live.add_operator("sveta", Role.SUPERVISOR)
            yield Bot(live, fake, clock, await live.token("sveta"))
        finally:
            for ws in live._sockets:
                await ws.close()
            await server.close()


async def hand_off(bot: Bot) -> str:
    """The customer asks for a person, gives a bad phone, then a good one; returns the
    conversation's id."""
    await bot.says("wamid.h1", "Позовите оператора")
    greeting, ask = await bot.answers(2)
    assert text_of(greeting) == "Здравствуйте! Чем помочь?"
    assert "номер телефона" in text_of(ask)
    await bot.says("wamid.h2", "позже")
    [again] = await bot.answers(1)
    assert "Не получилось распознать номер" in text_of(again)
    await bot.says("wamid.h3", "+7 916 123-45-67")
    [connecting] = await bot.answers(1)
    assert text_of(connecting) == "Соединяю с оператором…"
    return await bot.conversation_id()


# --------------------------------------------------------------------------- tests


async def test_off_hours_get_one_answer_with_the_next_opening(bot: Bot) -> None:
    await bot.move_clock((CLOSED_AT - OPEN_AT).total_seconds())
    await bot.configure({**FLOW, "menu": False})
    await bot.says("wamid.o1", "Добрый день")
    [answer] = await bot.answers(1)
    assert text_of(answer) == f"Сейчас мы не работаем. Ответим {NEXT_OPEN}."
    conversation_id = await bot.conversation_id()
    await bot.quiet(conversation_id)
    assert len(bot.fake.sent) == 1


async def test_an_inflected_question_gets_the_faq_answer(bot: Bot) -> None:
    await bot.configure()
    await bot.says("wamid.f1", "Сколько стоит доставку?")
    greeting, answer = await bot.answers(2)
    assert text_of(greeting) == "Здравствуйте! Чем помочь?"
    assert text_of(answer) == "Доставляем курьером за 1–2 дня."


async def test_the_menu_is_reply_buttons_and_a_press_picks_its_item(bot: Bot) -> None:
    await bot.configure()
    await bot.says("wamid.m1", "Добрый день")
    greeting, menu = await bot.answers(2)
    assert text_of(greeting) == "Здравствуйте! Чем помочь?"
    assert menu["type"] == "interactive"
    assert menu["interactive"]["type"] == "button"
    assert menu["interactive"]["body"]["text"] == "Выберите тему или напишите вопрос:"
    buttons = [b["reply"] for b in menu["interactive"]["action"]["buttons"]]
    # WhatsApp caps a button title at 20 characters.
    assert buttons == [
        {"id": "bot:faq:0", "title": "Доставка"},
        {"id": "bot:operator", "title": "Связаться с операто…"},
    ]
    await bot.presses("wamid.m2", buttons[0]["id"], buttons[0]["title"])
    [answer] = await bot.answers(1)
    assert text_of(answer) == "Доставляем курьером за 1–2 дня."


async def test_hand_off_collects_the_phone_and_queues_the_conversation(bot: Bot) -> None:
    await bot.configure()
    conversation_id = await hand_off(bot)
    conversation = await bot.conversation(conversation_id)
    assert conversation["status"] == "queued"
    notes = [m for m in await bot.messages(conversation_id) if m["kind"] == "note"]
    assert notes[-1]["author"]["kind"] == "bot"
    assert notes[-1]["text"] == "The bot collected phone: +79161234567"


async def test_resolving_asks_for_a_rating_and_a_five_is_stored(bot: Bot) -> None:
    await bot.configure()
    conversation_id = await hand_off(bot)
    sveta = bot.live.operators["sveta"]
    await resolve_conversation(bot.live.core, sveta, ConversationId(conversation_id))
    [request] = await bot.answers(1)
    # Five reply buttons are more than WhatsApp's three: a numbered list.
    assert text_of(request) == (
        "Оцените, пожалуйста, наш ответ от 1 до 5.\n\n1. 1\n2. 2\n3. 3\n4. 4\n5. 5"
    )
    await bot.says("wamid.r1", "5")
    [thanks] = await bot.answers(1)
    assert text_of(thanks) == "Спасибо за оценку!"

    async def rated() -> bool:
        conversation = await bot.conversation(conversation_id)
        return conversation["csat"] is not None and conversation["status"] == "resolved"

    await until_async(rated)
    csat = (await bot.conversation(conversation_id))["csat"]
    assert csat["rating"] == 5


async def test_after_the_24_hour_window_no_rating_request_is_sent(bot: Bot) -> None:
    await bot.configure()
    conversation_id = await hand_off(bot)
    sent = len(bot.fake.sent)
    # Friday 13:00 in Moscow: open, but WhatsApp's 24-hour window has closed.
    await bot.move_clock(25 * 3600)
    sveta = bot.live.operators["sveta"]
    await resolve_conversation(bot.live.core, sveta, ConversationId(conversation_id))

    async def noted() -> bool:
        return any(
            m["kind"] == "note" and "No rating request was sent" in m["text"]
            for m in await bot.messages(conversation_id)
        )

    await until_async(noted)
    assert not await bot.bots.request_csat(ConversationId(conversation_id))
    await bot.quiet(conversation_id)
    assert len(bot.fake.sent) == sent


async def test_a_redelivered_webhook_gets_no_second_answer(bot: Bot) -> None:
    await bot.configure()
    await bot.says("wamid.d1", "Сколько стоит доставку?")
    await bot.says("wamid.d1", "Сколько стоит доставку?")  # Meta redelivers it as it was
    greeting, answer = await bot.answers(2)
    assert text_of(greeting) == "Здравствуйте! Чем помочь?"
    assert text_of(answer) == "Доставляем курьером за 1–2 дня."
    await bot.says("wamid.d1", "Сколько стоит доставку?")  # and again, after the answer
    conversation_id = await bot.conversation_id()
    await bot.quiet(conversation_id)
    assert len(bot.fake.sent) == 2
    inbound = [m for m in await bot.messages(conversation_id) if m["direction"] == "inbound"]
    assert [m["text"] for m in inbound] == ["Сколько стоит доставку?"]
