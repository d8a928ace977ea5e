"""A payment link on WhatsApp end to end: the real server with the real WhatsApp adapter,
the fake Graph API, signed webhooks, a real operator WebSocket and the sandbox provider's
pay page. Runs on SQLite and PostgreSQL.

The link is an ``interactive`` ``cta_url`` message (channels/whatsapp/outbound.py: a URL
button is a call-to-action); paying tells the customer once, as a text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.channels.whatsapp.support import CUSTOMER
from tests.channels.whatsapp.test_e2e import add_whatsapp_channel, customer_writes, running
from tests.e2e.conftest import Live
from tests.e2e.test_payments_e2e import EN_BUTTON, EN_LINK, EN_PAID, sandbox_checkout
from tests.fakes.whatsapp_api import FakeWhatsAppApi


@pytest.fixture
async def wa_live(database_url: str, tmp_path: Path, fake: FakeWhatsAppApi) -> AsyncIterator[Live]:
    """As in test_e2e.py: one server with a WhatsApp channel on the fake."""
    async with running(database_url, tmp_path) as env:
        await add_whatsapp_channel(env, fake)
        yield env


async def test_the_link_is_a_cta_url_message_and_the_payment_is_confirmed_once(
    wa_live: Live, fake: FakeWhatsAppApi
) -> None:
    await wa_live.add_operator("anna")
    anna = await wa_live.online_operator("anna")
    token = await wa_live.token("anna")
    conversation = await customer_writes(wa_live, anna)

    def sent() -> list[dict[str, Any]]:
        return list(fake.sent)

    done = await sandbox_checkout(wa_live, anna, token, conversation["id"], sent)
    assert done.link["to"] == CUSTOMER
    assert done.link["type"] == "interactive"
    assert done.link["interactive"] == {
        "type": "cta_url",
        "body": {"text": EN_LINK},
        "action": {
            "name": "cta_url",
            "parameters": {"display_text": EN_BUTTON, "url": done.order["payment"]["url"]},
        },
    }
    assert done.paid["to"] == CUSTOMER
    assert done.paid["type"] == "text"
    assert done.paid["text"]["body"] == EN_PAID
    texts = [m["text"]["body"] for m in sent() if m["type"] == "text"]
    assert texts.count(EN_PAID) == 1
