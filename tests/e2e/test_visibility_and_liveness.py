"""Who sees what, heartbeats, presence grace and delivery across a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from inbox.domain.operators import Role
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.e2e.conftest import Live, make_settings


async def test_operators_see_their_own_and_the_queue_supervisors_see_all(live: Live) -> None:
    await live.add_operator("anna")
    await live.add_operator("boris")
    await live.add_operator("sveta", role=Role.SUPERVISOR)
    anna = await live.online_operator("anna")
    boris, _ = await live.operator(await live.token("boris"))  # offline: gets nothing assigned
    sveta, _ = await live.operator(await live.token("sveta"))

    customer = await live.customer()
    await customer.hello()
    await customer.say("private matter", "c-1")
    conv = (await anna.expect("conversation.assigned"))["conversation"]

    # Boris saw it while queued, and learns it left the queue; he never gets its messages.
    seen_by_boris = await boris.expect("conversation.updated", reason="assigned")
    assert seen_by_boris["conversation"]["assignee_id"] == live.operators["anna"].id
    await anna.command(
        "message.send", conversation_id=conv["id"], text="secret reply", client_id="o1"
    )
    created = await sveta.expect("message.created")
    assert created["conversation_id"] == conv["id"]
    await asyncio.sleep(0.2)
    for frame in boris.seen:
        if frame["type"] == "message.created":
            assert frame["message"]["text"] == "private matter"  # from when it was queued
    boris_token = await live.token("boris")
    _, mine = await live.api("GET", "/api/v1/conversations", boris_token)
    assert mine["conversations"] == []
    _, everything = await live.api("GET", "/api/v1/conversations", await live.token("sveta"))
    assert [c["id"] for c in everything["conversations"]] == [conv["id"]]
    status, _ = await live.api(
        "GET", "/api/v1/conversations?assignee=" + conv["assignee_id"], boris_token
    )
    assert status == 403


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"ws_heartbeat_seconds": 0.2, "presence_grace_seconds": 0.3}


async def test_heartbeats_carry_seq_and_a_vanished_console_turns_away(live: Live) -> None:
    await live.add_operator("anna")
    await live.add_operator("sveta", role=Role.SUPERVISOR)
    sveta, _ = await live.operator(await live.token("sveta"))
    anna = await live.online_operator("anna")
    beat = await anna.expect("heartbeat", timeout=2)
    assert beat["seq"] == anna.last_seq
    await anna.ws.close()
    away = await sveta.expect("presence", timeout=3, status="away")
    assert away["operator_id"] == live.operators["anna"].id


async def test_a_reply_pending_at_shutdown_is_delivered_after_restart(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path)
    hasher = Argon2PasswordHasher(fast_for_tests=True)

    from inbox.domain.channels import ChannelKind
    from inbox.domain.content import Text
    from inbox.domain.messages import InboundMessage, SenderProfile
    from inbox.usecases import (
        add_channel,
        add_operator,
        claim_conversation,
        ingest_inbound,
        send_reply,
    )

    # First run: the reply is committed with its outbox job, but no worker runs.
    app = await create_app(settings, hasher=hasher)
    core = app[SERVICES].core
    channel = await add_channel(core, ChannelKind("webchat"), "Shop", {})
    anna = await add_operator(core, hasher, login="anna", password="long enough")
    got = await ingest_inbound(
        core,
        InboundMessage(channel.id, "v1:1", SenderProfile("v1"), (Text("hi"),), thread_key="v1"),
    )
    await claim_conversation(core, anna, got.conversation.id)
    sent = await send_reply(core, anna, got.conversation.id, (Text("queued reply"),), "k1")
    await app[SERVICES].store.close()

    # Second run: the worker finds the job at start and delivers it.
    app = await create_app(settings, hasher=hasher)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        services = app[SERVICES]
        for _ in range(100):
            message = await services.core.store.read(lambda tx: tx.messages.get(sent.message.id))
            assert message is not None
            if message.status != "pending":
                break
            await asyncio.sleep(0.05)
        assert message is not None
        assert message.status == "sent"  # the visitor is offline: sent, not delivered
        assert await services.core.store.read(lambda tx: tx.outbox.pending_count()) == 0
    finally:
        await server.close()
