"""A payment link on VK end to end: the real server with the VK adapter registered, the
fake VK API, Callback API webhooks, a real operator WebSocket and the sandbox provider's
pay page. Runs on SQLite and PostgreSQL.

The link is an inline keyboard ``open_link`` button; paying tells the customer once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from channels.vk import create_adapter
from inbox.domain.channels import ChannelKind
from inbox.usecases import add_channel
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.channels.vk.conftest import CONFIRMATION, GROUP_ID, SECRET
from tests.channels.vk.test_e2e import PEER, customer_writes
from tests.e2e.conftest import Live, make_settings
from tests.e2e.test_payments_e2e import EN_BUTTON, EN_LINK, EN_PAID, sandbox_checkout
from tests.fakes.vk_api import VkFake


@pytest.fixture
async def vk_live(database_url: str, tmp_path: Path, vk_fake: VkFake) -> AsyncIterator[Live]:
    """As in test_e2e.py: the app with the VK adapter and a VK channel on the fake."""
    app = await create_app(
        make_settings(database_url, tmp_path),
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
        env = Live(app, server, channel.id, http)
        try:
            yield env
        finally:
            for ws in env._sockets:
                await ws.close()
            await server.close()


async def test_the_link_is_an_open_link_button_and_the_payment_is_confirmed_once(
    vk_live: Live, vk_fake: VkFake
) -> None:
    await vk_live.add_operator("anna")
    anna = await vk_live.online_operator("anna")
    token = await vk_live.token("anna")
    created = await customer_writes(vk_live, anna)

    def sent() -> list[dict[str, Any]]:
        return [dict(call.params) for call in vk_fake.calls("messages.send")]

    done = await sandbox_checkout(vk_live, anna, token, created["conversation_id"], sent)
    assert done.link["peer_ids"] == str(PEER)
    assert done.link["message"] == EN_LINK
    keyboard = json.loads(done.link["keyboard"])
    assert keyboard["inline"] is True
    assert keyboard["buttons"] == [
        [
            {
                "action": {
                    "type": "open_link",
                    "link": done.order["payment"]["url"],
                    "label": EN_BUTTON,
                }
            }
        ]
    ]
    assert done.paid["peer_ids"] == str(PEER)
    assert done.paid["message"] == EN_PAID
    assert "keyboard" not in done.paid
    assert [m["message"] for m in sent()].count(EN_PAID) == 1
    assert [m["message"] for m in vk_fake.messages] == [EN_LINK, EN_PAID]
