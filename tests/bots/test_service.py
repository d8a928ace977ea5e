"""The bots' service on a real database (SQLite and PostgreSQL): the intake gives new
conversations to the bot, which answers each customer message exactly once -- greeting,
off hours with the next opening, FAQ in inflected Russian, collecting a phone with a
re-ask, hand-off to the queue -- also when the event comes twice, when two processes race
and when the event was lost (the sweep)."""

# Russian texts are what these tests are about.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bots import DEFAULT_SCOPE, BotService, Scope, SessionState
from bots.csat import Rating, rating_of
from bots.events import CsatReceived, CsatRequested
from bots.flow import parse_flow
from bots.hours import parse_schedule
from bots.menu import MENU_OPERATOR_PAYLOAD
from inbox.bus import InProcessEventBus
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import ButtonReply, Buttons, File, MediaRef, Part, Text
from inbox.domain.conversations import ConversationStatus
from inbox.domain.events import ConversationChanged, Event
from inbox.domain.ids import ChannelId, ConversationId
from inbox.domain.messages import AuthorKind, Direction, InboundMessage, Message, SenderProfile
from inbox.ports import Tx
from inbox.usecases import Core, Outcome, add_channel, ingest_inbound, run, write_bot_resolve
from server.bots import as_bots_tx
from server.channels import CATALOG
from storage import SqlStore, open_store

FLOW = """
language: ru
greeting: "Здравствуйте! Чем помочь?"
off_hours: "Сейчас мы не работаем. Ответим {next_open}."
faq:
  - title: "Доставка"
    answer: "Доставляем курьером за 1–2 дня."
    keywords: ["доставка", "курьер"]
handoff: ["оператор", "operator"]
collect: [phone]
"""

#: Monday 2027-03-01, 12:00 in Moscow (UTC+3): open (09:00-13:00, 14:00-20:00).
OPEN_MOMENT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
#: Saturday 2027-03-06, 23:00 in Moscow: closed until Monday 09:00.
CLOSED_MOMENT = datetime(2027, 3, 6, 20, 0, tzinfo=UTC)


async def no_queue(tx: Tx, channel_id: ChannelId) -> Scope | None:
    return None


class Harness:
    def __init__(self, store: SqlStore, clock: FixedClock) -> None:
        self.clock = clock
        self.bus = InProcessEventBus()
        plain = Core(store=store, bus=self.bus, clock=clock, channels=CATALOG)
        self.bots = BotService(plain, store, no_queue, as_bots_tx)
        self.core = Core(
            store=store, bus=self.bus, clock=clock, channels=CATALOG, intake=self.bots.intake
        )
        self.events: list[Event] = []
        self.n = 0

        async def record(event: Event) -> None:
            self.events.append(event)

        self.bus.subscribe(record)

    async def configure(self) -> Channel:
        await self.bots.settings.save_flow(DEFAULT_SCOPE, parse_flow(FLOW))
        await self.bots.settings.save_hours(
            DEFAULT_SCOPE,
            parse_schedule("Europe/Moscow", "mon-fri 09:00-13:00,14:00-20:00"),
        )
        return await add_channel(self.core, ChannelKind("webchat"), "Shop", {})

    async def write(
        self, channel: Channel, *parts: Part, who: str = "v1", external_id: str | None = None
    ) -> InboundMessage:
        self.n += 1
        message = InboundMessage(
            channel.id, external_id or f"m{self.n}", SenderProfile(who, "Vera"), tuple(parts)
        )
        await ingest_inbound(self.core, message)
        return message

    async def messages(self, cid: ConversationId) -> list[Message]:
        async def work(tx: Tx) -> list[Message]:
            return await tx.messages.list(cid)

        return await self.core.store.read(work)

    async def bot_texts(self, cid: ConversationId) -> list[str]:
        found: list[str] = []
        for m in await self.messages(cid):
            if m.author_kind is AuthorKind.BOT and m.direction is Direction.OUTBOUND:
                for p in m.parts:
                    found.append(p.text if isinstance(p, Text | Buttons) else repr(p))
        return found

    async def only_conversation(self) -> ConversationId:
        created = [
            e.conversation.id
            for e in self.events
            if isinstance(e, ConversationChanged) and e.reason == "created"
        ]
        assert len(created) == 1, created
        return created[0]


@pytest.fixture
async def h(store: SqlStore) -> Harness:
    return Harness(store, FixedClock(OPEN_MOMENT))


async def test_a_conversation_with_a_flow_starts_as_the_bots(h: Harness) -> None:
    channel = await h.configure()
    await h.write(channel, Text("Добрый день"))
    cid = await h.only_conversation()
    change = next(e for e in h.events if isinstance(e, ConversationChanged))
    assert change.conversation.status is ConversationStatus.BOT
    assert await h.bots.answer(cid) == 1
    texts = await h.bot_texts(cid)
    assert texts[0] == "Здравствуйте! Чем помочь?"
    assert texts[1] == "Выберите тему или напишите вопрос:"  # the menu
    # The same message again: nothing new to answer.
    assert await h.bots.answer(cid) == 0
    assert len(await h.bot_texts(cid)) == 2


async def test_without_a_flow_conversations_go_to_routing(h: Harness) -> None:
    channel = await add_channel(h.core, ChannelKind("webchat"), "Shop", {})
    await h.write(channel, Text("hi"))
    change = next(e for e in h.events if isinstance(e, ConversationChanged))
    assert change.conversation.status is ConversationStatus.QUEUED


async def test_off_hours_get_one_answer_with_the_next_opening(h: Harness) -> None:
    channel = await h.configure()
    h.clock._now = CLOSED_MOMENT
    await h.write(channel, Text("Есть кто?"))
    cid = await h.only_conversation()
    await h.bots.answer(cid)
    await h.bots.answer(cid)
    texts = await h.bot_texts(cid)
    assert texts[0] == "Сейчас мы не работаем. Ответим в понедельник в 09:00 (UTC+03:00)."
    assert sum("не работаем" in t for t in texts) == 1


async def test_an_inflected_russian_question_gets_its_faq_answer(h: Harness) -> None:
    channel = await h.configure()
    await h.write(channel, Text("Здравствуйте"))
    cid = await h.only_conversation()
    await h.bots.answer(cid)
    await h.write(channel, Text("Сколько стоит доставку до Твери?"))
    await h.bots.answer(cid)
    assert (await h.bot_texts(cid))[-1] == "Доставляем курьером за 1–2 дня."


async def test_a_menu_number_picks_its_item(h: Harness) -> None:
    channel = await h.configure()
    await h.write(channel, Text("Здравствуйте"))
    cid = await h.only_conversation()
    await h.bots.answer(cid)
    await h.write(channel, Text("1"))
    await h.bots.answer(cid)
    assert (await h.bot_texts(cid))[-1] == "Доставляем курьером за 1–2 дня."


async def test_hand_off_collects_a_valid_phone_first(h: Harness, store: SqlStore) -> None:
    channel = await h.configure()
    await h.write(channel, Text("Здравствуйте"))
    cid = await h.only_conversation()
    await h.bots.answer(cid)
    await h.write(channel, ButtonReply("Связаться с оператором", payload=MENU_OPERATOR_PAYLOAD))
    await h.bots.answer(cid)
    assert "номер телефона" in (await h.bot_texts(cid))[-1]
    await h.write(channel, Text("не скажу"))
    await h.bots.answer(cid)
    assert "Не получилось распознать номер" in (await h.bot_texts(cid))[-1]
    await h.write(channel, Text("8 (916) 123-45-67"))
    await h.bots.answer(cid)
    assert (await h.bot_texts(cid))[-1] == "Соединяю с оператором…"

    async def work(tx: Tx) -> tuple[ConversationStatus, str, list[Message]]:
        conversation = await tx.conversations.get(cid)
        assert conversation is not None
        contact = await tx.contacts.get(conversation.contact_id)
        assert contact is not None
        return conversation.status, contact.phone, await tx.messages.list(cid)

    status, phone, messages = await store.read(work)
    assert status is ConversationStatus.QUEUED
    assert phone == "+79161234567"
    notes = [m for m in messages if m.direction is Direction.INTERNAL]
    assert [n.parts for n in notes] == [(Text("The bot collected phone: +79161234567"),)]
    assert notes[0].author_kind is AuthorKind.BOT

    # People have it now: the bot stays silent.
    await h.write(channel, Text("Алло?"))
    assert await h.bots.answer(cid) == 0


async def test_a_redelivered_message_gets_no_second_answer(h: Harness) -> None:
    channel = await h.configure()
    await h.write(channel, Text("Здравствуйте"), external_id="tg-1")
    cid = await h.only_conversation()
    await h.bots.answer(cid)
    before = await h.bot_texts(cid)
    await h.write(channel, Text("Здравствуйте"), external_id="tg-1")  # the provider retries
    await h.bots.answer(cid)
    assert await h.bot_texts(cid) == before


async def test_two_processes_answer_once(h: Harness, database_url: str) -> None:
    channel = await h.configure()
    await h.write(channel, Text("Доставка есть?"))
    cid = await h.only_conversation()
    second_store = await open_store(database_url)
    try:
        other = BotService(
            Core(store=second_store, bus=InProcessEventBus(), clock=h.clock, channels=CATALOG),
            second_store,
            no_queue,
            as_bots_tx,
        )
        await other.settings.load()
        results = await asyncio.gather(h.bots.answer(cid), other.answer(cid))
    finally:
        await second_store.close()
    assert sorted(results) == [0, 1]
    texts = await h.bot_texts(cid)
    assert texts.count("Здравствуйте! Чем помочь?") == 1
    assert texts.count("Доставляем курьером за 1–2 дня.") == 1


async def test_the_sweep_answers_what_no_event_brought(h: Harness, store: SqlStore) -> None:
    channel = await h.configure()
    await h.write(channel, Text("Здравствуйте"))  # nobody is subscribed: the event is lost
    cid = await h.only_conversation()
    assert await h.bots.sweep() == 1
    assert await h.bots.sweep() == 0
    assert (await h.bot_texts(cid))[0] == "Здравствуйте! Чем помочь?"

    async def work(tx: Tx) -> SessionState | None:
        session = await tx.bots.get_session(cid)  # type: ignore[attr-defined]
        return session.state if session is not None else None

    assert await store.read(work) is SessionState.TALKING


@pytest.fixture
async def running(h: Harness) -> AsyncIterator[Harness]:
    h.bus.subscribe(h.bots.on_event)
    h.bots.start()
    try:
        yield h
    finally:
        await h.bots.stop()


async def test_the_running_service_answers_from_events(running: Harness) -> None:
    h = running
    channel = await h.configure()
    await h.write(channel, Text("Здравствуйте"))
    cid = await h.only_conversation()
    for _ in range(200):
        if await h.bot_texts(cid):
            break
        await asyncio.sleep(0.01)
    assert (await h.bot_texts(cid))[0] == "Здравствуйте! Чем помочь?"


async def _resolve_by_bot(h: Harness, cid: ConversationId) -> None:
    async def work(tx: Tx) -> Outcome[object]:
        closed = await write_bot_resolve(tx, cid, h.clock.now())
        return Outcome(None, closed.events)

    await run(h.core, work)


async def test_csat_is_asked_once_on_resolve_and_the_rating_is_stored(h: Harness) -> None:
    channel = await h.configure()
    await h.write(channel, Text("Доставка есть?"))
    cid = await h.only_conversation()
    await h.bots.answer(cid)
    await _resolve_by_bot(h, cid)

    assert await h.bots.request_csat(cid) is True
    assert await h.bots.request_csat(cid) is False  # never twice
    (request,) = [
        m
        for m in await h.messages(cid)
        if any(isinstance(p, Buttons) for p in m.parts) and "Оцените" in m.parts[0].text  # type: ignore[union-attr]
    ]
    buttons = request.parts[0]
    assert isinstance(buttons, Buttons)
    assert [b.payload for b in buttons.buttons] == [f"csat:{n}" for n in range(1, 6)]
    assert any(isinstance(e, CsatRequested) for e in h.events)

    # The customer presses 4 and adds a comment: the conversation reopens to the bot,
    # which records the rating, thanks and closes it again.
    await h.write(channel, ButtonReply("4", payload="csat:4"), Text("быстро, спасибо"))
    change = [e for e in h.events if isinstance(e, ConversationChanged)][-1]
    assert change.reason == "reopened"
    assert change.conversation.status is ConversationStatus.BOT
    await h.bots.answer(cid)
    assert (await h.bot_texts(cid))[-1] == "Спасибо за оценку!"
    received = [e for e in h.events if isinstance(e, CsatReceived)]
    assert [(e.rating, e.comment) for e in received] == [(4, "быстро, спасибо")]
    assert received[0].conversation.status is ConversationStatus.RESOLVED
    assert await h.bots.csat(cid) == {
        "rating": 4,
        "comment": "быстро, спасибо",
        "at": h.clock.now().isoformat(),
    }
    # Resolved again by the bot: no second request.
    assert await h.bots.request_csat(cid) is False


async def test_csat_is_not_sent_outside_whatsapps_window(h: Harness) -> None:
    await h.configure()
    channel = await add_channel(
        h.core,
        ChannelKind("whatsapp"),
        "WA",
        {"token": "t", "phone_number_id": "1", "app_secret": "s", "verify_token": "v"},
    )
    await h.write(channel, Text("Здравствуйте"))
    cid = await h.only_conversation()
    await h.bots.answer(cid)
    h.clock.advance(25 * 3600)
    await _resolve_by_bot(h, cid)
    assert await h.bots.request_csat(cid) is False
    notes = [m for m in await h.messages(cid) if m.direction is Direction.INTERNAL]
    assert [n.parts for n in notes] == [
        (Text("No rating request was sent: the channel's reply window has closed."),)
    ]
    assert await h.bots.request_csat(cid) is False  # and not again


def test_only_typed_text_is_the_customers_answer() -> None:
    """An e-mail reply carries the original mail as a file part: "5" is still a rating,
    and a file's caption is no part of the text the bot reads."""
    original = File(MediaRef("message/rfc822", key="k"), caption="Original message")
    assert rating_of((Text("5"), original)) == Rating(5)
    assert rating_of((Text("5 быстро"), original)) is None
    assert rating_of((Text("5. быстро"),)) == Rating(5, "быстро")
    assert rating_of((original,)) is None
