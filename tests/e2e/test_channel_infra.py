"""The channel infrastructure with an in-process adapter: webhooks stored before they are
acknowledged, duplicates, rejections, statuses, retries, media, the WhatsApp window and
long polling under a lease."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channel_io import (
    MediaBlob,
    PollResult,
    StatusUpdate,
    WebhookBatch,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
)
from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.clock import FixedClock
from inbox.domain.content import Image, MediaRef, Template, Text
from inbox.domain.messages import DeliveryStatus, InboundMessage, OutboundMessage, SenderProfile
from inbox.domain.operators import Role
from inbox.pollers import PollerService
from inbox.ports import AdapterDeps, SendReceipt
from inbox.usecases import add_channel, set_channel_enabled
from operator_ws import Argon2PasswordHasher
from server.app import SERVICES, create_app
from tests.e2e.conftest import Live, make_settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@dataclass
class FakeAdapter:
    """Speaks a made-up JSON webhook: {"secret", "messages": [{"id", "from", "text" |
    "photo"}], "statuses": [{"id", "status"}]}."""

    deps: AdapterDeps
    kind: str = "whatsapp"
    sent: list[OutboundMessage] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    fetches: int = 0
    polls: list[str | None] = field(default_factory=list)
    poll_batches: list[WebhookBatch] = field(default_factory=list)

    async def handle_webhook(self, channel: Channel, request: WebhookRequest) -> WebhookBatch:
        try:
            body = json.loads(request.body)
        except ValueError:
            raise WebhookRejected(400, "bad_request", "not JSON") from None
        if body.get("secret") != channel.options.get("app_secret"):
            raise WebhookRejected(401, "unauthorized", "bad secret")
        messages = tuple(
            InboundMessage(
                channel_id=channel.id,
                external_id=m["id"],
                sender=SenderProfile(m["from"], display_name="Ivan"),
                parts=(
                    (Image(MediaRef("image/png", provider_ref=m["photo"]), "a photo"),)
                    if "photo" in m
                    else (Text(m["text"]),)
                ),
            )
            for m in body.get("messages", [])
        )
        statuses = tuple(
            StatusUpdate(s["id"], DeliveryStatus(s["status"]), s.get("error"))
            for s in body.get("statuses", [])
        )
        return WebhookBatch(messages, statuses, WebhookReply(200, b"ok", "text/plain"))

    async def send(self, channel: Channel, message: OutboundMessage) -> SendReceipt:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return SendReceipt(external_id=f"out-{len(self.sent)}")

    async def fetch_media(self, channel: Channel, ref: MediaRef) -> MediaBlob:
        self.fetches += 1
        return MediaBlob(PNG, "image/png", "photo.png")

    async def setup(self, channel: Channel, public_url: str | None) -> Mapping[str, str]:
        return {"mode": "polling"}

    def wants_polling(self, channel: Channel) -> bool:
        return channel.options.get("mode") == "polling"

    async def poll(self, channel: Channel, cursor: str | None, wait_seconds: int) -> PollResult:
        self.polls.append(cursor)
        batch = self.poll_batches.pop(0) if self.poll_batches else WebhookBatch()
        await asyncio.sleep(0 if batch.messages else 0.05)
        return PollResult(batch, str(int(cursor or 0) + len(batch.messages)))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
async def wa(database_url: str, tmp_path: Path, clock: FixedClock) -> AsyncIterator[Live]:
    holder: dict[str, FakeAdapter] = {}

    def factory(deps: AdapterDeps) -> FakeAdapter:
        holder["adapter"] = FakeAdapter(deps)
        return holder["adapter"]

    app = await create_app(
        make_settings(database_url, tmp_path),
        clock=clock,
        hasher=Argon2PasswordHasher(fast_for_tests=True),
        adapter_factories={"whatsapp": factory},
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    channel = await add_channel(
        app[SERVICES].core,
        ChannelKind("whatsapp"),
        "WA",
        {"app_secret": "s3", "templates": "order_update:ru"},
    )
    import aiohttp

    async with aiohttp.ClientSession() as http:
        env = Live(app, server, channel.id, http)
        env.adapter = holder["adapter"]  # type: ignore[attr-defined]
        try:
            yield env
        finally:
            for ws in env._sockets:
                await ws.close()
            await server.close()


def adapter_of(live: Live) -> FakeAdapter:
    found: FakeAdapter = live.adapter  # type: ignore[attr-defined]
    return found


async def hook(
    live: Live, body: Any, channel_id: str | None = None, kind: str = "whatsapp"
) -> tuple[int, bytes]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with live.http.post(
        live.url(f"/webhooks/{kind}/{channel_id or live.channel_id}"), data=raw
    ) as resp:
        return resp.status, await resp.read()


def text_from(mid: str, text: str = "Hello", sender: str = "79990001122") -> dict[str, Any]:
    return {"secret": "s3", "messages": [{"id": mid, "from": sender, "text": text}]}


async def test_a_webhook_is_stored_then_acknowledged_once(wa: Live) -> None:
    await wa.add_operator("anna")
    anna = await wa.online_operator("anna")
    assert await hook(wa, text_from("m1")) == (200, b"ok")
    created = await anna.expect("message.created")
    assert created["message"]["text"] == "Hello"
    assert created["conversation"]["channel_kind"] == "whatsapp"
    assert created["conversation"]["window_expires_at"] is not None
    assert await hook(wa, text_from("m1")) == (200, b"ok")  # the provider retries
    token = await wa.token("anna")
    _, body = await wa.api(
        "GET", f"/api/v1/conversations/{created['conversation_id']}/messages", token
    )
    assert [m["text"] for m in body["messages"]] == ["Hello"]


async def test_rejections_store_nothing(wa: Live) -> None:
    status, body = await hook(
        wa, {"secret": "wrong", "messages": [{"id": "x", "from": "1", "text": "hi"}]}
    )
    assert status == 401
    assert json.loads(body)["error"]["code"] == "unauthorized"
    status, _ = await hook(wa, b"{not json")
    assert status == 400
    status, _ = await hook(wa, b"x" * (1024 * 1024 + 1))
    assert status == 413
    status, _ = await hook(wa, text_from("m2"), channel_id="nope")
    assert status == 404
    status, _ = await hook(wa, text_from("m2"), kind="telegraph")
    assert status == 404
    webchat = await add_channel(wa.core, ChannelKind("webchat"), "Site", {})
    status, _ = await hook(wa, text_from("m2"), channel_id=webchat.id)
    assert status == 404  # a channel of another kind
    await set_channel_enabled(wa.core, wa.channel_id, False)  # type: ignore[arg-type]
    status, _ = await hook(wa, text_from("m2"))
    assert status == 403
    await wa.add_operator("sveta", role=Role.SUPERVISOR)
    _, listed = await wa.api("GET", "/api/v1/conversations", await wa.token("sveta"))
    assert listed["conversations"] == []


async def test_reply_retries_then_statuses_move_it_forward(wa: Live, clock: FixedClock) -> None:
    adapter = adapter_of(wa)
    adapter.failures.append(RetryLater("rate limited", retry_after=0.2))
    await wa.add_operator("anna")
    anna = await wa.online_operator("anna")
    await hook(wa, text_from("m1"))
    conv = (await anna.expect("conversation.assigned"))["conversation"]
    ack = await anna.command(
        "message.send",
        conversation_id=conv["id"],
        text="Hi!",
        client_id="k1",
        buttons=[{"title": "Pay", "url": "https://pay.example/1"}],
    )
    assert ack["type"] == "ack", ack
    for _ in range(50):  # the retry is due on the injected clock: move it along
        if adapter.sent:
            break
        await asyncio.sleep(0.05)
        clock.advance(1)
        wa.app[SERVICES].worker.wake()
    sent = await anna.expect("message.updated", timeout=10)
    assert sent["message"]["status"] == "sent"
    assert len(adapter.sent) == 1  # retried, delivered once
    assert adapter.sent[0].recipient == "79990001122"
    assert adapter.sent[0].parts[0].type == "buttons"
    await hook(wa, {"secret": "s3", "statuses": [{"id": "out-1", "status": "read"}]})
    read = await anna.expect("message.updated")
    assert read["message"]["status"] == "read"
    # A late "delivered" after "read" does not move it back.
    await hook(wa, {"secret": "s3", "statuses": [{"id": "out-1", "status": "delivered"}]})
    await anna.no_frame()


async def test_a_permanent_failure_reaches_the_operator(wa: Live) -> None:
    adapter_of(wa).failures.append(PermanentFailure("The customer blocked the bot."))
    await wa.add_operator("anna")
    anna = await wa.online_operator("anna")
    await hook(wa, text_from("m1"))
    conv = (await anna.expect("conversation.assigned"))["conversation"]
    await anna.command("message.send", conversation_id=conv["id"], text="Hi", client_id="k1")
    failed = await anna.expect("message.updated", timeout=10)
    assert failed["message"]["status"] == "failed"
    assert failed["message"]["error"] == "The customer blocked the bot."


async def test_the_whatsapp_window_and_templates(wa: Live, clock: FixedClock) -> None:
    await wa.add_operator("anna")
    anna = await wa.online_operator("anna")
    await hook(wa, text_from("m1"))
    conv = (await anna.expect("conversation.assigned"))["conversation"]
    clock.advance(25 * 3600)
    closed = await anna.command(
        "message.send", conversation_id=conv["id"], text="Hi", client_id="k1"
    )
    assert closed["code"] == "window_closed"
    unknown = await anna.command(
        "message.send",
        conversation_id=conv["id"],
        client_id="k2",
        template={"name": "promo", "language": "ru", "params": []},
    )
    assert unknown["code"] == "invalid_input"
    ok = await anna.command(
        "message.send",
        conversation_id=conv["id"],
        client_id="k3",
        template={"name": "order_update", "language": "ru", "params": ["42"]},
    )
    assert ok["type"] == "ack", ok
    await anna.expect("message.updated", timeout=10)
    assert adapter_of(wa).sent[-1].parts == (Template("order_update", "ru", ("42",)),)
    token = await wa.token("anna")
    _, templates = await wa.api("GET", f"/api/v1/channels/{wa.channel_id}/templates", token)
    assert templates == {"templates": [{"name": "order_update", "language": "ru"}]}


async def test_media_is_fetched_once_and_only_for_those_who_may_see_it(wa: Live) -> None:
    await wa.add_operator("anna")
    await wa.add_operator("boris")
    anna = await wa.online_operator("anna")
    await hook(wa, {"secret": "s3", "messages": [{"id": "p1", "from": "7999", "photo": "f-1"}]})
    created = await anna.expect("message.created")
    mid = created["message"]["id"]
    await anna.expect("conversation.assigned")
    token = await wa.token("anna")
    for _ in range(2):
        async with wa.http.get(
            wa.url(f"/api/v1/messages/{mid}/media/0"), headers={"Authorization": f"Bearer {token}"}
        ) as resp:
            assert resp.status == 200
            assert await resp.read() == PNG
            assert resp.headers["Content-Type"].startswith("image/png")
    assert adapter_of(wa).fetches == 1  # kept after the first view
    async with wa.http.get(wa.url(f"/api/v1/messages/{mid}/media/0")) as resp:
        assert resp.status == 401
    boris = await wa.token("boris")
    async with wa.http.get(
        wa.url(f"/api/v1/messages/{mid}/media/0"), headers={"Authorization": f"Bearer {boris}"}
    ) as resp:
        assert resp.status == 403
    async with wa.http.get(
        wa.url(f"/api/v1/messages/{mid}/media/5"), headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        assert resp.status == 404


async def test_an_uploaded_attachment_goes_out_with_the_reply(wa: Live) -> None:
    import aiohttp

    await wa.add_operator("anna")
    anna = await wa.online_operator("anna")
    await hook(wa, text_from("m1"))
    conv = (await anna.expect("conversation.assigned"))["conversation"]
    token = await wa.token("anna")
    form = aiohttp.FormData()
    form.add_field("file", PNG, filename="price.png", content_type="image/png")
    async with wa.http.post(
        wa.url(f"/api/v1/conversations/{conv['id']}/attachments"),
        data=form,
        headers={"Authorization": f"Bearer {token}"},
    ) as resp:
        assert resp.status == 201
        media = (await resp.json())["media"]
    ack = await anna.command(
        "message.send",
        conversation_id=conv["id"],
        text="Our prices",
        client_id="k1",
        attachments=[media],
    )
    assert [p["type"] for p in ack["message"]["parts"]] == ["text", "image"]
    await anna.expect("message.updated", timeout=10)
    image = adapter_of(wa).sent[-1].parts[1]
    assert isinstance(image, Image)
    assert image.media.key is not None
    assert await wa.app[SERVICES].media.get(image.media.key) == PNG


async def test_a_polled_channel_is_read_by_one_owner_and_resumes(wa: Live) -> None:
    adapter = adapter_of(wa)
    channel = await add_channel(
        wa.core,
        ChannelKind("whatsapp"),
        "Polled",
        {"app_secret": "s3"},
        lambda c: adapter.setup(c, None),
    )
    assert channel.options["mode"] == "polling"
    adapter.poll_batches.append(
        WebhookBatch((InboundMessage(channel.id, "q1", SenderProfile("u9"), (Text("polled"),)),))
    )
    first = PollerService(wa.core, {"whatsapp": adapter}, wait_seconds=0)
    second = PollerService(wa.core, {"whatsapp": adapter}, wait_seconds=0)
    try:
        await first.reconcile()
        for _ in range(100):
            if len(adapter.polls) >= 2:
                break
            await asyncio.sleep(0.02)
        assert adapter.polls[:2] == [None, "1"]  # the cursor moved after the batch was stored
        await second.reconcile()  # the lease is held: the second process does not poll
        before = len(adapter.polls)
        await asyncio.sleep(0.2)
        assert all(c == "1" for c in adapter.polls[before:])
    finally:
        await first.stop()
        await second.stop()
    await wa.add_operator("sveta", role=Role.SUPERVISOR)
    _, listed = await wa.api("GET", "/api/v1/conversations", await wa.token("sveta"))
    assert [c["preview"] for c in listed["conversations"]] == ["polled"]


async def test_a_failed_set_up_leaves_no_channel(wa: Live) -> None:
    from inbox.domain.errors import InvalidInput
    from inbox.usecases import list_channels

    async def refuse(channel: Channel) -> Mapping[str, str]:
        # The channel is already stored while set-up runs (the provider may call back).
        assert channel.id in {c.id for c in await list_channels(wa.core)}
        raise InvalidInput("the provider refused the token")

    before = {c.id for c in await list_channels(wa.core)}
    with pytest.raises(InvalidInput):
        await add_channel(wa.core, ChannelKind("whatsapp"), "Refused", {"app_secret": "x"}, refuse)
    assert {c.id for c in await list_channels(wa.core)} == before
