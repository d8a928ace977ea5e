"""VK end to end: a real server (SQLite and PostgreSQL) with the VK adapter registered, the
fake VK API as the provider, real WebSocket operators.

Webhook → operator sees it; operator replies (with buttons) → the fake gets VK's native
request; duplicates stored once; rate limit then success delivered once; permanent
failure reaches the operator; a pending delivery survives a restart; a read receipt moves
the message to ``read``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from channels.vk import create_adapter
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.errors import InvalidInput
from inbox.usecases import add_channel, list_channels
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.channels.vk.conftest import CONFIRMATION, GROUP_ID, SECRET, shared
from tests.e2e.conftest import Live, OperatorClient, make_settings
from tests.fakes.vk_api import VkFake

PEER = 326596496


async def _start(database_url: str, tmp_path: Path) -> tuple[TestServer, aiohttp.web.Application]:
    app = await create_app(
        make_settings(database_url, tmp_path),
        hasher=Argon2PasswordHasher(fast_for_tests=True),
        adapter_factories={"vk": create_adapter},
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server, app


@pytest.fixture
async def vk_live(database_url: str, tmp_path: Path, vk_fake: VkFake) -> AsyncIterator[Live]:
    server, app = await _start(database_url, tmp_path)
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
        env = Live(app, server, channel.id, http)
        try:
            yield env
        finally:
            for ws in env._sockets:
                await ws.close()
            await server.close()


async def hook(live: Live, payload: dict[str, Any] | bytes, **headers: str) -> tuple[int, str]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    async with live.http.post(
        live.url(f"/webhooks/vk/{live.channel_id}"),
        data=body,
        headers={"Content-Type": "application/json", **headers},
    ) as resp:
        return resp.status, await resp.text()


async def customer_writes(live: Live, anna: OperatorClient) -> dict[str, Any]:
    """The shared sample message arrives; returns the operator's ``message.created``."""
    status, body = await hook(live, shared("vk_callback_message_new_text.json"))
    assert (status, body) == (200, "ok")
    await anna.expect("conversation.assigned")
    return await anna.expect("message.created")


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 8.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_confirmation_and_auth_over_http(vk_live: Live) -> None:
    async with vk_live.http.post(
        vk_live.url(f"/webhooks/vk/{vk_live.channel_id}"),
        data=json.dumps(shared("vk_callback_confirmation.json")),
    ) as resp:
        assert resp.status == 200
        assert await resp.text() == CONFIRMATION
        assert resp.content_type == "text/plain"
    wrong = shared("vk_callback_message_new_text.json")
    wrong["secret"] = "nope"
    status, body = await hook(vk_live, wrong)
    assert status == 403
    assert json.loads(body)["error"]["code"] == "forbidden"
    status, body = await hook(vk_live, b"{not json")
    assert status == 400
    assert "{not json" not in body


async def test_customer_message_reaches_the_operator_and_reply_with_buttons_reaches_vk(
    vk_live: Live, vk_fake: VkFake
) -> None:
    await vk_live.add_operator("anna")
    anna = await vk_live.online_operator("anna")
    created = await customer_writes(vk_live, anna)
    assert created["message"]["text"] == "Здравствуйте! Где мой заказ 42?"
    assert created["message"]["direction"] == "inbound"
    conversation_id = created["conversation_id"]

    ack = await anna.command(
        "message.send",
        conversation_id=conversation_id,
        text="Оплатите заказ по ссылке",
        client_id="o-1",
        buttons=[
            {"title": "Оплатить", "url": "https://pay.example/42"},
            {"title": "Позже", "payload": "later"},
        ],
    )
    assert ack["type"] == "ack", ack
    updated = await anna.expect("message.updated")
    assert updated["message"]["id"] == ack["message"]["id"]
    assert updated["message"]["status"] == "sent"

    (sent,) = vk_fake.calls("messages.send")
    assert sent.params["peer_ids"] == str(PEER)
    assert sent.params["message"] == "Оплатите заказ по ссылке"
    keyboard = json.loads(sent.params["keyboard"])
    assert keyboard["inline"] is True
    assert keyboard["buttons"][0][0]["action"] == {
        "type": "open_link",
        "link": "https://pay.example/42",
        "label": "Оплатить",
    }
    assert keyboard["buttons"][1][0]["action"]["type"] == "text"


async def test_same_webhook_twice_creates_one_message(vk_live: Live) -> None:
    await vk_live.add_operator("anna")
    anna = await vk_live.online_operator("anna")
    created = await customer_writes(vk_live, anna)
    payload = shared("vk_callback_message_new_text.json")
    assert await hook(vk_live, payload) == (200, "ok")
    assert await hook(vk_live, payload, **{"X-Retry-Counter": "1"}) == (200, "ok")
    await anna.no_frame(0.3)
    token = await vk_live.token("anna")
    status, body = await vk_live.api(
        "GET", f"/api/v1/conversations/{created['conversation_id']}/messages", token
    )
    assert status == 200
    assert len(body["messages"]) == 1


async def test_rate_limit_then_success_is_delivered_once(vk_live: Live, vk_fake: VkFake) -> None:
    await vk_live.add_operator("anna")
    anna = await vk_live.online_operator("anna")
    created = await customer_writes(vk_live, anna)
    vk_fake.fail_next("rate_limit")
    ack = await anna.command(
        "message.send", conversation_id=created["conversation_id"], text="Сейчас", client_id="o-1"
    )
    updated = await anna.expect("message.updated", timeout=6.0)
    assert updated["message"]["id"] == ack["message"]["id"]
    assert updated["message"]["status"] == "sent"
    assert len(vk_fake.calls("messages.send")) == 2
    assert len(vk_fake.messages) == 1


async def test_permanent_failure_reaches_the_operator(vk_live: Live, vk_fake: VkFake) -> None:
    await vk_live.add_operator("anna")
    anna = await vk_live.online_operator("anna")
    created = await customer_writes(vk_live, anna)
    vk_fake.fail_next("blocked")
    await anna.command(
        "message.send", conversation_id=created["conversation_id"], text="Ответ", client_id="o-1"
    )
    updated = await anna.expect("message.updated")
    assert updated["message"]["status"] == "failed"
    assert updated["message"]["error"] == (
        "The customer has not allowed messages from the community."
    )
    assert vk_fake.messages == []


async def test_read_receipt_moves_our_message_to_read(vk_live: Live) -> None:
    await vk_live.add_operator("anna")
    anna = await vk_live.online_operator("anna")
    created = await customer_writes(vk_live, anna)
    await anna.command(
        "message.send", conversation_id=created["conversation_id"], text="Готово", client_id="o-1"
    )
    sent = await anna.expect("message.updated")
    assert sent["message"]["status"] == "sent"

    # The fake numbers the dialog's messages from 300: ours is "326596496:300".
    read = {
        "group_id": GROUP_ID,
        "type": "message_read",
        "event_id": "read-1",
        "v": "5.199",
        "secret": SECRET,
        "object": {"from_id": PEER, "peer_id": PEER, "read_message_id": 300},
    }
    assert await hook(vk_live, read) == (200, "ok")
    updated = await anna.expect("message.updated")
    assert updated["message"]["id"] == sent["message"]["id"]
    assert updated["message"]["status"] == "read"


async def test_pending_delivery_survives_a_restart(
    database_url: str, tmp_path: Path, vk_fake: VkFake
) -> None:
    server, app = await _start(database_url, tmp_path)
    core = app[SERVICES].core
    channel = await add_channel(
        core,
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
        await live.add_operator("anna")
        anna = await live.online_operator("anna")
        created = await customer_writes(live, anna)
        vk_fake.set_down(True)
        ack = await anna.command(
            "message.send",
            conversation_id=created["conversation_id"],
            text="Доставим после перезапуска",
            client_id="o-1",
        )
        message_id = ack["message"]["id"]

        async def attempted() -> bool:
            return bool(vk_fake.calls("messages.send"))

        await eventually(attempted)
        await anna.ws.close()
        await server.close()  # stops the worker with the job still in the outbox
        assert vk_fake.messages == []

        vk_fake.set_down(False)
        server2, app2 = await _start(database_url, tmp_path)
        try:
            live2 = Live(app2, server2, channel.id, http)
            token = await live2.token("anna")

            async def delivered() -> bool:
                status, body = await live2.api(
                    "GET", f"/api/v1/conversations/{created['conversation_id']}/messages", token
                )
                assert status == 200
                ours = [m for m in body["messages"] if m["id"] == message_id]
                return bool(ours) and ours[0]["status"] == "sent"

            await eventually(delivered)
        finally:
            await server2.close()
    assert len(vk_fake.messages) == 1
    assert vk_fake.messages[0]["message"] == "Доставим после перезапуска"


async def test_add_channel_runs_setup_against_vk(vk_live: Live, vk_fake: VkFake) -> None:
    core = vk_live.core
    adapter = vk_live.app[SERVICES].adapters["vk"]

    async def setup(channel: Channel) -> Mapping[str, str]:
        return await adapter.setup(channel, "https://inbox.example")

    options = {
        "token": vk_fake.token,
        "group_id": str(GROUP_ID),
        "secret": SECRET,
        "confirmation": CONFIRMATION,
        "api_base": vk_fake.base_url,
    }
    added = await add_channel(core, ChannelKind("vk"), "VK 2", options, setup)
    assert dict(added.options) == options  # VK's callback server is set up by hand
    before = len(await list_channels(core))
    with pytest.raises(InvalidInput, match="invalid or expired"):
        await add_channel(core, ChannelKind("vk"), "VK 3", {**options, "token": "bad"}, setup)
    assert len(await list_channels(core)) == before  # nothing stored
