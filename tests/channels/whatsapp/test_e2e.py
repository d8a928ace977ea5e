"""The whole server with the real WhatsApp adapter against the fake Graph API: signed
webhooks in, operator replies out, retries, failures, restarts and delivery statuses.
Runs on SQLite and PostgreSQL (``database_url``)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from channels.whatsapp import create_adapter
from channels.whatsapp.errors import REENGAGEMENT_REASON
from channels.whatsapp.webhook import sign
from inbox.domain.channels import ChannelKind
from inbox.usecases import add_channel
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from storage import make_engine
from storage.tables import outbox
from tests.channels.whatsapp.support import (
    APP_SECRET,
    CUSTOMER,
    PHONE_NUMBER_ID,
    TOKEN,
    VERIFY_TOKEN,
    encode,
    own,
    shared,
)
from tests.e2e.conftest import Live, OperatorClient, make_settings
from tests.fakes.whatsapp_api import FakeWhatsAppApi

DELIVERY_TIMEOUT = 10.0


@asynccontextmanager
async def running(database_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    """One server process: the app with the real WhatsApp adapter, on a real port."""
    app = await create_app(
        make_settings(database_url, tmp_path),
        hasher=Argon2PasswordHasher(fast_for_tests=True),
        adapter_factories={"whatsapp": create_adapter},
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        live = Live(app, server, "", http)
        try:
            yield live
        finally:
            for ws in live._sockets:
                await ws.close()
            await server.close()


async def add_whatsapp_channel(live: Live, fake: FakeWhatsAppApi) -> str:
    adapter = live.app[SERVICES].adapters["whatsapp"]
    options = {
        "token": TOKEN,
        "phone_number_id": PHONE_NUMBER_ID,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "api_base": fake.api_base,
        "templates": "order_update:ru",
    }
    channel = await add_channel(
        live.core,
        ChannelKind("whatsapp"),
        "WhatsApp",
        options,
        lambda c: adapter.setup(c, live.url("/")),
    )
    live.channel_id = channel.id
    return channel.id


@pytest.fixture
async def live(database_url: str, tmp_path: Path, fake: FakeWhatsAppApi) -> AsyncIterator[Live]:
    async with running(database_url, tmp_path) as env:
        await add_whatsapp_channel(env, fake)
        yield env


def text_webhook(message_id: str, body: str = "Где мой заказ?") -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(shared("whatsapp_webhook_message_text.json"))
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"] = message_id
    message["text"]["body"] = body
    return payload


def status_webhook(message_id: str, status: str) -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(shared(f"whatsapp_webhook_status_{status}.json"))
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = message_id
    return payload


async def post_webhook(live: Live, payload: Any, *, signed: bool = True) -> tuple[int, Any]:
    body = encode(payload)
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["X-Hub-Signature-256"] = sign(body, APP_SECRET)
    async with live.http.post(
        live.url(f"/webhooks/whatsapp/{live.channel_id}"), data=body, headers=headers
    ) as resp:
        return resp.status, await resp.json()


async def customer_writes(
    live: Live, operator: OperatorClient, message_id: str = "wamid.in1"
) -> dict[str, Any]:
    """A signed webhook with a customer's text; returns the assigned conversation."""
    assert await post_webhook(live, text_webhook(message_id)) == (200, {"ok": True})
    created = await operator.expect("message.created")
    assert created["message"]["text"] == "Где мой заказ?"
    conversation: dict[str, Any] = (await operator.expect("conversation.assigned"))["conversation"]
    return conversation


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def retry_recorded(database_url: str) -> bool:
    """The outbox job has failed once and is not leased (read with a separate engine)."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(outbox.c.attempts, outbox.c.lease_owner))).all()
    finally:
        await engine.dispose()
    return len(rows) == 1 and rows[0].attempts >= 1 and rows[0].lease_owner is None


# --------------------------------------------------------------------------- inbound


async def test_verification_get_answers_the_challenge(live: Live) -> None:
    query = shared("whatsapp_webhook_verify_get.json")["query"]
    async with live.http.get(
        live.url(f"/webhooks/whatsapp/{live.channel_id}"), params=query
    ) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        assert await resp.text() == "1158201444"
    async with live.http.get(
        live.url(f"/webhooks/whatsapp/{live.channel_id}"),
        params={**query, "hub.verify_token": "nope"},
    ) as resp:
        assert resp.status == 403


async def test_a_signed_webhook_reaches_the_online_operator(live: Live) -> None:
    await live.add_operator("anna")
    anna = await live.online_operator("anna")
    conversation = await customer_writes(live, anna)
    assert conversation["channel_kind"] == "whatsapp"
    assert conversation["contact_name"] == "Test Name"


async def test_unsigned_or_forged_webhooks_store_nothing(live: Live) -> None:
    await live.add_operator("sveta")
    status, body = await post_webhook(live, text_webhook("wamid.x"), signed=False)
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    forged = encode(text_webhook("wamid.x"))
    async with live.http.post(
        live.url(f"/webhooks/whatsapp/{live.channel_id}"),
        data=forged,
        headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
    ) as resp:
        assert resp.status == 403
    token = await live.token("sveta")
    _, listed = await live.api("GET", "/api/v1/conversations", token)
    assert listed["conversations"] == []


async def test_the_same_webhook_twice_is_one_message(live: Live) -> None:
    # Meta has no retry marker: a redelivery is the same body with the same message ids.
    await live.add_operator("anna")
    anna = await live.online_operator("anna")
    conversation = await customer_writes(live, anna)
    assert await post_webhook(live, text_webhook("wamid.in1")) == (200, {"ok": True})
    await anna.no_frame()
    _, body = await live.api(
        "GET",
        f"/api/v1/conversations/{conversation['id']}/messages",
        await live.token("anna"),
    )
    assert [m["text"] for m in body["messages"]] == ["Где мой заказ?"]


async def test_echoes_of_our_own_number_are_not_customer_messages(live: Live) -> None:
    await live.add_operator("anna")
    anna = await live.online_operator("anna")
    assert await post_webhook(live, own("echo_smb_message_echoes.json")) == (200, {"ok": True})
    assert await post_webhook(live, own("echo_from_business.json")) == (200, {"ok": True})
    await anna.no_frame()


# --------------------------------------------------------------------------- outbound


async def send(
    operator: OperatorClient, conversation: dict[str, Any], client_id: str, **extra: Any
) -> dict[str, Any]:
    ack = await operator.command(
        "message.send",
        conversation_id=conversation["id"],
        text=extra.pop("text", "Ваш заказ готов"),
        client_id=client_id,
        **extra,
    )
    assert ack["type"] == "ack", ack
    return ack


async def test_reply_with_buttons_arrives_in_whatsapps_format(
    live: Live, fake: FakeWhatsAppApi
) -> None:
    await live.add_operator("anna")
    anna = await live.online_operator("anna")
    conversation = await customer_writes(live, anna)
    await send(
        anna,
        conversation,
        "k1",
        text="Сумма к оплате: 990 ₽",
        buttons=[
            {"title": "Оплатить", "url": "https://pay.example/42"},
            {"title": "Позже", "payload": "later"},
        ],
    )
    updated = await anna.expect("message.updated", timeout=DELIVERY_TIMEOUT)
    assert updated["message"]["status"] == "sent"
    [sent] = fake.sent
    assert sent["to"] == CUSTOMER
    assert sent["interactive"]["type"] == "cta_url"
    assert sent["interactive"]["action"]["parameters"] == {
        "display_text": "Оплатить",
        "url": "https://pay.example/42",
    }
    assert sent["interactive"]["body"]["text"] == "Сумма к оплате: 990 ₽\n\n1. Позже"


async def test_rate_limited_then_delivered_once(live: Live, fake: FakeWhatsAppApi) -> None:
    await live.add_operator("anna")
    anna = await live.online_operator("anna")
    conversation = await customer_writes(live, anna)
    fake.fail_next("rate_limit", retry_after=0.2)
    await send(anna, conversation, "k1")
    updated = await anna.expect("message.updated", timeout=DELIVERY_TIMEOUT)
    assert updated["message"]["status"] == "sent"
    attempts = [r.status for r in fake.requests if r.path.endswith("/messages")]
    assert attempts == [400, 200]
    assert len(fake.sent) == 1


async def test_a_permanent_failure_reaches_the_operator(live: Live, fake: FakeWhatsAppApi) -> None:
    await live.add_operator("anna")
    anna = await live.online_operator("anna")
    conversation = await customer_writes(live, anna)
    fake.fail_next("blocked")
    await send(anna, conversation, "k1")
    failed = await anna.expect("message.updated", timeout=DELIVERY_TIMEOUT)
    assert failed["message"]["status"] == "failed"
    assert failed["message"]["error"].startswith("WhatsApp could not deliver the message")


async def test_a_pending_delivery_survives_a_restart(
    database_url: str, tmp_path: Path, fake: FakeWhatsAppApi
) -> None:
    async with running(database_url, tmp_path) as first:
        channel_id = await add_whatsapp_channel(first, fake)
        await first.add_operator("anna")
        anna = await first.online_operator("anna")
        conversation = await customer_writes(first, anna)
        fake.fail_always("server_error")
        ack = await send(anna, conversation, "k1")
        message_id = ack["message"]["id"]

        # Stop once the failed attempt is recorded and its lease released: the job then
        # waits in the outbox for its retry (at least 0.5 s away).
        await wait_for(lambda: retry_recorded(database_url))
    assert fake.sent == []
    fake.recover()
    async with running(database_url, tmp_path) as second:
        second.channel_id = channel_id
        token = await second.token("anna")

        async def delivered() -> bool:
            _, body = await second.api(
                "GET", f"/api/v1/conversations/{conversation['id']}/messages", token
            )
            [reply] = [m for m in body["messages"] if m["id"] == message_id]
            return bool(reply["status"] == "sent")

        await wait_for(delivered, timeout=DELIVERY_TIMEOUT)
    assert len(fake.sent) == 1


async def test_delivery_statuses_move_the_message_forward(
    live: Live, fake: FakeWhatsAppApi
) -> None:
    await live.add_operator("anna")
    anna = await live.online_operator("anna")
    conversation = await customer_writes(live, anna)
    await send(anna, conversation, "k1")
    sent = await anna.expect("message.updated", timeout=DELIVERY_TIMEOUT)
    assert sent["message"]["status"] == "sent"
    wamid = "wamid.FAKE000001"
    for status in ("delivered", "read"):
        assert await post_webhook(live, status_webhook(wamid, status)) == (200, {"ok": True})
        updated = await anna.expect("message.updated")
        assert updated["message"]["id"] == sent["message"]["id"]
        assert updated["message"]["status"] == status
    # Meta delivers statuses at least once and out of order: a late one changes nothing.
    assert await post_webhook(live, status_webhook(wamid, "delivered")) == (200, {"ok": True})
    await anna.no_frame()


async def test_a_failed_status_explains_the_24_hour_window(
    live: Live, fake: FakeWhatsAppApi
) -> None:
    await live.add_operator("anna")
    anna = await live.online_operator("anna")
    conversation = await customer_writes(live, anna)
    await send(anna, conversation, "k1")
    await anna.expect("message.updated", timeout=DELIVERY_TIMEOUT)
    assert await post_webhook(live, own("status_failed_131047.json")) == (200, {"ok": True})
    failed = await anna.expect("message.updated")
    assert failed["message"]["status"] == "failed"
    assert failed["message"]["error"] == REENGAGEMENT_REASON
