"""The bot on VK end to end: a real server with the real VK adapter, the fake VK API on a
local port, Callback API notifications posted with the community's secret, real operator
WebSockets. Runs on SQLite and PostgreSQL.

A supervisor sets the hours and a Russian flow over REST. The app runs on a
:class:`FixedClock` (``create_app(clock=...)``) that starts on a Wednesday at 12:00 in
Moscow, inside "mon-fri 09:00-18:00"; the off-hours test moves it to a Saturday. Every bot
reply is read off the fake's accepted ``messages.send`` calls: off hours, FAQ by stems, the
menu as an inline keyboard and a press on it (VK posts a press of a ``text`` button as a
``message_new`` with the label and our payload), collecting a phone before the hand-off,
the CSAT request with buttons 1..5 after the resolve and a bare "5" as the answer, and a
redelivered notification.

The bot answers in a background loop, so the tests poll with short sleeps and a
deadline; "nothing more comes" is checked by sweeping the bot (which answers whatever is
left unanswered) and waiting for an empty outbox."""

# Russian texts are what these tests are about.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from channels.vk import create_adapter
from inbox.domain.channels import ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.operators import Role
from inbox.usecases import add_channel
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.channels.vk.conftest import CONFIRMATION, GROUP_ID, SECRET
from tests.channels.vk.test_e2e import PEER, hook
from tests.e2e.conftest import Live, OperatorClient, make_settings
from tests.fakes.vk_api import VkFake

#: Wednesday 14 January 2026, 12:00 in Moscow: open by HOURS.
OPEN_AT = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)
#: From there to Saturday 17 January, 12:00 in Moscow: closed until Monday 09:00.
TO_SATURDAY = 3 * 24 * 3600.0
HOURS = {"tz": "Europe/Moscow", "week": "mon-fri 09:00-18:00"}
GREETING = "Здравствуйте! Чем помочь?"
DELIVERY = "Доставляем курьером за 1–2 дня."
MENU_PROMPT = "Выберите тему или напишите вопрос:"
FLOW: dict[str, Any] = {
    "language": "ru",
    "greeting": GREETING,
    "off_hours": "Сейчас мы не работаем. Ответим {next_open}.",
    "faq": [{"title": "Доставка", "answer": DELIVERY, "keywords": ["доставка", "курьер"]}],
    "handoff": ["оператор", "operator"],
    "collect": ["phone"],
}
DEADLINE = 10.0


def _text_button(label: str, payload: str) -> dict[str, Any]:
    action = {"type": "text", "label": label, "payload": json.dumps({"button": payload})}
    return {"action": action}


@dataclass
class BotChat:
    """The running server with a VK channel and a bot set up, and the customer."""

    live: Live
    fake: VkFake
    clock: FixedClock
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def sent(self) -> list[dict[str, str]]:
        """What VK accepted for the customer (first sends only), in order."""
        return self.fake.messages

    def texts(self) -> list[str]:
        return [m.get("message", "") for m in self.sent]

    def message_new(self, text: str, payload: str | None = None) -> dict[str, Any]:
        """A new customer message as VK posts it (fresh event id and message number);
        with ``payload``, a press of one of our buttons (``{"button": payload}``)."""
        n = next(self._numbers)
        message: dict[str, Any] = {
            "date": 1768381200 + n,
            "from_id": PEER,
            "id": 400 + n,
            "out": 0,
            "version": 10001000 + n,
            "attachments": [],
            "conversation_message_id": 500 + n,
            "fwd_messages": [],
            "important": False,
            "is_hidden": False,
            "peer_id": PEER,
            "random_id": 0,
            "text": text,
        }
        if payload is not None:
            message["payload"] = json.dumps({"button": payload})
        return {
            "group_id": GROUP_ID,
            "type": "message_new",
            "event_id": f"bot-test-event-{n}",
            "v": "5.199",
            "secret": SECRET,
            "object": {
                "message": message,
                "client_info": {
                    "button_actions": ["text", "open_link", "callback"],
                    "keyboard": True,
                    "inline_keyboard": True,
                    "carousel": True,
                    "lang_id": 0,
                },
            },
        }

    def press(self, carrier: dict[str, str], label: str) -> dict[str, Any]:
        """A press of the button ``label`` of the keyboard sent with ``carrier`` (one of
        :attr:`sent`): VK posts the label as the text with the button's payload."""
        keyboard = json.loads(carrier["keyboard"])
        (action,) = [
            b["action"] for row in keyboard["buttons"] for b in row if b["action"]["label"] == label
        ]
        n = next(self._numbers)
        update = self.message_new(label)
        update["event_id"] = f"bot-test-press-{n}"
        update["object"]["message"]["payload"] = action["payload"]
        return update

    async def post(self, update: dict[str, Any], **headers: str) -> None:
        assert await hook(self.live, update, **headers) == (200, "ok")

    async def says(self, text: str) -> dict[str, Any]:
        update = self.message_new(text)
        await self.post(update)
        return update

    async def bot_sends(self, count: int) -> list[dict[str, str]]:
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
            "GET", f"/api/v1/conversations?channel={self.live.channel_id}", token
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


async def _until(done: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while not done():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.fixture
async def chat(database_url: str, tmp_path: Path, vk_fake: VkFake) -> AsyncIterator[BotChat]:
    clock = FixedClock(OPEN_AT)
    app = await create_app(
        make_settings(database_url, tmp_path),
        clock=clock,
        hasher=Argon2PasswordHasher(fast_for_tests=True),
        adapter_factories={"vk": create_adapter},
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    channel = await add_channel(
        app[SERVICES].core,
        ChannelKind("vk"),
        "VK shop",
        {
            "token": vk_fake.token,
            "group_id": str(GROUP_ID),
            "secret": SECRET,
            "confirmation": CONFIRMATION,
            "api_base": vk_fake.base_url,
        },
    )
    async with aiohttp.ClientSession() as http:
        live = Live(app, server, channel.id, http)
        try:
            await live.add_operator("sveta", Role.SUPERVISOR)
            await live.add_operator("anna")
            bot = BotChat(live, vk_fake, clock)
            await bot.set_bot(FLOW)
            yield bot
        finally:
            for ws in live._sockets:
                await ws.close()
            await server.close()


async def test_off_hours_get_one_answer_with_the_next_opening(chat: BotChat) -> None:
    chat.clock.advance(TO_SATURDAY)
    # Without the menu the whole first answer is the off-hours text.
    await chat.set_bot({**FLOW, "menu": False})
    token = await chat.boss()
    status, body = await chat.live.api("GET", "/api/v1/bots/default", token)
    assert status == 200, body
    assert body["status"]["open_now"] is False

    await chat.says("Добрый день, есть кто?")
    (answer,) = await chat.bot_sends(1)
    assert answer["peer_id"] == str(PEER)
    assert answer["message"] == "Сейчас мы не работаем. Ответим в понедельник в 09:00 (UTC+03:00)."
    assert "keyboard" not in answer
    await chat.settled()
    assert len(chat.sent) == 1
    conversation = await chat.conversation()
    assert conversation["status"] == "bot"


async def test_an_inflected_question_gets_the_faq_answer(chat: BotChat) -> None:
    await chat.says("Сколько стоит доставку?")
    greeting, answer = await chat.bot_sends(2)
    assert greeting["message"] == GREETING
    assert answer["message"] == DELIVERY
    assert answer["peer_id"] == str(PEER)
    await chat.settled()
    assert len(chat.sent) == 2

    await chat.says("А курьеры по выходным ездят?")
    *_, again = await chat.bot_sends(3)
    assert again["message"] == DELIVERY


async def test_the_menu_is_an_inline_keyboard_and_a_press_picks_the_item(chat: BotChat) -> None:
    await chat.says("Добрый день")
    greeting, menu = await chat.bot_sends(2)
    assert greeting["message"] == GREETING
    assert "keyboard" not in greeting
    assert menu["message"] == MENU_PROMPT
    keyboard = json.loads(menu["keyboard"])
    assert keyboard == {
        "one_time": False,
        "inline": True,
        "buttons": [
            [_text_button("Доставка", "bot:faq:0")],
            [_text_button("Связаться с оператором", "bot:operator")],
        ],
    }

    await chat.post(chat.press(menu, "Доставка"))
    *_, answer = await chat.bot_sends(3)
    assert answer["message"] == DELIVERY

    # The operator button starts the hand-off.
    await chat.post(chat.press(menu, "Связаться с оператором"))
    *_, ask = await chat.bot_sends(4)
    assert ask["message"] == "Оставьте, пожалуйста, номер телефона для связи."


async def hand_off(chat: BotChat) -> tuple[OperatorClient, dict[str, Any]]:
    """Greeting, "оператор", a bad phone, a good one: the conversation goes to Anna.
    Returns her console and her ``conversation.assigned`` conversation."""
    await chat.says("Добрый день")
    await chat.bot_sends(2)  # the greeting and the menu
    await chat.says("Позовите оператора")
    ask = (await chat.bot_sends(3))[-1]
    assert ask["message"] == "Оставьте, пожалуйста, номер телефона для связи."
    await chat.says("позже скажу")
    retry = (await chat.bot_sends(4))[-1]
    assert retry["message"] == (
        "Не получилось распознать номер. Напишите его в формате +7 916 123-45-67."
    )
    anna = await chat.live.online_operator("anna")
    await chat.says("+7 916 123-45-67")
    connecting = (await chat.bot_sends(5))[-1]
    assert connecting["message"] == "Соединяю с оператором…"
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


async def test_after_the_resolve_the_customer_rates_with_a_digit(chat: BotChat) -> None:
    anna, conversation = await hand_off(chat)
    resolved = await anna.command("conversation.resolve", conversation_id=conversation["id"])
    assert resolved["type"] == "ack", resolved
    request = (await chat.bot_sends(6))[-1]
    assert request["message"] == "Оцените, пожалуйста, наш ответ от 1 до 5."
    buttons = json.loads(request["keyboard"])["buttons"]
    assert [b["action"]["label"] for row in buttons for b in row] == ["1", "2", "3", "4", "5"]
    assert [json.loads(b["action"]["payload"]) for row in buttons for b in row] == [
        {"button": f"csat:{n}"} for n in range(1, 6)
    ]

    await chat.says("5")
    thanks = (await chat.bot_sends(7))[-1]
    assert thanks["message"] == "Спасибо за оценку!"

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
    await chat.settled()
    assert len(chat.sent) == 7


async def test_a_redelivered_notification_is_answered_once(chat: BotChat) -> None:
    first = chat.message_new("Добрый день")
    await chat.post(first)
    await chat.bot_sends(2)  # the greeting and the menu
    await chat.post(first)  # VK got no "ok" in time
    await chat.post(first, **{"X-Retry-Counter": "1"})
    await chat.settled()
    assert chat.texts() == [GREETING, MENU_PROMPT]

    question = chat.message_new("Сколько стоит доставку?")
    await chat.post(question)
    await chat.post(question, **{"X-Retry-Counter": "1"})
    await chat.bot_sends(3)
    await chat.settled()
    assert chat.texts()[2:] == [DELIVERY]
    # VK's own dedup (random_id) never had to step in: each reply was sent once.
    assert len(chat.fake.calls("messages.send")) == 3
