"""The bot on e-mail, end to end: the real app (its poller and delivery worker) with the
real e-mail adapter, a real Dovecot and a real SMTP server (aiosmtpd). A supervisor sets
business hours and a Russian flow over REST; the customer's mails arrive in the mailbox;
the bot's answers are the mails the SMTP sink received. Covers off hours, an inflected
FAQ question, the menu as a numbered list answered by "1" in the same thread, the
hand-off with a collected phone, the rating request answered by "5", and the same mail
(the same Message-ID) fetched twice. Runs on SQLite and PostgreSQL.

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
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bots import BotService
from channels.email import EmailAdapter
from inbox.domain.channels import ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.ids import ConversationId
from inbox.domain.operators import Role
from inbox.usecases import add_channel, resolve_conversation
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.channels.email.support import Dovecot, SmtpSink
from tests.channels.email.test_email_e2e import CUSTOMER, mail
from tests.e2e.conftest import Live, make_settings

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
    smtp: SmtpSink
    dovecot: Dovecot
    user: str
    clock: FixedClock
    boss: str  # a supervisor's token
    seen: int = 0  # smtp mails already looked at

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

    async def writes(self, raw: bytes) -> None:
        await self.dovecot.append(self.user, raw)

    async def answers(self, count: int) -> list[EmailMessage]:
        """The next ``count`` mails the bot sent to the customer (as the sink got them)."""
        await until(lambda: len(self.smtp.received) >= self.seen + count)
        new = self.smtp.messages()[self.seen : self.seen + count]
        self.seen += count
        assert all(str(m["To"]) == CUSTOMER for m in new)
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
        further mail can come (no sleeping on a guess)."""
        assert await self.bots.answer(ConversationId(conversation_id)) == 0
        assert await self.bots.sweep() == 0

        async def delivered() -> bool:
            outbound = [
                m
                for m in await self.messages(conversation_id)
                if m["direction"] == "outbound" and m["kind"] == "message"
            ]
            return all(m["status"] == "sent" for m in outbound) and len(outbound) == len(
                self.smtp.received
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


def text_of(sent: EmailMessage) -> str:
    plain = sent.get_body(("plain",))
    assert plain is not None
    return str(plain.get_content()).replace("\r\n", "\n").strip()


def reply_to(sent: EmailMessage, body: str, message_id: str | None = None) -> bytes:
    """The customer's answer in the same thread: Re: the subject, In-Reply-To our mail."""
    return mail(
        body, subject="Re: Order 42", in_reply_to=str(sent["Message-ID"]), message_id=message_id
    )


@pytest.fixture
async def bot(
    database_url: str, tmp_path: Path, dovecot: Dovecot, mailbox: str, smtp: SmtpSink
) -> AsyncIterator[Bot]:
    clock = FixedClock(OPEN_AT)
    app = await create_app(
        make_settings(database_url, tmp_path),
        clock=clock,
        hasher=Argon2PasswordHasher(fast_for_tests=True),
        adapter_factories={"email": EmailAdapter},
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    options = dovecot.options(mailbox, smtp_port=str(smtp.port))
    channel = await add_channel(app[SERVICES].core, ChannelKind("email"), "Lens Shop", options)
    await app[SERVICES].pollers.reconcile()  # start polling now, not at the next check
    async with aiohttp.ClientSession() as http:
        live = Live(app, server, channel.id, http)
        try:
            await live.add_operator("sveta", Role.SUPERVISOR)
            yield Bot(live, smtp, dovecot, mailbox, clock, await live.token("sveta"))
        finally:
            for ws in live._sockets:
                await ws.close()
            await server.close()


async def hand_off(bot: Bot) -> str:
    """The customer asks for a person, gives a bad phone, then a good one, each time
    answering the bot's last mail; returns the conversation's id."""
    await bot.writes(mail("Позовите оператора"))
    greeting, ask = await bot.answers(2)
    assert text_of(greeting) == "Здравствуйте! Чем помочь?"
    assert "номер телефона" in text_of(ask)
    await bot.writes(reply_to(ask, "позже"))
    [again] = await bot.answers(1)
    assert "Не получилось распознать номер" in text_of(again)
    await bot.writes(reply_to(again, "+7 916 123-45-67"))
    [connecting] = await bot.answers(1)
    assert text_of(connecting) == "Соединяю с оператором…"
    return await bot.conversation_id()


# --------------------------------------------------------------------------- tests


async def test_off_hours_get_one_answer_with_the_next_opening(bot: Bot) -> None:
    await bot.move_clock((CLOSED_AT - OPEN_AT).total_seconds())
    await bot.configure({**FLOW, "menu": False})
    await bot.writes(mail("Добрый день", message_id="<off-1@example.org>"))
    [answer] = await bot.answers(1)
    assert text_of(answer) == f"Сейчас мы не работаем. Ответим {NEXT_OPEN}."
    assert answer["In-Reply-To"] == "<off-1@example.org>"
    conversation_id = await bot.conversation_id()
    await bot.quiet(conversation_id)
    assert len(bot.smtp.received) == 1


async def test_an_inflected_question_gets_the_faq_answer(bot: Bot) -> None:
    await bot.configure()
    await bot.writes(mail("Сколько стоит доставку?"))
    greeting, answer = await bot.answers(2)
    assert text_of(greeting) == "Здравствуйте! Чем помочь?"
    assert text_of(answer) == "Доставляем курьером за 1–2 дня."


async def test_the_menu_is_a_numbered_list_and_a_mailed_one_picks_item_one(bot: Bot) -> None:
    await bot.configure()
    await bot.writes(mail("Добрый день"))
    greeting, menu = await bot.answers(2)
    assert text_of(greeting) == "Здравствуйте! Чем помочь?"
    assert text_of(menu) == (
        "Выберите тему или напишите вопрос:\n1. Доставка\n2. Связаться с оператором"
    )
    await bot.writes(reply_to(menu, "1"))
    [answer] = await bot.answers(1)
    assert text_of(answer) == "Доставляем курьером за 1–2 дня."
    assert answer["Subject"] == "Re: Order 42"


async def test_hand_off_collects_the_phone_and_queues_the_conversation(bot: Bot) -> None:
    await bot.configure()
    conversation_id = await hand_off(bot)
    conversation = await bot.conversation(conversation_id)
    assert conversation["status"] == "queued"
    notes = [m for m in await bot.messages(conversation_id) if m["kind"] == "note"]
    assert notes[-1]["author"]["kind"] == "bot"
    assert notes[-1]["text"] == "The bot collected phone: +79161234567"


async def test_resolving_asks_for_a_rating_and_a_mailed_five_is_stored(bot: Bot) -> None:
    await bot.configure()
    conversation_id = await hand_off(bot)
    sveta = bot.live.operators["sveta"]
    await resolve_conversation(bot.live.core, sveta, ConversationId(conversation_id))
    [request] = await bot.answers(1)
    assert text_of(request) == (
        "Оцените, пожалуйста, наш ответ от 1 до 5.\n1. 1\n2. 2\n3. 3\n4. 4\n5. 5"
    )
    await bot.writes(reply_to(request, "5"))
    [thanks] = await bot.answers(1)
    assert text_of(thanks) == "Спасибо за оценку!"

    async def rated() -> bool:
        conversation = await bot.conversation(conversation_id)
        return conversation["csat"] is not None and conversation["status"] == "resolved"

    await until_async(rated)
    csat = (await bot.conversation(conversation_id))["csat"]
    assert csat["rating"] == 5


async def test_the_same_mail_fetched_twice_gets_no_second_answer(bot: Bot) -> None:
    await bot.configure()
    raw = mail("Сколько стоит доставку?", message_id="<twice-1@example.org>")
    await bot.writes(raw)
    await bot.writes(raw)  # the same Message-ID again (a second copy in the mailbox)
    greeting, answer = await bot.answers(2)
    assert text_of(greeting) == "Здравствуйте! Чем помочь?"
    assert text_of(answer) == "Доставляем курьером за 1–2 дня."
    await bot.writes(raw)  # and again, after the answer
    # A new mail after the copy: once it is answered, the poller has read the copy too
    # (it fetches in UID order), so whatever the copy was going to cause has happened.
    await bot.writes(reply_to(answer, "Спасибо"))
    fallback, menu = await bot.answers(2)
    assert text_of(fallback).startswith("Я не понял вопрос.")
    assert text_of(menu).startswith("Выберите тему или напишите вопрос:")
    conversation_id = await bot.conversation_id()
    await bot.quiet(conversation_id)
    assert len(bot.smtp.received) == 4
    inbound = [m for m in await bot.messages(conversation_id) if m["direction"] == "inbound"]
    assert [m["parts"][0]["text"] for m in inbound] == ["Сколько стоит доставку?", "Спасибо"]
