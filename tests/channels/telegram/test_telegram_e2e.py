"""The Telegram channel end to end: a real server with the real adapter, real operator
WebSockets, and the fake Bot API on a local port. Runs on SQLite and PostgreSQL.

Telegram has no delivery or read receipts for bots, so no status webhook exists to test:
a reply ends at ``sent``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.telegram import create_adapter
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.ids import MessageId
from inbox.domain.messages import Message
from inbox.usecases import add_channel
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.channels.telegram.support import load
from tests.e2e.conftest import Live, make_settings
from tests.fakes.telegram_api import FAKE_TOKEN, TelegramApiFake

# PTB's RetryAfter warns about its own int property while being constructed (22.2+).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

PUBLIC_URL = "https://inbox.example.com"
CUSTOMER_CHAT = 1111111
PAY_URL = "https://yoomoney.ru/checkout/payments/v2/contract?orderId=2f3b588d"


@dataclass
class Telegram:
    """The running server with its Telegram channel, and the fake Bot API."""

    live: Live
    fake: TelegramApiFake
    channel: Channel
    clock: FixedClock

    @property
    def secret(self) -> str:
        return self.channel.options["webhook_secret"]

    async def deliver(
        self, update: Mapping[str, Any], *, secret: str | None = None
    ) -> tuple[int, Any]:
        """POST one update as Telegram does; returns the status and the JSON answer."""
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": self.secret if secret is None else secret,
        }
        async with self.live.http.post(
            self.live.url(f"/webhooks/telegram/{self.channel.id}"),
            data=json.dumps(update, ensure_ascii=False).encode(),
            headers=headers,
        ) as resp:
            return resp.status, await resp.json()

    async def until(self, done: Callable[[], bool], *, nudge: bool = False) -> None:
        """Wait for ``done``; with ``nudge``, move the clock so that retries fall due."""
        for _ in range(200):
            if done():
                return
            await asyncio.sleep(0.02)
            if nudge:
                self.clock.advance(1)
                self.live.app[SERVICES].worker.wake()
        raise AssertionError("timed out")

    async def message(self, message_id: str) -> Message:
        found = await self.live.core.store.read(lambda tx: tx.messages.get(MessageId(message_id)))
        assert found is not None
        return found


async def start_app(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> tuple[web.Application, TestServer]:
    app = await create_app(
        make_settings(database_url, tmp_path),
        clock=clock,
        hasher=Argon2PasswordHasher(fast_for_tests=True),
        adapter_factories={"telegram": create_adapter},
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return app, server


async def add_telegram_channel(
    app: web.Application, fake: TelegramApiFake, **options: str
) -> Channel:
    """Add the channel the way the CLI does: the adapter's ``setup`` runs first (getMe,
    setWebhook with a fresh secret) and what it returns is stored with the channel."""
    adapter = app[SERVICES].adapters["telegram"]
    public_url = None if options.get("mode") == "polling" else PUBLIC_URL

    async def setup(channel: Channel) -> Mapping[str, str]:
        return await adapter.setup(channel, public_url)

    return await add_channel(
        app[SERVICES].core,
        ChannelKind("telegram"),
        "Shop bot",
        {"token": FAKE_TOKEN, "api_base": fake.url, **options},
        setup,
    )


@pytest.fixture
async def tg(database_url: str, tmp_path: Path) -> AsyncIterator[Telegram]:
    clock = FixedClock()
    async with TelegramApiFake() as fake:
        app, server = await start_app(database_url, tmp_path, clock)
        channel = await add_telegram_channel(app, fake)
        async with aiohttp.ClientSession() as http:
            live = Live(app, server, channel.id, http)
            try:
                yield Telegram(live, fake, channel, clock)
            finally:
                for ws in live._sockets:
                    await ws.close()
                await server.close()


async def test_the_channel_is_set_up_with_a_webhook(tg: Telegram) -> None:
    assert tg.channel.options["mode"] == "webhook"
    assert tg.fake.webhook is not None
    assert tg.fake.webhook["url"] == f"{PUBLIC_URL}/webhooks/telegram/{tg.channel.id}"
    assert tg.fake.webhook["secret_token"] == tg.secret


async def test_a_customer_message_reaches_the_operator_and_the_reply_goes_back_natively(
    tg: Telegram,
) -> None:
    await tg.live.add_operator("anna")
    anna = await tg.live.online_operator("anna")
    assert await tg.deliver(load("telegram_update_text.json")) == (200, {"ok": True})
    created = await anna.expect("message.created")
    assert created["message"]["text"] == "Здравствуйте, хочу оплатить заказ 42"
    assert created["conversation"]["channel_kind"] == "telegram"
    conversation = (await anna.expect("conversation.assigned"))["conversation"]

    ack = await anna.command(
        "message.send",
        conversation_id=conversation["id"],
        text="Заказ №42 на 990 ₽. Оплатите по кнопке ниже.",
        client_id="k1",
        buttons=[
            {"title": "Оплатить 990 ₽", "url": PAY_URL},
            {"title": "Позже", "payload": "later"},
        ],
    )
    assert ack["type"] == "ack", ack
    updated = await anna.expect("message.updated", timeout=10)
    assert updated["message"]["status"] == "sent"
    (call,) = tg.fake.calls("sendMessage", ok=True)
    assert call.params["chat_id"] == CUSTOMER_CHAT
    assert call.params["text"] == "Заказ №42 на 990 ₽. Оплатите по кнопке ниже."
    assert call.params["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Оплатить 990 ₽", "url": PAY_URL}],
            [{"text": "Позже", "callback_data": "later"}],
        ]
    }
    stored = await tg.message(ack["message"]["id"])
    assert stored.external_id == f"{CUSTOMER_CHAT}:1000"


async def test_a_wrong_secret_is_refused_and_nothing_is_stored(tg: Telegram) -> None:
    await tg.live.add_operator("anna")
    anna = await tg.live.online_operator("anna")
    status, body = await tg.deliver(load("telegram_update_text.json"), secret="wrong")
    assert status == 403
    assert body["error"]["code"] == "forbidden"
    status, body = await tg.deliver(load("telegram_update_text.json"), secret="")
    assert status == 403
    await anna.no_frame()


async def test_the_same_update_delivered_twice_is_one_message(tg: Telegram) -> None:
    await tg.live.add_operator("anna")
    anna = await tg.live.online_operator("anna")
    update = load("telegram_update_text.json")
    assert (await tg.deliver(update))[0] == 200
    created = await anna.expect("message.created")
    await anna.expect("conversation.assigned")
    # Telegram re-sends the identical update when it got no 2xx in time (it has no
    # retry marker header): stored once, acknowledged each time.
    assert (await tg.deliver(update))[0] == 200
    assert (await tg.deliver(update))[0] == 200
    await anna.no_frame()
    token = await tg.live.token("anna")
    _, body = await tg.live.api(
        "GET", f"/api/v1/conversations/{created['conversation_id']}/messages", token
    )
    assert [m["text"] for m in body["messages"]] == ["Здравствуйте, хочу оплатить заказ 42"]

    # An edit of it is a message of its own that says which one it edits.
    assert (await tg.deliver(load("telegram_update_edited_message.json")))[0] == 200
    edit = await anna.expect("message.created")
    assert edit["message"]["meta"] == {"edit_of": "1111111:1365"}


async def test_a_rate_limited_reply_is_delivered_once(tg: Telegram) -> None:
    await tg.live.add_operator("anna")
    anna = await tg.live.online_operator("anna")
    await tg.deliver(load("telegram_update_text.json"))
    conversation = (await anna.expect("conversation.assigned"))["conversation"]
    tg.fake.fail_next("rate_limit", retry_after=1, method="sendMessage")
    ack = await anna.command(
        "message.send", conversation_id=conversation["id"], text="Секунду", client_id="k1"
    )
    assert ack["type"] == "ack", ack
    await tg.until(lambda: len(tg.fake.calls("sendMessage")) >= 2, nudge=True)
    updated = await anna.expect("message.updated", timeout=10)
    assert updated["message"]["status"] == "sent"
    assert [c.status for c in tg.fake.calls("sendMessage")] == [429, 200]
    assert len(tg.fake.sent) == 1


async def test_a_blocked_bot_fails_the_reply_with_a_reason(tg: Telegram) -> None:
    await tg.live.add_operator("anna")
    anna = await tg.live.online_operator("anna")
    await tg.deliver(load("telegram_update_text.json"))
    conversation = (await anna.expect("conversation.assigned"))["conversation"]
    tg.fake.blocked_chats.add(CUSTOMER_CHAT)
    await anna.command(
        "message.send", conversation_id=conversation["id"], text="Вы тут?", client_id="k1"
    )
    failed = await anna.expect("message.updated", timeout=10)
    assert failed["message"]["status"] == "failed"
    assert failed["message"]["error"] == "The customer blocked the bot."


async def test_a_button_press_arrives_and_is_answered_in_the_webhook_reply(tg: Telegram) -> None:
    await tg.live.add_operator("anna")
    anna = await tg.live.online_operator("anna")
    status, body = await tg.deliver(load("telegram_update_callback_query.json"))
    assert status == 200
    assert body == {"method": "answerCallbackQuery", "callback_query_id": "4382bfdwdsb323b2d9"}
    created = await anna.expect("message.created")
    assert created["message"]["parts"] == [
        {"type": "button_reply", "title": "Картой", "payload": "pay:card:42"}
    ]


async def test_a_customers_photo_is_downloaded_through_the_bot_api(tg: Telegram) -> None:
    jpeg = b"\xff\xd8\xff\xe0 a receipt"
    tg.fake.add_file("AgACAgIAAxkBAAIBSmc_large", jpeg, "photos/file_1.jpg")
    await tg.live.add_operator("anna")
    anna = await tg.live.online_operator("anna")
    await tg.deliver(load("telegram_update_photo.json"))
    created = await anna.expect("message.created")
    assert created["message"]["parts"][0]["media"]["key"] is None  # fetched on first view
    token = await tg.live.token("anna")
    for _ in range(2):
        async with tg.live.http.get(
            tg.live.url(f"/api/v1/messages/{created['message']['id']}/media/0"),
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            assert resp.status == 200
            assert await resp.read() == jpeg
    assert len(tg.fake.calls("getFile")) == 1  # kept after the first download


async def test_an_operators_attachment_is_uploaded_to_telegram(tg: Telegram) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    await tg.live.add_operator("anna")
    anna = await tg.live.online_operator("anna")
    await tg.deliver(load("telegram_update_text.json"))
    conversation = (await anna.expect("conversation.assigned"))["conversation"]
    token = await tg.live.token("anna")
    form = aiohttp.FormData()
    form.add_field("file", png, filename="price.png", content_type="image/png")
    async with tg.live.http.post(
        tg.live.url(f"/api/v1/conversations/{conversation['id']}/attachments"),
        data=form,
        headers={"Authorization": f"Bearer {token}"},
    ) as resp:
        assert resp.status == 201
        media = (await resp.json())["media"]
    await anna.command(
        "message.send",
        conversation_id=conversation["id"],
        text="Наши цены",
        client_id="k1",
        attachments=[media],
    )
    updated = await anna.expect("message.updated", timeout=10)
    assert updated["message"]["status"] == "sent"
    (text,) = tg.fake.calls("sendMessage", ok=True)
    assert text.params["text"] == "Наши цены"
    (photo,) = tg.fake.calls("sendPhoto", ok=True)
    assert photo.content_type == "multipart/form-data"
    assert photo.files["photo"].data == png
    assert photo.files["photo"].filename == "price.png"


async def test_a_reply_pending_while_telegram_is_down_is_delivered_after_a_restart(
    database_url: str, tmp_path: Path
) -> None:
    clock = FixedClock()
    async with TelegramApiFake() as fake, aiohttp.ClientSession() as http:
        app, server = await start_app(database_url, tmp_path, clock)
        channel = await add_telegram_channel(app, fake)
        live = Live(app, server, channel.id, http)
        tg = Telegram(live, fake, channel, clock)
        try:
            await live.add_operator("anna")
            anna = await live.online_operator("anna")
            await tg.deliver(load("telegram_update_text.json"))
            conversation = (await anna.expect("conversation.assigned"))["conversation"]
            fake.available = False  # Telegram (or the way to it) is down
            ack = await anna.command(
                "message.send", conversation_id=conversation["id"], text="Ответ", client_id="k1"
            )
            await tg.until(lambda: len(fake.calls("sendMessage")) >= 1)
            assert fake.sent == []
        finally:
            for ws in live._sockets:
                await ws.close()
            await server.close()  # stops the worker with the reply still in the outbox

        fake.available = True
        app, server = await start_app(database_url, tmp_path, clock)
        tg.live = Live(app, server, channel.id, http)
        try:
            await tg.until(lambda: len(fake.sent) == 1, nudge=True)
            for _ in range(100):
                stored = await tg.message(ack["message"]["id"])
                if stored.status == "sent":
                    break
                await asyncio.sleep(0.02)
            assert stored.status == "sent"
            assert stored.external_id == f"{CUSTOMER_CHAT}:1000"
            assert fake.sent[0]["text"] == "Ответ"
            pending = await app[SERVICES].core.store.read(lambda tx: tx.outbox.pending_count())
            assert pending == 0
        finally:
            await server.close()


async def test_a_polled_channel_reads_updates_without_a_webhook(
    database_url: str, tmp_path: Path
) -> None:
    clock = FixedClock()
    async with TelegramApiFake() as fake, aiohttp.ClientSession() as http:
        app, server = await start_app(database_url, tmp_path, clock)
        try:
            fake.push_webhook("https://old.example.com/hook")  # left by an earlier setup
            channel = await add_telegram_channel(app, fake, mode="polling")
            assert channel.options["mode"] == "polling"
            assert "webhook_secret" not in channel.options
            assert fake.webhook is None  # deleted, or getUpdates would answer 409
            live = Live(app, server, channel.id, http)
            await live.add_operator("anna")
            anna = await live.online_operator("anna")
            await app[SERVICES].pollers.reconcile()  # pick the new channel up now
            fake.push_update(load("telegram_update_text.json"))
            created = await anna.expect("message.created")
            assert created["message"]["text"] == "Здравствуйте, хочу оплатить заказ 42"
            fake.push_update(load("telegram_update_location.json"))
            located = await anna.expect("message.created")
            assert located["message"]["parts"][0]["type"] == "location"
            offsets = [c.params.get("offset") for c in fake.calls("getUpdates")]
            assert offsets[:2] == [None, 734512002]  # the cursor moves past what was stored
            for ws in live._sockets:
                await ws.close()
        finally:
            await server.close()
