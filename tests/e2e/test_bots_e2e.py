"""The bot on the web chat, through the real server (SQLite and PostgreSQL): a supervisor
sets hours and a flow over REST; a visitor gets the greeting and the menu as quick
replies, an FAQ answer for an inflected Russian question, is asked for a phone (and asked
again after a bad one), is handed to an operator with the phone in a note; after the
resolve the widget gets ``csat.request`` and its ``csat`` answer lands on the
conversation."""

# Russian texts are what these tests are about.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from inbox.domain.channels import ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.operators import Role
from inbox.usecases import add_channel
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.e2e.conftest import Customer, Live, make_settings

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
ALWAYS = {"tz": "Europe/Moscow", "week": "mon-sun 00:00-24:00"}


class Visitor:
    """A web chat customer that keeps every frame, so the bot's answers that arrive
    before the ack of the message they answer are not lost."""

    def __init__(self, customer: Customer) -> None:
        self.customer = customer
        self.frames: list[dict[str, Any]] = []

    async def next(self, wanted: str) -> dict[str, Any]:
        for i, frame in enumerate(self.frames):
            if self._fits(frame, wanted):
                return self.frames.pop(i)
        while True:
            frame = await self.customer.recv(timeout=10)
            if self._fits(frame, wanted):
                return frame
            if frame["type"] not in ("typing", "pong"):
                self.frames.append(frame)

    @staticmethod
    def _fits(frame: dict[str, Any], wanted: str) -> bool:
        kind: str = frame["type"]
        if wanted == "bot":
            return kind == "message" and frame["message"]["from"] == "agent"
        return kind == wanted

    async def say(self, text: str, client_id: str, **extra: Any) -> None:
        await self.customer.send(type="message", text=text, client_id=client_id, **extra)
        ack = await self.next("ack")
        assert ack["client_id"] == client_id

    async def bot(self) -> dict[str, Any]:
        message: dict[str, Any] = (await self.next("bot"))["message"]
        return message


async def test_the_bot_answers_hands_off_and_collects_a_rating(live: Live) -> None:
    await live.add_operator("sveta", Role.SUPERVISOR)
    await live.add_operator("anna")
    boss = await live.token("sveta")
    status, body = await live.api("PUT", "/api/v1/bots/default/hours", boss, json=ALWAYS)
    assert status == 200, body
    assert body["status"]["open_now"] is True
    status, body = await live.api("PUT", "/api/v1/bots/default/flow", boss, json=FLOW)
    assert status == 200, body
    assert body["flow"]["greeting"] == "Здравствуйте! Чем помочь?"

    # An operator may not change them.
    anna_token = await live.token("anna")
    status, body = await live.api("PUT", "/api/v1/bots/default/flow", anna_token, json=FLOW)
    assert status == 403, body

    raw = await live.customer()
    await raw.hello(name="Вера")
    customer = Visitor(raw)
    await customer.say("Добрый день", "c1")
    greeting = await customer.bot()
    assert greeting["text"] == "Здравствуйте! Чем помочь?"
    menu = await customer.bot()
    buttons = menu["parts"][0]["buttons"]
    assert [b["title"] for b in buttons] == ["Доставка", "Связаться с оператором"]

    await customer.say("А доставку в Тверь делаете?", "c2")
    assert (await customer.bot())["text"] == "Доставляем курьером за 1–2 дня."

    # The operator button, as the widget sends it: its title with its payload.
    await customer.say(buttons[1]["title"], "c3", payload=buttons[1]["payload"])
    assert "номер телефона" in (await customer.bot())["text"]
    await customer.say("позже", "c4")
    assert "Не получилось распознать номер" in (await customer.bot())["text"]
    anna = await live.online_operator("anna")
    await customer.say("+7 916 123-45-67", "c5")
    assert (await customer.bot())["text"] == "Соединяю с оператором…"

    # Routing offers or assigns it to Anna, with the bot's part of the dialogue.
    frame = await anna.expect("conversation.assigned")
    conversation_id = frame["conversation"]["id"]
    status, body = await live.api(
        "GET", f"/api/v1/conversations/{conversation_id}/messages", anna_token
    )
    assert status == 200, body
    kinds = [(m["author"]["kind"], m["kind"]) for m in body["messages"]]
    assert ("bot", "message") in kinds
    notes = [m for m in body["messages"] if m["kind"] == "note"]
    assert notes[-1]["author"]["kind"] == "bot"
    assert "+79161234567" in notes[-1]["parts"][0]["text"]

    supervisor, _ = await live.operator(boss)
    resolved = await anna.command("conversation.resolve", conversation_id=conversation_id)
    assert resolved["conversation"]["status"] == "resolved"
    request = await customer.next("csat.request")
    assert request["conversation_id"] == conversation_id
    await raw.send(type="csat", rating=5, comment="Спасибо!")
    await customer.next("csat.ack")

    csat: Any = None
    for _ in range(100):
        status, body = await live.api("GET", f"/api/v1/conversations/{conversation_id}", boss)
        csat = body["conversation"]["csat"]
        if csat is not None and body["conversation"]["status"] == "resolved":
            break
        await asyncio.sleep(0.05)
    assert csat is not None
    assert csat["rating"] == 5
    assert csat["comment"] == "Спасибо!"
    # Supervisors see ratings live (the bot's closing leaves no assignee to tell).
    received = await supervisor.expect("csat.received", conversation_id=conversation_id)
    assert received["csat"]["rating"] == 5


async def test_bad_settings_are_refused_and_change_nothing(live: Live) -> None:
    await live.add_operator("sveta", Role.SUPERVISOR)
    boss = await live.token("sveta")
    status, body = await live.api(
        "PUT",
        "/api/v1/bots/default/hours",
        boss,
        json={"tz": "Mars/Olympus", "week": "mon 09:00-18:00"},
    )
    assert status == 400, body
    assert "Mars/Olympus" in body["error"]["message"]
    status, body = await live.api("PUT", "/api/v1/bots/default/flow", boss, json={"language": "de"})
    assert status == 400, body
    status, body = await live.api("GET", "/api/v1/bots/default", boss)
    assert status == 200, body
    assert body["hours"] is None
    assert body["flow"] is None
    status, body = await live.api("GET", "/api/v1/bots/no-such-queue", boss)
    assert status == 404, body


#: Saturday 2027-03-06 20:00 UTC = 23:00 in Moscow: closed until Monday 09:00 (06:00 UTC).
SATURDAY_NIGHT = datetime(2027, 3, 6, 20, 0, tzinfo=UTC)
MONDAY_OPENING = datetime(2027, 3, 8, 6, 0, 1, tzinfo=UTC)


@pytest.fixture
async def night(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Live, FixedClock]]:
    clock = FixedClock(SATURDAY_NIGHT)
    app = await create_app(
        make_settings(database_url, tmp_path),
        clock=clock,
        hasher=Argon2PasswordHasher(fast_for_tests=True),
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    channel = await add_channel(app[SERVICES].core, ChannelKind("webchat"), "Shop", {})
    async with aiohttp.ClientSession() as http:
        env = Live(app, server, channel.id, http)
        try:
            yield env, clock
        finally:
            for ws in env._sockets:
                await ws.close()
            await server.close()


async def test_an_off_hours_hand_off_reaches_an_operator_at_opening(
    night: tuple[Live, FixedClock],
) -> None:
    live, clock = night
    await live.add_operator("sveta", Role.SUPERVISOR)
    await live.add_operator("anna")
    boss = await live.token("sveta")
    week = {"tz": "Europe/Moscow", "week": "mon-fri 09:00-18:00"}
    assert (await live.api("PUT", "/api/v1/bots/default/hours", boss, json=week))[0] == 200
    assert (await live.api("PUT", "/api/v1/bots/default/flow", boss, json=FLOW))[0] == 200
    anna = await live.online_operator("anna")

    raw = await live.customer()
    await raw.hello(name="Вера")
    customer = Visitor(raw)
    await customer.say("Есть кто?", "n1")
    off = await customer.bot()
    assert off["text"] == "Сейчас мы не работаем. Ответим в понедельник в 09:00 (UTC+03:00)."
    assert (await customer.bot())["parts"][0]["type"] == "buttons"  # the menu
    await customer.say("оператор", "n2")
    assert "номер телефона" in (await customer.bot())["text"]
    await customer.say("8 916 123 45 67", "n3")
    assert (await customer.bot())["text"] == "Оператор ответит в понедельник в 09:00 (UTC+03:00)."

    # Queued, but the queue is closed: Anna, online, gets nothing yet.
    seen: list[str] = []
    with contextlib.suppress(TimeoutError):
        while True:
            seen.append((await anna.recv(0.5))["type"])
    assert "conversation.assigned" not in seen, seen
    assert "offer.created" not in seen, seen
    clock._now = MONDAY_OPENING
    live.app[SERVICES].router.kick()
    assigned = await anna.expect("conversation.assigned", timeout=10)
    conversation_id = assigned["conversation"]["id"]
    token = await live.token("anna")
    status, body = await live.api("GET", f"/api/v1/conversations/{conversation_id}/messages", token)
    assert status == 200, body
    notes = [m for m in body["messages"] if m["kind"] == "note"]
    assert "+79161234567" in notes[-1]["parts"][0]["text"]
