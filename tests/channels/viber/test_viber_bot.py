"""The bot on Viber, end to end: the real server with the real Viber adapter against the
fake Viber API. A supervisor sets business hours and a Russian flow over REST; signed
callbacks bring the customer's messages; the bot's answers are the ``send_message`` calls
the fake recorded. Covers off hours, an inflected FAQ question, the menu as a keyboard
(and a press on it), the hand-off with a collected phone, the rating request answered
with a keyboard press, and a redelivered callback. Runs on SQLite and PostgreSQL.

The app runs on a :class:`FixedClock` (``create_app(clock=...)``), so "open" and "closed"
are chosen by the clock: Thursday 1 January 2026, 12:00 in Moscow is open for
``mon-fri 09:00-18:00``, Saturday 3 January, 12:00 is closed (next opening Monday 09:00).
"""

# Russian texts are what these tests are about.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bots import BotService
from channels.viber import create_adapter
from inbox.domain.channels import ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.ids import ConversationId
from inbox.domain.operators import Role
from inbox.usecases import add_channel, resolve_conversation
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.channels.viber.helpers import TOKEN, load
from tests.channels.viber.test_viber_e2e import CUSTOMER, Viber
from tests.e2e.conftest import Live, make_settings
from tests.fakes.viber_api import FakeViberApi

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
    viber: Viber
    clock: FixedClock
    boss: str  # a supervisor's token
    seen: int = 0  # fake.sent already looked at

    @property
    def live(self) -> Live:
        return self.viber.live

    @property
    def fake(self) -> FakeViberApi:
        return self.viber.fake

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

    async def says(self, token: int, text: str) -> None:
        await self.viber.customer_says(token, text)

    async def presses(self, token: int, keyboard_message: dict[str, Any], payload: str) -> None:
        """A press on a reply button of the keyboard that came with ``keyboard_message``:
        Viber sends its ActionBody as text, with that message's tracking_data."""
        press = load("callback_message_button_press.json")
        press["message_token"] = token
        press["message"] = {
            "type": "text",
            "text": payload,
            "tracking_data": keyboard_message["tracking_data"],
        }
        assert await self.viber.callback(press) == (200, {})

    async def answers(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` messages the bot sent to the customer (as the fake got them)."""
        await until(lambda: len(self.fake.sent) >= self.seen + count)
        new = self.fake.sent[self.seen : self.seen + count]
        self.seen += count
        assert all(body["receiver"] == CUSTOMER for body in new)
        assert all(body["sender"] == {"name": "Бот"} for body in new)
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


def keyboard_of(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(ActionType, ActionBody, Text) of each button of the message's keyboard."""
    return [(b["ActionType"], b["ActionBody"], b["Text"]) for b in body["keyboard"]["Buttons"]]


@pytest.fixture
async def bot(database_url: str, tmp_path: Path) -> AsyncIterator[Bot]:
    clock = FixedClock(OPEN_AT)
    async with FakeViberApi(token=TOKEN) as fake:
        app = await create_app(
            make_settings(database_url, tmp_path),
            clock=clock,
            hasher=Argon2PasswordHasher(fast_for_tests=True),
            adapter_factories={"viber": create_adapter},
        )
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        channel = await add_channel(
            app[SERVICES].core,
            ChannelKind("viber"),
            "Shoe Shop",
            {"token": TOKEN, "api_base": fake.api_base},
        )
        async with aiohttp.ClientSession() as http:
            live = Live(app, server, channel.id, http)
            try:
                await live.add_operator("sveta", Role.SUPERVISOR)
                yield Bot(Viber(live, fake, channel), clock, await live.token("sveta"))
            finally:
                for ws in live._sockets:
                    await ws.close()
                await server.close()


async def hand_off(bot: Bot) -> str:
    """The customer asks for a person, gives a bad phone, then a good one; returns the
    conversation's id."""
    await bot.says(101, "Позовите оператора")
    greeting, ask = await bot.answers(2)
    assert greeting["text"] == "Здравствуйте! Чем помочь?"
    assert "номер телефона" in ask["text"]
    await bot.says(102, "позже")
    [again] = await bot.answers(1)
    assert "Не получилось распознать номер" in again["text"]
    await bot.says(103, "+7 916 123-45-67")
    [connecting] = await bot.answers(1)
    assert connecting["text"] == "Соединяю с оператором…"
    return await bot.conversation_id()


# --------------------------------------------------------------------------- tests


async def test_off_hours_get_one_answer_with_the_next_opening(bot: Bot) -> None:
    await bot.move_clock((CLOSED_AT - OPEN_AT).total_seconds())
    await bot.configure({**FLOW, "menu": False})
    await bot.says(201, "Добрый день")
    [answer] = await bot.answers(1)
    assert answer["text"] == f"Сейчас мы не работаем. Ответим {NEXT_OPEN}."
    assert "keyboard" not in answer
    conversation_id = await bot.conversation_id()
    await bot.quiet(conversation_id)
    assert len(bot.fake.sent) == 1


async def test_an_inflected_question_gets_the_faq_answer(bot: Bot) -> None:
    await bot.configure()
    await bot.says(301, "Сколько стоит доставку?")
    greeting, answer = await bot.answers(2)
    assert greeting["text"] == "Здравствуйте! Чем помочь?"
    assert answer["text"] == "Доставляем курьером за 1–2 дня."


async def test_the_menu_is_a_keyboard_and_a_press_picks_its_item(bot: Bot) -> None:
    await bot.configure()
    await bot.says(401, "Добрый день")
    greeting, menu = await bot.answers(2)
    assert greeting["text"] == "Здравствуйте! Чем помочь?"
    assert menu["text"] == "Выберите тему или напишите вопрос:"
    assert keyboard_of(menu) == [
        ("reply", "bot:faq:0", "Доставка"),
        ("reply", "bot:operator", "Связаться с оператором"),
    ]
    await bot.presses(402, menu, "bot:faq:0")
    [answer] = await bot.answers(1)
    assert answer["text"] == "Доставляем курьером за 1–2 дня."


async def test_hand_off_collects_the_phone_and_queues_the_conversation(bot: Bot) -> None:
    await bot.configure()
    conversation_id = await hand_off(bot)
    conversation = await bot.conversation(conversation_id)
    assert conversation["status"] == "queued"
    notes = [m for m in await bot.messages(conversation_id) if m["kind"] == "note"]
    assert notes[-1]["author"]["kind"] == "bot"
    assert notes[-1]["text"] == "The bot collected phone: +79161234567"


async def test_resolving_asks_for_a_rating_and_a_pressed_five_is_stored(bot: Bot) -> None:
    await bot.configure()
    conversation_id = await hand_off(bot)
    sveta = bot.live.operators["sveta"]
    await resolve_conversation(bot.live.core, sveta, ConversationId(conversation_id))
    [request] = await bot.answers(1)
    assert request["text"] == "Оцените, пожалуйста, наш ответ от 1 до 5."
    assert keyboard_of(request) == [("reply", f"csat:{n}", str(n)) for n in range(1, 6)]
    await bot.presses(501, request, "csat:5")
    [thanks] = await bot.answers(1)
    assert thanks["text"] == "Спасибо за оценку!"

    async def rated() -> bool:
        conversation = await bot.conversation(conversation_id)
        return conversation["csat"] is not None and conversation["status"] == "resolved"

    await until_async(rated)
    csat = (await bot.conversation(conversation_id))["csat"]
    assert csat["rating"] == 5


async def test_a_redelivered_callback_gets_no_second_answer(bot: Bot) -> None:
    await bot.configure()
    await bot.says(601, "Сколько стоит доставку?")
    await bot.says(601, "Сколько стоит доставку?")  # Viber re-sends a callback unchanged
    greeting, answer = await bot.answers(2)
    assert greeting["text"] == "Здравствуйте! Чем помочь?"
    assert answer["text"] == "Доставляем курьером за 1–2 дня."
    await bot.says(601, "Сколько стоит доставку?")  # and again, after the answer
    conversation_id = await bot.conversation_id()
    await bot.quiet(conversation_id)
    assert len(bot.fake.sent) == 2
    inbound = [m for m in await bot.messages(conversation_id) if m["direction"] == "inbound"]
    assert [m["text"] for m in inbound] == ["Сколько стоит доставку?"]
