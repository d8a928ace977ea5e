"""The adapter's outbound side against the fake Viber API: send, errors, media, set-up."""

from __future__ import annotations

import logging

import pytest

from channels.viber import ViberAdapter
from channels.viber.errors import DEFAULT_RATE_LIMIT_SECONDS
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channels import Channel
from inbox.domain.clock import FixedClock
from inbox.domain.content import Button, Buttons, Image, Location, MediaRef, Part, Reaction, Text
from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ChannelId, ConversationId, MessageId
from inbox.domain.messages import OutboundMessage
from inbox.ports import AdapterDeps
from tests.channels.viber.helpers import TOKEN, load, make_channel
from tests.fakes.viber_api import FakeViberApi
from tests.support import MemoryMedia

CUSTOMER = "QTqiwE4M9hQ2WLnGKMaMKw=="


def channel_for(fake: FakeViberApi, **extra: str) -> Channel:
    return make_channel({"token": TOKEN, "api_base": fake.api_base, **extra})


def outbound(*parts: Part, author: str = "Iryna") -> OutboundMessage:
    return OutboundMessage(
        message_id=MessageId("m1"),
        conversation_id=ConversationId("c1"),
        channel_id=ChannelId("ch-viber-1"),
        recipient=CUSTOMER,
        parts=parts,
        author_name=author,
    )


async def test_send_text(fake: FakeViberApi, adapter: ViberAdapter) -> None:
    receipt = await adapter.send(channel_for(fake), outbound(Text("Так, 42 є в наявності.")))
    (call,) = fake.calls("send_message")
    assert call.headers["X-Viber-Auth-Token"] == TOKEN
    assert call.headers["Content-Type"].startswith("application/json")
    assert call.json == load("request_send_message_text.json")
    assert receipt.external_id == str(call.answer["message_token"])


async def test_send_with_url_and_reply_buttons(fake: FakeViberApi, adapter: ViberAdapter) -> None:
    buttons = Buttons(
        "Оплатіть замовлення",
        (
            Button("Pay", "url", url="https://pay.example.com/o/4411"),
            Button("Yes", "reply", payload="yes"),
        ),
    )
    await adapter.send(channel_for(fake), outbound(buttons))
    (sent,) = fake.sent
    assert sent == load("request_send_message_keyboard.json")
    assert sent["keyboard"]["Buttons"][0] == {
        "Columns": 6,
        "Rows": 1,
        "ActionType": "open-url",
        "ActionBody": "https://pay.example.com/o/4411",
        "Text": "Pay",
        "TextSize": "regular",
    }


async def test_attachment_is_named_because_viber_takes_no_uploads(
    fake: FakeViberApi, adapter: ViberAdapter, media: MemoryMedia
) -> None:
    stored = await media.put(b"\x89PNG...", mime_type="image/png", filename="receipt.png")
    await adapter.send(channel_for(fake), outbound(Text("Your receipt"), Image(stored)))
    (sent,) = fake.sent
    assert sent["type"] == "text"
    assert sent["text"] == "Your receipt\n[attachment: receipt.png]"
    assert all(r.endpoint == "send_message" for r in fake.requests)  # no upload attempted


async def test_attachment_goes_by_url_once_the_core_can_give_one(
    fake: FakeViberApi, media: MemoryMedia
) -> None:
    stored = await media.put(b"\x89PNG...", mime_type="image/png", filename="receipt.png")
    adapter = ViberAdapter(
        AdapterDeps(media=media, clock=FixedClock()),
        media_url=lambda ref: f"https://inbox.example.com/m/{ref.key}",
    )
    try:
        await adapter.send(channel_for(fake), outbound(Image(stored, caption="Receipt")))
    finally:
        await adapter.close()
    (sent,) = fake.sent
    assert sent["type"] == "picture"
    assert sent["media"] == f"https://inbox.example.com/m/{stored.key}"


async def test_several_messages_receipt_is_the_last(
    fake: FakeViberApi, adapter: ViberAdapter
) -> None:
    receipt = await adapter.send(channel_for(fake), outbound(Location(50.45, 30.52), Text("Here")))
    assert [b["type"] for b in fake.sent] == ["location", "text"]
    assert receipt.external_id == str(fake.calls("send_message")[-1].answer["message_token"])


async def test_sender_name_option_wins_then_author_then_channel(
    fake: FakeViberApi, adapter: ViberAdapter
) -> None:
    await adapter.send(channel_for(fake, sender_name="Shoe Shop Team"), outbound(Text("a")))
    await adapter.send(channel_for(fake), outbound(Text("b"), author="Iryna"))
    await adapter.send(channel_for(fake), outbound(Text("c"), author=""))
    assert [b["sender"]["name"] for b in fake.sent] == ["Shoe Shop Team", "Iryna", "Shoe Shop"]


async def test_rate_limit_then_success(fake: FakeViberApi, adapter: ViberAdapter) -> None:
    fake.fail_next("rate_limit", retry_after=1)
    with pytest.raises(RetryLater) as caught:
        await adapter.send(channel_for(fake), outbound(Text("hi")))
    assert caught.value.retry_after == 1.0
    assert "rate limiting" in caught.value.reason
    receipt = await adapter.send(channel_for(fake), outbound(Text("hi")))
    assert receipt.external_id
    assert len(fake.sent) == 1


async def test_rate_limit_without_a_wait_uses_the_default(
    fake: FakeViberApi, adapter: ViberAdapter
) -> None:
    fake.fail_next("rate_limit")
    with pytest.raises(RetryLater) as caught:
        await adapter.send(channel_for(fake), outbound(Text("hi")))
    assert caught.value.retry_after == DEFAULT_RATE_LIMIT_SECONDS


@pytest.mark.parametrize(
    ("kind", "retry_after"), [("http_429", 3.0), ("server_error", None), ("server_error", 7.0)]
)
async def test_http_errors_are_transient(
    fake: FakeViberApi, adapter: ViberAdapter, kind: str, retry_after: float | None
) -> None:
    fake.fail_next(kind, retry_after=retry_after)  # type: ignore[arg-type]
    with pytest.raises(RetryLater) as caught:
        await adapter.send(channel_for(fake), outbound(Text("hi")))
    assert caught.value.retry_after == retry_after


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        ("blocked", None, "The customer has not subscribed to the bot or has unsubscribed."),
        ("not_registered", None, "The customer's Viber account no longer exists."),
        ("bad_token", None, "Viber refused the bot token; check the channel's token."),
        ("status", 99, "Viber refused the request (status 99: error)."),
    ],
)
async def test_permanent_errors_carry_a_readable_reason(
    fake: FakeViberApi, adapter: ViberAdapter, kind: str, status: int | None, reason: str
) -> None:
    fake.fail_next(kind, status=status)  # type: ignore[arg-type]
    with pytest.raises(PermanentFailure) as caught:
        await adapter.send(channel_for(fake), outbound(Text("hi")))
    assert caught.value.reason == reason


async def test_unsubscribed_customer_as_the_fake_knows_it(
    fake: FakeViberApi, adapter: ViberAdapter
) -> None:
    fake.unsubscribed.add(CUSTOMER)
    with pytest.raises(PermanentFailure, match="has not subscribed"):
        await adapter.send(channel_for(fake), outbound(Text("hi")))


async def test_wrong_token_is_permanent(fake: FakeViberApi, adapter: ViberAdapter) -> None:
    channel = make_channel({"token": "not-the-token", "api_base": fake.api_base})
    with pytest.raises(PermanentFailure, match="token"):
        await adapter.send(channel, outbound(Text("hi")))


async def test_connection_reset_mid_send_is_transient(
    fake: FakeViberApi, adapter: ViberAdapter
) -> None:
    fake.reset_connection_next()
    with pytest.raises(RetryLater, match="connection"):
        await adapter.send(channel_for(fake), outbound(Text("hi")))
    assert len(fake.calls("send_message")) == 1  # the request did reach the fake
    await adapter.send(channel_for(fake), outbound(Text("hi")))
    assert len(fake.sent) == 1


async def test_timeout_is_transient(fake: FakeViberApi, media: MemoryMedia) -> None:
    adapter = ViberAdapter(AdapterDeps(media=media, clock=FixedClock()), timeout=0.3)
    fake.fail_next("timeout", delay=2.0)
    try:
        with pytest.raises(RetryLater, match="in time"):
            await adapter.send(channel_for(fake), outbound(Text("hi")))
    finally:
        await adapter.close()


async def test_unreachable_api_is_transient(adapter: ViberAdapter) -> None:
    channel = make_channel({"token": TOKEN, "api_base": "http://127.0.0.1:9/pa"})
    with pytest.raises(RetryLater):
        await adapter.send(channel, outbound(Text("hi")))


async def test_what_viber_cannot_send_fails_without_a_call(
    fake: FakeViberApi, adapter: ViberAdapter
) -> None:
    with pytest.raises(PermanentFailure, match="reactions"):
        await adapter.send(channel_for(fake), outbound(Reaction("👍", "1")))
    assert fake.requests == []


async def test_channel_without_token_cannot_send(adapter: ViberAdapter) -> None:
    with pytest.raises(PermanentFailure, match="no token"):
        await adapter.send(make_channel({}), outbound(Text("hi")))


async def test_neither_token_nor_text_reaches_the_logs(
    fake: FakeViberApi, adapter: ViberAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next("blocked")
    with pytest.raises(PermanentFailure):
        await adapter.send(channel_for(fake), outbound(Text("secret order details")))
    await adapter.send(channel_for(fake), outbound(Text("secret order details")))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert TOKEN not in logged
    assert "secret order details" not in logged
    assert CUSTOMER not in logged


# ------------------------------------------------------------------ media


async def test_fetch_media_downloads_from_the_api_host(
    fake: FakeViberApi, adapter: ViberAdapter
) -> None:
    link = fake.add_media("/1/share/2/long/vibes/image/0x0/95e0/abc.jpg", b"JPEGDATA", "image/jpeg")
    ref = MediaRef(mime_type="image/jpeg", provider_ref=link, filename="IMG_1.jpg", size=8)
    blob = await adapter.fetch_media(channel_for(fake), ref)
    assert blob.data == b"JPEGDATA"
    assert blob.mime_type == "image/jpeg"
    assert blob.filename == "IMG_1.jpg"
    (download,) = [r for r in fake.requests if r.method == "GET"]
    assert download.path == "/1/share/2/long/vibes/image/0x0/95e0/abc.jpg"
    assert "X-Viber-Auth-Token" not in download.headers  # the token never leaves for media


async def test_fetch_media_keeps_the_known_type_when_the_host_sends_none(
    fake: FakeViberApi, adapter: ViberAdapter
) -> None:
    link = fake.add_media("/f/doc.pdf", b"%PDF-1.7")
    ref = MediaRef(mime_type="application/pdf", provider_ref=link, filename="doc.pdf")
    assert (await adapter.fetch_media(channel_for(fake), ref)).mime_type == "application/pdf"


async def test_expired_media_is_permanent(fake: FakeViberApi, adapter: ViberAdapter) -> None:
    ref = MediaRef(mime_type="image/jpeg", provider_ref="https://dl-media.viber.com/gone.jpg")
    with pytest.raises(PermanentFailure, match="no longer available"):
        await adapter.fetch_media(channel_for(fake), ref)


async def test_sticker_without_a_link_cannot_be_fetched(
    fake: FakeViberApi, adapter: ViberAdapter
) -> None:
    ref = MediaRef(mime_type="image/png", provider_ref="viber-sticker:40133")
    with pytest.raises(PermanentFailure, match="no download link"):
        await adapter.fetch_media(channel_for(fake), ref)


async def test_media_download_on_server_error_is_transient(
    fake: FakeViberApi, adapter: ViberAdapter
) -> None:
    ref = MediaRef(mime_type="image/jpeg", provider_ref="https://dl-media.viber.com/x.jpg")
    channel = make_channel({"token": TOKEN, "api_base": "http://127.0.0.1:9/pa"})
    with pytest.raises(RetryLater):
        await adapter.fetch_media(channel, ref)


# ------------------------------------------------------------------ set-up


async def test_setup_checks_the_token_and_registers_the_webhook(
    fake: FakeViberApi, adapter: ViberAdapter
) -> None:
    fake.verify_webhook = False  # nothing serves the webhook URL in this test
    channel = channel_for(fake)
    stored = await adapter.setup(channel, "https://inbox.example.com/")
    assert stored == {}
    assert [r.endpoint for r in fake.requests] == ["get_account_info", "set_webhook"]
    (call,) = fake.calls("set_webhook")
    expected = load("request_set_webhook.json")
    expected["url"] = f"https://inbox.example.com/webhooks/viber/{channel.id}"
    assert call.json == expected
    assert fake.webhook == expected["url"]


async def test_setup_without_public_url_only_checks_the_token(
    fake: FakeViberApi, adapter: ViberAdapter
) -> None:
    assert await adapter.setup(channel_for(fake), None) == {}
    assert [r.endpoint for r in fake.requests] == ["get_account_info"]


async def test_setup_refuses_a_missing_token(adapter: ViberAdapter) -> None:
    with pytest.raises(InvalidInput, match="token"):
        await adapter.setup(make_channel({"api_base": "http://127.0.0.1:9/pa"}), None)


async def test_setup_refuses_a_bad_api_base(adapter: ViberAdapter) -> None:
    with pytest.raises(InvalidInput, match="api_base"):
        await adapter.setup(make_channel({"token": TOKEN, "api_base": "ftp:/x"}), None)


async def test_setup_refuses_a_token_viber_rejects(
    fake: FakeViberApi, adapter: ViberAdapter
) -> None:
    channel = make_channel({"token": "wrong", "api_base": fake.api_base})
    with pytest.raises(InvalidInput, match="token"):
        await adapter.setup(channel, "https://inbox.example.com")
    assert fake.calls("set_webhook") == []


async def test_setup_reports_a_webhook_viber_cannot_reach(
    fake: FakeViberApi, adapter: ViberAdapter
) -> None:
    # Like Viber, the fake calls the URL back; nothing listens there.
    with pytest.raises(InvalidInput, match="webhook URL"):
        await adapter.setup(channel_for(fake), "http://127.0.0.1:9")
