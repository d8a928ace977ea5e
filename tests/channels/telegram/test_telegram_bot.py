"""The bot on Telegram end to end: a real server with the real Telegram adapter, the fake
Bot API on a local port, webhooks posted with the channel's secret, real operator
WebSockets. Runs on SQLite and PostgreSQL.

A supervisor sets the hours and a Russian flow over REST. The app runs on a
:class:`FixedClock` (``create_app(clock=...)``) that starts on a Wednesday at 12:00 in
Moscow, inside "mon-fri 09:00-18:00"; the off-hours test moves it to a Saturday. Every bot
reply is read off the fake's ``sendMessage`` calls: off hours, FAQ by stems, the menu as
an inline keyboard and a press on it, collecting a phone before the hand-off, the CSAT
request with buttons 1..5 after the resolve and its answer, and a redelivered update.

The bot answers in a background loop, so the tests poll with short sleeps and a
deadline; "nothing more comes" is checked by sweeping the bot (which answers whatever is
left unanswered) and waiting for an empty outbox."""

# Russian texts are what these tests are about.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from inbox.domain.clock import FixedClock
from inbox.domain.operators import Role
from server.app import SERVICES
from tests.channels.telegram.test_telegram_e2e import (
    CUSTOMER_CHAT,
    Telegram,
    add_telegram_channel,
    start_app,
)
from tests.e2e.conftest import Live, OperatorClient
from tests.fakes.telegram_api import TelegramApiFake

# PTB's RetryAfter warns about its own int property while being constructed (22.2+).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

#: Wednesday 14 January 2026, 12:00 in Moscow: open by HOURS.
OPEN_AT = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)
#: From there to Saturday 17 January, 12:00 in Moscow: closed until Monday 09:00.
TO_SATURDAY = 3 * 24 * 3600.0
HOURS = {"tz": "Europe/Moscow", "week": "mon-fri 09:00-18:00"}
GREETING = "Здравствуйте! Чем помочь?"
DELIVERY = "Доставляем курьером за 1–2 дня."
FLOW: dict[str, Any] = {
    "language": "ru",
    "greeting": GREETING,
    "off_hours": "Сейчас мы не работаем. Ответим {next_open}.",
    "faq": [{"title": "Доставка", "answer": DELIVERY, "keywords": ["доставка", "курьер"]}],
    "handoff": ["оператор", "operator"],
    "collect": ["phone"],
}
MENU_MARKUP = {
    "inline_keyboard": [
        [{"text": "Доставка", "callback_data": "bot:faq:0"}],
        [{"text": "Связаться с оператором", "callback_data": "bot:operator"}],
    ]
}
CSAT_MARKUP = {
    "inline_keyboard": [[{"text": str(n), "callback_data": f"csat:{n}"}] for n in range(1, 6)]
}
DEADLINE = 10.0


@dataclass
class BotChat:
    """The running server with a Telegram channel and a bot set up, and the customer."""

    tg: Telegram
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def live(self) -> Live:
        return self.tg.live

    @property
    def fake(self) -> TelegramApiFake:
        return self.tg.fake

    @property
    def sent(self) -> list[dict[str, Any]]:
        """What the bot (or anyone) sent the customer, in order."""
        return self.fake.sent

    def texts(self) -> list[str]:
        return [str(m.get("text")) for m in self.sent]

    def text_update(self, text: str) -> dict[str, Any]:
        """A new customer message as Telegram posts it (fresh update and message ids)."""
        n = next(self._numbers)
        return {
            "update_id": 734600000 + n,
            "message": {
                "message_id": 2000 + n,
                "from": _CUSTOMER,
                "chat": {**_CUSTOMER, "type": "private"},
                "date": 1768381200 + n,
                "text": text,
            },
        }

    def press_update(self, carrier: dict[str, Any], title: str) -> dict[str, Any]:
        """A press of the button ``title`` under the message ``carrier`` (one of
        :attr:`sent`), as Telegram posts it."""
        data = next(
            b["callback_data"]
            for row in carrier["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"] == title
        )
        n = next(self._numbers)
        return {
            "update_id": 734600000 + n,
            "callback_query": {
                "id": f"press-{n}",
                "from": _CUSTOMER,
                "chat_instance": "-3751291398427411826",
                "message": carrier,
                "data": data,
            },
        }

    async def says(self, text: str) -> dict[str, Any]:
        update = self.text_update(text)
        assert await self.tg.deliver(update) == (200, {"ok": True})
        return update

    async def bot_sends(self, count: int) -> list[dict[str, Any]]:
        """Wait until ``count`` messages in all went to the customer; returns them."""
        await _until(lambda: len(self.sent) >= count)
        assert len(self.sent) == count, self.texts()
        return self.sent

    async def settled(self) -> None:
        """Nothing more is coming: the bot finds nothing unanswered, the outbox is empty."""
        services = self.live.app[SERVICES]
        assert await services.bots.sweep() == 0
        store = services.core.store
        for _ in range(int(DEADLINE / 0.02)):
            if await store.read(lambda tx: tx.outbox.pending_count()) == 0:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the outbox did not drain")
        await asyncio.sleep(0.1)  # a last chance for anything still on its way

    async def boss(self) -> str:
        return await self.live.token("sveta")

    async def conversation(self) -> dict[str, Any]:
        """The customer's only conversation, as a supervisor sees it."""
        token = await self.boss()
        status, body = await self.live.api(
            "GET", f"/api/v1/conversations?channel={self.tg.channel.id}", token
        )
        assert status == 200, body
        (listed,) = body["conversations"]
        status, body = await self.live.api("GET", f"/api/v1/conversations/{listed['id']}", token)
        assert status == 200, body
        found: dict[str, Any] = body["conversation"]
        return found

    async def set_bot(self, flow: dict[str, Any], hours: dict[str, Any] = HOURS) -> None:
        token = await self.boss()
        status, body = await self.live.api("PUT", "/api/v1/bots/default/hours", token, json=hours)
        assert status == 200, body
        status, body = await self.live.api("PUT", "/api/v1/bots/default/flow", token, json=flow)
        assert status == 200, body


_CUSTOMER = {"id": CUSTOMER_CHAT, "first_name": "Иван", "last_name": "Петров", "username": "ivan_p"}


async def _until(done: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while not done():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.fixture
async def chat(database_url: str, tmp_path: Path) -> AsyncIterator[BotChat]:
    clock = FixedClock(OPEN_AT)
    async with TelegramApiFake() as fake:
        app, server = await start_app(database_url, tmp_path, clock)
        channel = await add_telegram_channel(app, fake)
        async with aiohttp.ClientSession() as http:
            live = Live(app, server, channel.id, http)
            try:
                await live.add_operator("sveta", Role.SUPERVISOR)
                await live.add_operator("anna")
                bot = BotChat(Telegram(live, fake, channel, clock))
                await bot.set_bot(FLOW)
                yield bot
            finally:
                for ws in live._sockets:
                    await ws.close()
                await server.close()


async def test_off_hours_get_one_answer_with_the_next_opening(chat: BotChat) -> None:
    chat.tg.clock.advance(TO_SATURDAY)
    # Without the menu the whole first answer is the off-hours text.
    await chat.set_bot({**FLOW, "menu": False})
    token = await chat.boss()
    status, body = await chat.live.api("GET", "/api/v1/bots/default", token)
    assert status == 200, body
    assert body["status"]["open_now"] is False

    await chat.says("Добрый день, есть кто?")
    (answer,) = await chat.bot_sends(1)
    assert answer["chat"]["id"] == CUSTOMER_CHAT
    assert answer["text"] == "Сейчас мы не работаем. Ответим в понедельник в 09:00 (UTC+03:00)."
    assert "reply_markup" not in answer
    await chat.settled()
    assert len(chat.sent) == 1
    conversation = await chat.conversation()
    assert conversation["status"] == "bot"


async def test_an_inflected_question_gets_the_faq_answer(chat: BotChat) -> None:
    await chat.says("Сколько стоит доставку?")
    greeting, answer = await chat.bot_sends(2)
    assert greeting["text"] == GREETING
    assert answer["text"] == DELIVERY
    assert answer["chat"]["id"] == CUSTOMER_CHAT
    await chat.settled()
    assert len(chat.sent) == 2

    await chat.says("А курьеры по выходным ездят?")
    *_, again = await chat.bot_sends(3)
    assert again["text"] == DELIVERY


async def test_the_menu_is_an_inline_keyboard_and_a_press_picks_the_item(chat: BotChat) -> None:
    await chat.says("Добрый день")
    greeting, menu = await chat.bot_sends(2)
    assert greeting["text"] == GREETING
    assert menu["text"] == "Выберите тему или напишите вопрос:"
    (call,) = [c for c in chat.fake.calls("sendMessage", ok=True) if "reply_markup" in c.params]
    assert call.params["chat_id"] == CUSTOMER_CHAT
    assert call.params["reply_markup"] == MENU_MARKUP

    status, body = await chat.tg.deliver(chat.press_update(menu, "Доставка"))
    assert status == 200
    assert body["method"] == "answerCallbackQuery"  # the spinner stops at once
    *_, answer = await chat.bot_sends(3)
    assert answer["text"] == DELIVERY

    # The operator button starts the hand-off.
    await chat.tg.deliver(chat.press_update(menu, "Связаться с оператором"))
    *_, ask = await chat.bot_sends(4)
    assert ask["text"] == "Оставьте, пожалуйста, номер телефона для связи."


async def hand_off(chat: BotChat) -> tuple[OperatorClient, dict[str, Any]]:
    """Greeting, "оператор", a bad phone, a good one: the conversation goes to Anna.
    Returns her console and her ``conversation.assigned`` conversation."""
    await chat.says("Добрый день")
    await chat.bot_sends(2)  # the greeting and the menu
    await chat.says("Позовите оператора")
    ask = (await chat.bot_sends(3))[-1]
    assert ask["text"] == "Оставьте, пожалуйста, номер телефона для связи."
    await chat.says("позже скажу")
    retry = (await chat.bot_sends(4))[-1]
    assert retry["text"] == (
        "Не получилось распознать номер. Напишите его в формате +7 916 123-45-67."
    )
    anna = await chat.live.online_operator("anna")
    await chat.says("+7 916 123-45-67")
    connecting = (await chat.bot_sends(5))[-1]
    assert connecting["text"] == "Соединяю с оператором…"
    assigned = await anna.expect("conversation.assigned", timeout=DEADLINE)
    return anna, assigned["conversation"]


async def test_a_hand_off_collects_the_phone_and_reaches_an_operator(chat: BotChat) -> None:
    _, assigned = await hand_off(chat)
    conversation = await chat.conversation()
    assert conversation["id"] == assigned["id"]
    assert conversation["status"] == "assigned"
    assert conversation["assignee_id"] == chat.live.operators["anna"].id

    token = await chat.boss()
    status, body = await chat.live.api(
        "GET", f"/api/v1/conversations/{conversation['id']}/messages", token
    )
    assert status == 200, body
    notes = [m for m in body["messages"] if m["kind"] == "note"]
    assert notes[-1]["author"]["kind"] == "bot"
    assert "phone: +79161234567" in notes[-1]["parts"][0]["text"]
    bot_texts = [
        m["text"] for m in body["messages"] if m["author"]["kind"] == "bot" and m["kind"] != "note"
    ]
    assert "Соединяю с оператором…" in bot_texts
    await chat.settled()
    assert len(chat.sent) == 5  # the bot says nothing more once people have it


async def test_after_the_resolve_the_customer_rates_with_a_button(chat: BotChat) -> None:
    anna, conversation = await hand_off(chat)
    resolved = await anna.command("conversation.resolve", conversation_id=conversation["id"])
    assert resolved["type"] == "ack", resolved
    request = (await chat.bot_sends(6))[-1]
    assert request["text"] == "Оцените, пожалуйста, наш ответ от 1 до 5."
    assert request["reply_markup"] == CSAT_MARKUP

    status, body = await chat.tg.deliver(chat.press_update(request, "5"))
    assert status == 200
    assert body["method"] == "answerCallbackQuery"
    thanks = (await chat.bot_sends(7))[-1]
    assert thanks["text"] == "Спасибо за оценку!"

    async def rated() -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + DEADLINE
        while True:
            found = await chat.conversation()
            if found["csat"] is not None and found["status"] == "resolved":
                return found
            assert asyncio.get_running_loop().time() < deadline, found
            await asyncio.sleep(0.05)

    found = await rated()
    assert found["csat"]["rating"] == 5
    assert found["csat"]["comment"] == ""
    await chat.settled()
    assert len(chat.sent) == 7


async def test_a_redelivered_update_is_answered_once(chat: BotChat) -> None:
    first = chat.text_update("Добрый день")
    assert (await chat.tg.deliver(first))[0] == 200
    await chat.bot_sends(2)  # the greeting and the menu
    assert (await chat.tg.deliver(first))[0] == 200  # Telegram got no 2xx in time
    await chat.settled()
    assert chat.texts() == [GREETING, "Выберите тему или напишите вопрос:"]

    question = chat.text_update("Сколько стоит доставку?")
    assert (await chat.tg.deliver(question))[0] == 200
    assert (await chat.tg.deliver(question))[0] == 200
    await chat.bot_sends(3)
    await chat.settled()
    assert chat.texts()[2:] == [DELIVERY]
