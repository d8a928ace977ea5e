"""The real client and adapter against the fake Graph API: sends, uploads, errors, media,
set-up."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import pytest

from channels.whatsapp import WhatsAppAdapter
from channels.whatsapp.errors import REENGAGEMENT_REASON
from channels.whatsapp.options import WhatsAppOptions
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channels import Channel
from inbox.domain.clock import FixedClock
from inbox.domain.content import Audio, Button, Buttons, File, Image, MediaRef, Part, Text
from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ChannelId, ConversationId, MessageId
from inbox.domain.messages import OutboundMessage
from inbox.ports import AdapterDeps
from tests.channels.whatsapp.support import (
    CUSTOMER,
    PHONE_NUMBER_ID,
    TOKEN,
    MemoryMedia,
    make_channel,
    shared,
)
from tests.fakes.whatsapp_api import FakeWhatsAppApi

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def outbound(*parts: Part, message_id: str = "m1", reply_to: str | None = None) -> OutboundMessage:
    return OutboundMessage(
        message_id=MessageId(message_id),
        conversation_id=ConversationId("c1"),
        channel_id=ChannelId("ch-whatsapp"),
        recipient=CUSTOMER,
        parts=parts,
        reply_to_external_id=reply_to,
    )


# --------------------------------------------------------------------------- sending


async def test_send_text(adapter: WhatsAppAdapter, channel: Channel, fake: FakeWhatsAppApi) -> None:
    expected = shared("whatsapp_send_text_request.json")
    receipt = await adapter.send(channel, outbound(Text(expected["text"]["body"])))
    assert receipt.external_id == "wamid.FAKE000001"
    assert fake.sent == [expected]
    [request] = fake.requests
    assert request.method == "POST"
    assert request.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"].startswith("application/json")


async def test_send_quotes_the_customers_message(
    adapter: WhatsAppAdapter, channel: Channel, fake: FakeWhatsAppApi
) -> None:
    await adapter.send(channel, outbound(Text("Yes"), reply_to="wamid.xyzxyz"))
    assert fake.sent[0]["context"] == {"message_id": "wamid.xyzxyz"}


async def test_send_url_button_natively(
    adapter: WhatsAppAdapter, channel: Channel, fake: FakeWhatsAppApi
) -> None:
    part = Buttons(
        "Сумма к оплате: 990 ₽",
        (Button("Оплатить", "url", url="https://pay.example/42"), Button("Позже")),
    )
    await adapter.send(channel, outbound(part))
    [sent] = fake.sent
    assert sent["type"] == "interactive"
    assert sent["interactive"]["type"] == "cta_url"
    assert sent["interactive"]["action"] == {
        "name": "cta_url",
        "parameters": {"display_text": "Оплатить", "url": "https://pay.example/42"},
    }
    assert sent["interactive"]["body"]["text"] == "Сумма к оплате: 990 ₽\n\n1. Позже"


async def test_send_reply_buttons_natively(
    adapter: WhatsAppAdapter, channel: Channel, fake: FakeWhatsAppApi
) -> None:
    part = Buttons("Как удобнее оплатить?", (Button("Картой", payload="card"), Button("СБП")))
    await adapter.send(channel, outbound(part))
    buttons = fake.sent[0]["interactive"]["action"]["buttons"]
    assert [b["reply"] for b in buttons] == [
        {"id": "card", "title": "Картой"},
        {"id": "СБП", "title": "СБП"},
    ]


async def test_send_attachment_uploads_then_sends_by_id(
    adapter: WhatsAppAdapter, channel: Channel, fake: FakeWhatsAppApi, media: MemoryMedia
) -> None:
    ref = await media.put(PNG, mime_type="image/png", filename="price.png")
    receipt = await adapter.send(channel, outbound(Text("Our prices"), Image(ref)))
    [upload] = fake.uploads
    assert upload.path == f"/v21.0/{PHONE_NUMBER_ID}/media"
    assert upload.form == {"messaging_product": "whatsapp", "type": "image/png"}
    assert upload.files["file"].data == PNG
    assert upload.files["file"].filename == "price.png"
    assert upload.files["file"].content_type == "image/png"
    assert upload.headers["authorization"] == f"Bearer {TOKEN}"
    [sent] = fake.sent
    [media_id] = list(fake.media)
    assert sent["type"] == "image"
    assert sent["image"] == {"id": media_id, "caption": "Our prices"}
    assert "link" not in sent["image"]
    assert receipt.external_id == "wamid.FAKE000002"  # 1 was the upload's counter


async def test_document_keeps_its_filename(
    adapter: WhatsAppAdapter, channel: Channel, fake: FakeWhatsAppApi, media: MemoryMedia
) -> None:
    ref = await media.put(b"%PDF-1.4", mime_type="application/pdf", filename="bill.pdf")
    await adapter.send(channel, outbound(File(ref)))
    assert fake.sent[0]["document"]["filename"] == "bill.pdf"
    assert fake.uploads[0].files["file"].filename == "bill.pdf"


async def test_a_missing_file_fails_permanently(adapter: WhatsAppAdapter, channel: Channel) -> None:
    ref = MediaRef("image/png", key="f" * 32, size=10)
    with pytest.raises(PermanentFailure, match="missing"):
        await adapter.send(channel, outbound(Image(ref)))


# --------------------------------------------------------------------------- errors


async def test_rate_limit_then_success(
    adapter: WhatsAppAdapter, channel: Channel, fake: FakeWhatsAppApi
) -> None:
    fake.fail_next("rate_limit", retry_after=1)
    with pytest.raises(RetryLater) as caught:
        await adapter.send(channel, outbound(Text("Hi")))
    assert caught.value.retry_after == 1.0
    assert "rate limit" in caught.value.reason
    receipt = await adapter.send(channel, outbound(Text("Hi")))
    assert receipt.external_id is not None
    assert len(fake.sent) == 1


@pytest.mark.parametrize(
    ("kind", "retry_after"), [("rate_limit", 5.0), ("pair_rate_limit", 6.0), ("http_429", 5.0)]
)
async def test_rate_limits_without_retry_after_use_a_default(
    adapter: WhatsAppAdapter,
    channel: Channel,
    fake: FakeWhatsAppApi,
    kind: Any,
    retry_after: float,
) -> None:
    fake.fail_next(kind)
    with pytest.raises(RetryLater) as caught:
        await adapter.send(channel, outbound(Text("Hi")))
    assert caught.value.retry_after == retry_after


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("expired_token", "The WhatsApp access token has expired or is invalid."),
        ("window", REENGAGEMENT_REASON),
        ("blocked", "WhatsApp could not deliver the message"),
        ("bad_request", "WhatsApp refused the message as invalid"),
        ("not_allowed", "allowed list"),
    ],
)
async def test_permanent_errors_carry_a_readable_reason(
    adapter: WhatsAppAdapter, channel: Channel, fake: FakeWhatsAppApi, kind: Any, reason: str
) -> None:
    fake.fail_next(kind)
    with pytest.raises(PermanentFailure) as caught:
        await adapter.send(channel, outbound(Text("Hi")))
    assert reason in caught.value.reason
    assert TOKEN not in caught.value.reason


async def test_a_wrong_token_is_permanent(adapter: WhatsAppAdapter, fake: FakeWhatsAppApi) -> None:
    channel = make_channel(api_base=fake.api_base, token="revoked")
    with pytest.raises(PermanentFailure, match="access token"):
        await adapter.send(channel, outbound(Text("Hi")))


async def test_server_errors_are_retried(
    adapter: WhatsAppAdapter, channel: Channel, fake: FakeWhatsAppApi
) -> None:
    fake.fail_next("server_error")
    with pytest.raises(RetryLater):
        await adapter.send(channel, outbound(Text("Hi")))


async def test_connection_reset_mid_send_is_retried(
    adapter: WhatsAppAdapter, channel: Channel, fake: FakeWhatsAppApi
) -> None:
    fake.reset_connection_next()
    with pytest.raises(RetryLater, match="connection"):
        await adapter.send(channel, outbound(Text("Hi")))
    assert fake.requests[0].status == 0  # the fake read the request, then hung up
    await adapter.send(channel, outbound(Text("Hi")))
    assert len(fake.sent) == 1


async def test_a_slow_answer_is_retried(
    media: MemoryMedia, channel: Channel, fake: FakeWhatsAppApi
) -> None:
    quick = WhatsAppAdapter(
        AdapterDeps(media=media, clock=FixedClock()), timeout=aiohttp.ClientTimeout(total=0.2)
    )
    fake.delay_next(1.0)
    try:
        with pytest.raises(RetryLater, match="in time"):
            await quick.send(channel, outbound(Text("Hi")))
    finally:
        await quick.close()


async def test_an_injected_session_is_used_and_left_open(
    media: MemoryMedia, channel: Channel, fake: FakeWhatsAppApi
) -> None:
    async with aiohttp.ClientSession() as session:
        shared_session = WhatsAppAdapter(
            AdapterDeps(media=media, clock=FixedClock()), session=session
        )
        await shared_session.send(channel, outbound(Text("Hi")))
        await shared_session.close()
        assert not session.closed
    assert len(fake.sent) == 1


async def test_an_unreachable_api_is_retried(
    adapter: WhatsAppAdapter, fake: FakeWhatsAppApi
) -> None:
    channel = make_channel(api_base=fake.api_base)
    await fake.close()
    with pytest.raises(RetryLater):
        await adapter.send(channel, outbound(Text("Hi")))


async def test_a_retry_continues_where_a_multi_request_message_stopped(
    adapter: WhatsAppAdapter, channel: Channel, fake: FakeWhatsAppApi, media: MemoryMedia
) -> None:
    ref = await media.put(b"voice", mime_type="audio/ogg", filename="note.ogg")
    message = outbound(Text("Listen:"), Audio(ref, voice=True), message_id="multi")
    # First attempt: the text goes out, then the audio's upload is rate limited.
    fake.fail_next("rate_limit", path_suffix="/media")
    with pytest.raises(RetryLater):
        await adapter.send(channel, message)
    assert [s["type"] for s in fake.sent] == ["text"]
    receipt = await adapter.send(channel, message)
    assert [s["type"] for s in fake.sent] == ["text", "audio"]  # the text was not repeated
    assert receipt.external_id == "wamid.FAKE000003"


async def test_a_misconfigured_channel_fails_permanently(adapter: WhatsAppAdapter) -> None:
    with pytest.raises(PermanentFailure, match="phone_number_id"):
        await adapter.send(make_channel(phone_number_id=""), outbound(Text("Hi")))


async def test_nothing_secret_is_logged(
    adapter: WhatsAppAdapter,
    channel: Channel,
    fake: FakeWhatsAppApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next("rate_limit")
    with pytest.raises(RetryLater):
        await adapter.send(channel, outbound(Text("secret order 4111")))
    await adapter.send(channel, outbound(Text("secret order 4111")))
    await adapter.setup(make_channel(api_base="http://127.0.0.1:9/v21.0"), None)
    assert TOKEN not in caplog.text
    assert "4111" not in caplog.text


# --------------------------------------------------------------------------- media


async def test_fetch_media_downloads_through_the_api(
    adapter: WhatsAppAdapter, channel: Channel, fake: FakeWhatsAppApi
) -> None:
    fake.add_media("65463453", PNG, "image/jpeg", "photo.jpg")
    blob = await adapter.fetch_media(
        channel, MediaRef("image/jpeg", provider_ref="65463453", filename="photo.jpg")
    )
    assert blob.data == PNG
    assert blob.mime_type == "image/jpeg"
    assert blob.filename == "photo.jpg"
    lookup, download = fake.requests
    assert lookup.path == "/v21.0/65463453"
    assert download.path == "/whatsapp_business/attachments/"
    assert download.query["mid"] == "65463453"
    assert download.headers["authorization"] == f"Bearer {TOKEN}"


async def test_fetch_media_of_an_expired_id_fails_permanently(
    adapter: WhatsAppAdapter, channel: Channel
) -> None:
    with pytest.raises(PermanentFailure, match="30 days"):
        await adapter.fetch_media(channel, MediaRef("image/jpeg", provider_ref="404404"))


async def test_fetch_media_needs_a_provider_ref(adapter: WhatsAppAdapter, channel: Channel) -> None:
    with pytest.raises(PermanentFailure):
        await adapter.fetch_media(channel, MediaRef("image/jpeg"))


# --------------------------------------------------------------------------- setup


async def test_setup_checks_the_token_and_registers_nothing(
    adapter: WhatsAppAdapter, channel: Channel, fake: FakeWhatsAppApi
) -> None:
    assert await adapter.setup(channel, "https://inbox.example") == {}
    [check] = fake.requests
    assert (check.method, check.path) == ("GET", f"/v21.0/{PHONE_NUMBER_ID}")
    assert check.headers["authorization"] == f"Bearer {TOKEN}"


async def test_setup_names_missing_options(adapter: WhatsAppAdapter) -> None:
    channel = make_channel(token="", app_secret="")
    with pytest.raises(InvalidInput) as caught:
        await adapter.setup(channel, None)
    assert "token" in caught.value.message
    assert "app_secret" in caught.value.message


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("phone_number_id", "+972 123"),
        ("api_base", "ftp://example.com"),
        ("templates", "order_update"),
    ],
)
async def test_setup_refuses_malformed_options(
    adapter: WhatsAppAdapter, option: str, value: str
) -> None:
    with pytest.raises(InvalidInput, match=option):
        await adapter.setup(make_channel(**{option: value}), None)


async def test_setup_refuses_a_rejected_token(
    adapter: WhatsAppAdapter, fake: FakeWhatsAppApi
) -> None:
    with pytest.raises(InvalidInput, match="access token"):
        await adapter.setup(make_channel(api_base=fake.api_base, token="wrong"), None)


async def test_setup_accepts_settings_it_cannot_check_now(adapter: WhatsAppAdapter) -> None:
    channel = make_channel(api_base="http://127.0.0.1:9/v21.0", templates="order_update:ru")
    assert await adapter.setup(channel, None) == {}


def test_options_repr_hides_secrets() -> None:
    text = repr(WhatsAppOptions.parse(make_channel().options))
    assert TOKEN not in text
    assert "test_app_secret" not in text
