"""Viber end to end: the real server (webhook route, core, routing, delivery worker) with
the Viber adapter registered, talking to the fake Viber API; operators on real WebSockets.
Runs on SQLite and PostgreSQL (``database_url``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.viber import create_adapter
from channels.viber.webhook import sign
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.ids import MessageId
from inbox.domain.messages import Message
from inbox.usecases import add_channel
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.channels.viber.helpers import TOKEN, load
from tests.e2e.conftest import Live, OperatorClient, make_settings
from tests.fakes.viber_api import FakeViberApi

CUSTOMER = "QTqiwE4M9hQ2WLnGKMaMKw=="


@dataclass
class Viber:
    live: Live
    fake: FakeViberApi
    channel: Channel

    async def callback(
        self, payload: Any, *, token: str = TOKEN, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """POST a callback to the channel's webhook URL, signed like Viber signs it."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sent = {
            "Content-Type": "application/json",
            "X-Viber-Content-Signature": sign(token, body),
            **(headers or {}),
        }
        url = self.live.url(f"/webhooks/viber/{self.channel.id}")
        async with self.live.http.post(url, data=body, headers=sent) as resp:
            return resp.status, await resp.json(content_type=None)

    async def customer_says(self, token: int, text: str) -> None:
        payload = load("callback_message_text.json")
        payload["message_token"] = token
        payload["message"]["text"] = text
        status, body = await self.callback(payload)
        assert (status, body) == (200, {})

    async def conversation_with(self, operator: OperatorClient, text: str) -> dict[str, Any]:
        await self.customer_says(5741311803571721087, text)
        assigned = await operator.expect("conversation.assigned")
        created = await operator.expect("message.created")
        assert created["message"]["text"] == text
        conversation: dict[str, Any] = assigned["conversation"]
        return conversation


async def start_app(database_url: str, tmp_path: Path) -> tuple[web.Application, TestServer]:
    app = await create_app(
        make_settings(database_url, tmp_path),
        hasher=Argon2PasswordHasher(fast_for_tests=True),
        adapter_factories={"viber": create_adapter},
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return app, server


@pytest.fixture
async def viber(database_url: str, tmp_path: Path) -> AsyncIterator[Viber]:
    async with FakeViberApi(token=TOKEN) as fake:
        app, server = await start_app(database_url, tmp_path)
        core = app[SERVICES].core
        channel = await add_channel(
            core, ChannelKind("viber"), "Shoe Shop", {"token": TOKEN, "api_base": fake.api_base}
        )
        async with aiohttp.ClientSession() as http:
            live = Live(app, server, channel.id, http)
            try:
                yield Viber(live, fake, channel)
            finally:
                for ws in live._sockets:
                    await ws.close()
                await server.close()


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 8.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def inbound_created(operator: OperatorClient) -> dict[str, Any]:
    """The next ``message.created`` of a customer message (our own replies are skipped)."""
    while True:
        frame = await operator.expect("message.created")
        if frame["message"]["direction"] == "inbound":
            return frame


async def stored(app: web.Application, message_id: str) -> Message:
    message = await app[SERVICES].core.store.read(lambda tx: tx.messages.get(MessageId(message_id)))
    assert message is not None
    return message


async def test_setup_registers_the_webhook_and_viber_can_call_it(viber: Viber) -> None:
    adapter = viber.live.app[SERVICES].adapters["viber"]
    assert await adapter.setup(viber.channel, viber.live.url("/")) == {}
    # The fake, like Viber, called the URL back with a signed "webhook" event first.
    assert viber.fake.webhook == viber.live.url(f"/webhooks/viber/{viber.channel.id}")


async def test_customer_message_reaches_the_online_operator(viber: Viber) -> None:
    await viber.live.add_operator("anna")
    anna = await viber.live.online_operator("anna")
    await viber.customer_says(5741311803571721087, "Do you have size 42?")
    assigned = await anna.expect("conversation.assigned")
    assert assigned["conversation"]["channel_kind"] == "viber"
    assert assigned["conversation"]["contact_name"] == "Olena Kovalenko"
    created = await anna.expect("message.created")
    assert created["message"]["text"] == "Do you have size 42?"
    assert created["message"]["direction"] == "inbound"


async def test_bad_signature_is_refused_and_nothing_is_stored(viber: Viber) -> None:
    await viber.live.add_operator("anna")
    anna = await viber.live.online_operator("anna")
    status, body = await viber.callback(load("callback_message_text.json"), token="forged")
    assert status == 403
    assert body["error"]["code"] == "forbidden"
    await anna.no_frame()


async def test_reply_with_buttons_arrives_natively_and_receipts_move_its_status(
    viber: Viber,
) -> None:
    await viber.live.add_operator("anna")
    anna = await viber.live.online_operator("anna")
    conversation = await viber.conversation_with(anna, "How do I pay?")

    ack = await anna.command(
        "message.send",
        conversation_id=conversation["id"],
        text="Here is your payment link",
        client_id="o-1",
        buttons=[
            {"title": "Pay", "url": "https://pay.example.com/o/4411"},
            {"title": "Call me", "payload": "call-me"},
        ],
    )
    assert ack["type"] == "ack", ack
    message_id = ack["message"]["id"]
    sent = await anna.expect("message.updated")
    assert sent["message"]["status"] == "sent"

    (body,) = viber.fake.sent
    assert body["receiver"] == CUSTOMER
    assert body["sender"] == {"name": "Anna"}
    assert body["text"] == "Here is your payment link"
    assert body["keyboard"]["Buttons"] == [
        {
            "Columns": 6,
            "Rows": 1,
            "ActionType": "open-url",
            "ActionBody": "https://pay.example.com/o/4411",
            "Text": "Pay",
            "TextSize": "regular",
        },
        {
            "Columns": 6,
            "Rows": 1,
            "ActionType": "reply",
            "ActionBody": "call-me",
            "Text": "Call me",
            "TextSize": "regular",
        },
    ]
    token = viber.fake.calls("send_message")[-1].answer["message_token"]
    assert (await stored(viber.live.app, message_id)).external_id == str(token)

    delivered = load("callback_delivered.json")
    delivered["message_token"] = token
    assert await viber.callback(delivered) == (200, {})
    update = await anna.expect("message.updated")
    assert (update["message"]["id"], update["message"]["status"]) == (message_id, "delivered")

    seen = load("callback_seen.json")
    seen["message_token"] = token
    assert await viber.callback(seen) == (200, {})
    update = await anna.expect("message.updated")
    assert update["message"]["status"] == "read"

    # The customer presses the reply button: it comes back as that button.
    press = load("callback_message_button_press.json")
    press["message"] = {"type": "text", "text": "call-me", "tracking_data": body["tracking_data"]}
    assert await viber.callback(press) == (200, {})
    pressed = await inbound_created(anna)
    assert pressed["message"]["parts"] == [
        {"type": "button_reply", "title": "Call me", "payload": "call-me"}
    ]


async def test_the_same_callback_twice_is_one_message(viber: Viber) -> None:
    await viber.live.add_operator("anna")
    anna = await viber.live.online_operator("anna")
    conversation = await viber.conversation_with(anna, "first")
    payload = load("callback_message_text.json")
    payload["message_token"] = 5741311803571799999
    payload["message"]["text"] = "only once"
    assert await viber.callback(payload) == (200, {})
    await anna.expect("message.created")
    # Viber re-sends a callback it got no 200 for, unchanged (it documents no retry header;
    # a hypothetical one must not matter either).
    assert await viber.callback(payload) == (200, {})
    assert await viber.callback(payload, headers={"X-Viber-Retry": "1"}) == (200, {})
    await anna.no_frame()
    status, body = await viber.live.api(
        "GET",
        f"/api/v1/conversations/{conversation['id']}/messages",
        await viber.live.token("anna"),
    )
    assert status == 200
    texts = [m["text"] for m in body["messages"]]
    assert texts == ["first", "only once"]


@pytest.mark.parametrize("kind", ["rate_limit", "http_429"])
async def test_rate_limited_send_is_delivered_once(viber: Viber, kind: str) -> None:
    await viber.live.add_operator("anna")
    anna = await viber.live.online_operator("anna")
    conversation = await viber.conversation_with(anna, "hello")
    viber.fake.fail_next(kind, retry_after=0.2)  # type: ignore[arg-type]
    ack = await anna.command(
        "message.send", conversation_id=conversation["id"], text="Hi!", client_id="o-1"
    )
    update = await anna.expect("message.updated", timeout=8.0)
    assert (update["message"]["id"], update["message"]["status"]) == (ack["message"]["id"], "sent")
    assert len(viber.fake.calls("send_message")) == 2
    assert [b["text"] for b in viber.fake.sent] == ["Hi!"]


async def test_permanent_failure_reaches_the_operator_with_the_reason(viber: Viber) -> None:
    await viber.live.add_operator("anna")
    anna = await viber.live.online_operator("anna")
    conversation = await viber.conversation_with(anna, "bye")
    viber.fake.unsubscribed.add(CUSTOMER)
    ack = await anna.command(
        "message.send", conversation_id=conversation["id"], text="Still there?", client_id="o-1"
    )
    update = await anna.expect("message.updated")
    assert update["message"]["id"] == ack["message"]["id"]
    assert update["message"]["status"] == "failed"
    assert update["message"]["error"] == (
        "The customer has not subscribed to the bot or has unsubscribed."
    )
    assert viber.fake.sent == []


async def test_a_reply_pending_when_the_server_stops_is_delivered_after_restart(
    database_url: str, tmp_path: Path
) -> None:
    async with FakeViberApi(token=TOKEN) as fake, aiohttp.ClientSession() as http:
        fake.fail_next("server_error", times=1000)  # Viber is down for now
        app, server = await start_app(database_url, tmp_path)
        channel = await add_channel(
            app[SERVICES].core,
            ChannelKind("viber"),
            "Shoe Shop",
            {"token": TOKEN, "api_base": fake.api_base},
        )
        live = Live(app, server, channel.id, http)
        env = Viber(live, fake, channel)
        try:
            await live.add_operator("anna")
            anna = await live.online_operator("anna")
            conversation = await env.conversation_with(anna, "are you open?")
            ack = await anna.command(
                "message.send", conversation_id=conversation["id"], text="Yes!", client_id="o-1"
            )
            message_id = ack["message"]["id"]

            async def attempted() -> bool:
                return len(fake.calls("send_message")) >= 1

            await wait_for(attempted)
            await asyncio.sleep(0.3)  # the failed attempt is recorded as a retry
            assert (await stored(app, message_id)).status == "pending"
        finally:
            for ws in live._sockets:
                await ws.close()
            await server.close()

        fake.clear_failures()  # Viber is back
        app, server = await start_app(database_url, tmp_path)
        try:

            async def delivered() -> bool:
                return str((await stored(app, message_id)).status) == "sent"

            await wait_for(delivered)
            assert [b["text"] for b in fake.sent] == ["Yes!"]
        finally:
            await server.close()


async def test_adding_a_channel_with_a_public_url_registers_its_webhook(
    database_url: str, tmp_path: Path
) -> None:
    async with FakeViberApi(token=TOKEN) as fake:
        app, server = await start_app(database_url, tmp_path)
        try:
            adapter = app[SERVICES].adapters["viber"]
            public_url = str(server.make_url("/"))

            async def setup(channel: Channel) -> Mapping[str, str]:
                return await adapter.setup(channel, public_url)

            channel = await add_channel(
                app[SERVICES].core,
                ChannelKind("viber"),
                "Shoe Shop",
                {"token": TOKEN, "api_base": fake.api_base},
                setup,
            )
            assert fake.webhook.endswith(f"/webhooks/viber/{channel.id}")
        finally:
            await server.close()
