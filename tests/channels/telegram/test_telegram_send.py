"""``TelegramAdapter.send`` and ``fetch_media`` through the real client (PTB 22.x over
httpx) against the fake Bot API: native formats, uploads, and every failure mode."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from channels.telegram import TelegramAdapter
from channels.telegram.client import Timeouts
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channels import Channel
from inbox.domain.clock import FixedClock
from inbox.domain.content import Button, Buttons, File, Image, MediaRef, Part, Text
from inbox.domain.ids import ChannelId, ConversationId, MessageId
from inbox.domain.messages import DeliveryStatus, OutboundMessage
from inbox.ports import AdapterDeps
from tests.channels.telegram.support import MemoryMedia, load, make_channel
from tests.fakes.telegram_api import FAKE_TOKEN, TelegramApiFake

# PTB's RetryAfter warns about its own int property while being constructed (22.2+);
# the adapter reads the value without the warning, the library's constructor cannot.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

CHAT = 1111111
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4


def outbound(*parts: Part, message_id: str = "m-1", recipient: str = str(CHAT)) -> OutboundMessage:
    return OutboundMessage(
        message_id=MessageId(message_id),
        conversation_id=ConversationId("c-1"),
        channel_id=ChannelId("tg-channel-1"),
        recipient=recipient,
        parts=parts,
    )


async def test_text(adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake) -> None:
    receipt = await adapter.send(channel, outbound(Text("Здравствуйте!")))
    assert receipt.external_id == f"{CHAT}:1000"  # "{chat_id}:{message_id}", as inbound
    assert receipt.status is DeliveryStatus.SENT
    (call,) = fake.calls("sendMessage")
    assert call.http_method == "POST"
    assert call.token == FAKE_TOKEN
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.params == {"chat_id": CHAT, "text": "Здравствуйте!"}


async def test_url_button_in_telegrams_native_format(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake
) -> None:
    recorded = load("telegram_sendMessage_request_payment_url_button.json")
    button = recorded["reply_markup"]["inline_keyboard"][0][0]
    await adapter.send(
        channel,
        outbound(
            Buttons(
                recorded["text"],
                (
                    Button(button["text"], "url", url=button["url"]),
                    Button("Позже", payload="later"),
                ),
            )
        ),
    )
    (call,) = fake.calls("sendMessage", ok=True)
    assert call.params["text"] == recorded["text"]
    assert call.params["reply_markup"] == {
        "inline_keyboard": [
            [{"text": button["text"], "url": button["url"]}],
            [{"text": "Позже", "callback_data": "later"}],
        ]
    }
    assert fake.sent[0]["reply_markup"] == call.params["reply_markup"]


async def test_attachment_is_uploaded_as_multipart(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake, media: MemoryMedia
) -> None:
    photo = await media.put(JPEG, mime_type="image/jpeg", filename="чек.jpg")
    pdf = await media.put(b"%PDF-1.7 ...", mime_type="application/pdf", filename="invoice.pdf")
    receipt = await adapter.send(
        channel, outbound(Image(photo, "Ваш чек"), File(pdf, "Счёт"), message_id="m-upload")
    )
    assert receipt.external_id == f"{CHAT}:1000"
    (sent_photo,) = fake.calls("sendPhoto", ok=True)
    assert sent_photo.content_type == "multipart/form-data"
    assert sent_photo.params == {"chat_id": CHAT, "caption": "Ваш чек"}
    assert sent_photo.files["photo"].data == JPEG
    assert sent_photo.files["photo"].filename == "чек.jpg"
    (sent_pdf,) = fake.calls("sendDocument", ok=True)
    assert sent_pdf.files["document"].data == b"%PDF-1.7 ..."
    assert sent_pdf.files["document"].filename == "invoice.pdf"
    assert sent_pdf.params["caption"] == "Счёт"


async def test_an_attachment_missing_from_the_store_fails_before_anything_is_sent(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake
) -> None:
    gone = MediaRef("image/jpeg", key="no-such-key", filename="x.jpg")
    with pytest.raises(PermanentFailure, match="missing"):
        await adapter.send(channel, outbound(Text("Вот:"), Image(gone)))
    assert fake.requests == []


async def test_rate_limit_then_success(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake
) -> None:
    fake.fail_next("rate_limit", retry_after=3)
    with pytest.raises(RetryLater) as caught:
        await adapter.send(channel, outbound(Text("Привет")))
    assert caught.value.retry_after == 3.0
    assert "rate limit" in caught.value.reason
    receipt = await adapter.send(channel, outbound(Text("Привет")))
    assert receipt.external_id == f"{CHAT}:1000"
    assert len(fake.calls("sendMessage", ok=True)) == 1
    assert len(fake.sent) == 1


async def test_a_retry_does_not_resend_the_parts_already_sent(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake, media: MemoryMedia
) -> None:
    photo = await media.put(JPEG, mime_type="image/jpeg", filename="a.jpg")
    message = outbound(Text("Вот фото:"), Image(photo), message_id="m-two-parts")
    fake.fail_next("rate_limit", retry_after=1, method="sendPhoto")
    with pytest.raises(RetryLater):
        await adapter.send(channel, message)
    receipt = await adapter.send(channel, message)
    assert [m.get("text", "photo") for m in fake.sent] == ["Вот фото:", "photo"]
    assert receipt.external_id == f"{CHAT}:1000"  # the first part's id


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("blocked", "The customer blocked the bot."),
        ("kicked", "The bot was removed from this chat."),
        ("deactivated", "The customer's Telegram account was deleted."),
        ("chat_not_found", "The chat does not exist or the bot cannot see it."),
        ("unauthorized", "Telegram rejected the bot token"),
        ("bad_request", "Telegram refused the request (Message text is empty)."),
    ],
)
async def test_permanent_failures_have_a_readable_reason(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake, kind: str, reason: str
) -> None:
    fake.fail_next(kind)
    with pytest.raises(PermanentFailure) as caught:
        await adapter.send(channel, outbound(Text("Привет")))
    assert caught.value.reason.startswith(reason)
    assert FAKE_TOKEN not in caught.value.reason
    assert fake.sent == []


async def test_a_blocked_chat_and_an_unknown_token_as_the_fake_knows_them(
    adapter: TelegramAdapter, fake: TelegramApiFake
) -> None:
    fake.blocked_chats.add(CHAT)
    with pytest.raises(PermanentFailure, match="blocked the bot"):
        await adapter.send(make_channel(api_base=fake.url), outbound(Text("Привет")))
    stranger = make_channel(api_base=fake.url, token="987654321:AAUnknownToken")
    with pytest.raises(PermanentFailure, match="token"):
        await adapter.send(stranger, outbound(Text("Привет"), recipient="2222222"))


@pytest.mark.parametrize("kind", ["server_error", "bad_gateway"])
async def test_telegram_5xx_is_retried(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake, kind: str
) -> None:
    fake.fail_next(kind)
    with pytest.raises(RetryLater):
        await adapter.send(channel, outbound(Text("Привет")))


async def test_a_connection_reset_mid_send_is_retried(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake
) -> None:
    fake.reset_connection_next("sendMessage")
    with pytest.raises(RetryLater, match="Could not reach Telegram"):
        await adapter.send(channel, outbound(Text("Привет")))
    assert len(fake.calls("sendMessage")) == 1  # it reached the server, which hung up
    await adapter.send(channel, outbound(Text("Привет")))
    assert len(fake.sent) == 1


async def test_telegram_down_is_retried(adapter: TelegramAdapter, fake: TelegramApiFake) -> None:
    closed = make_channel(api_base="http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(RetryLater):
        await adapter.send(closed, outbound(Text("Привет")))


async def test_a_slow_answer_times_out_and_is_retried(
    fake: TelegramApiFake, channel: Channel, media: MemoryMedia
) -> None:
    impatient = TelegramAdapter(
        AdapterDeps(media=media, clock=FixedClock()), timeouts=Timeouts(read=0.2)
    )
    try:
        fake.stall_next(1.0, method="sendMessage")
        with pytest.raises(RetryLater, match="in time"):
            await impatient.send(channel, outbound(Text("Привет")))
    finally:
        await impatient.close()


async def test_a_group_that_became_a_supergroup_is_written_at_its_new_id(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake
) -> None:
    fake.fail_next("migrated", migrate_to=-1001234567890)
    receipt = await adapter.send(channel, outbound(Text("Привет"), recipient="-4012345"))
    assert receipt.external_id == "-1001234567890:1000"
    assert [c.params["chat_id"] for c in fake.calls("sendMessage")] == [-4012345, -1001234567890]


async def test_the_token_never_reaches_logs_or_reasons(
    adapter: TelegramAdapter, fake: TelegramApiFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    channel = make_channel(api_base=fake.url)
    await adapter.send(channel, outbound(Text("Секретный текст")))
    fake.fail_next("server_error")
    with pytest.raises(RetryLater) as caught:
        await adapter.send(channel, outbound(Text("Секретный текст")))
    client_logs = [r for r in caplog.records if not r.name.startswith("aiohttp")]
    assert all(FAKE_TOKEN not in r.getMessage() for r in client_logs)
    assert all("Секретный" not in r.getMessage() for r in client_logs)
    assert FAKE_TOKEN not in caught.value.reason


async def test_clients_are_made_once_per_token_and_closed(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake
) -> None:
    await adapter.send(channel, outbound(Text("1")))
    await adapter.send(channel, outbound(Text("2"), message_id="m-2"))
    await adapter.close()
    await adapter.send(channel, outbound(Text("3"), message_id="m-3"))  # usable again
    assert len(fake.sent) == 3


# ------------------------------------------------------------------ fetch_media


async def test_fetch_media_downloads_by_file_id(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake
) -> None:
    fake.add_file("AgACAgIAAxkBAAIBSmc_large", JPEG, "photos/file_7.jpg")
    ref = MediaRef("image/jpeg", provider_ref="AgACAgIAAxkBAAIBSmc_large", size=len(JPEG))
    blob = await adapter.fetch_media(channel, ref)
    assert blob.data == JPEG
    assert blob.mime_type == "image/jpeg"
    assert blob.filename == "file_7.jpg"
    assert [r.method for r in fake.requests] == ["getFile", "download"]
    assert fake.requests[-1].path == f"/file/bot{FAKE_TOKEN}/photos/file_7.jpg"


async def test_fetch_media_keeps_the_customers_file_name(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake
) -> None:
    fake.add_file("BQACAgIAAxkBAAIBS2c_doc", b"%PDF", "documents/file_3.pdf")
    ref = MediaRef("application/pdf", provider_ref="BQACAgIAAxkBAAIBS2c_doc", filename="Счёт.pdf")
    blob = await adapter.fetch_media(channel, ref)
    assert (blob.data, blob.filename) == (b"%PDF", "Счёт.pdf")


async def test_fetch_media_never_reads_a_local_file(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake, tmp_path: Path
) -> None:
    # PTB's own download reads the local disk when the API names an existing path.
    local = tmp_path / "inbox.db"
    local.write_bytes(b"LOCAL SECRETS")
    fake.add_file("F1", b"remote bytes", str(local))
    blob = await adapter.fetch_media(
        channel, MediaRef("application/octet-stream", provider_ref="F1")
    )
    assert blob.data == b"remote bytes"


async def test_fetch_media_failures(
    adapter: TelegramAdapter, channel: Channel, fake: TelegramApiFake
) -> None:
    with pytest.raises(PermanentFailure, match="does not know this file"):
        await adapter.fetch_media(channel, MediaRef("image/jpeg", provider_ref="unknown"))
    with pytest.raises(PermanentFailure, match="no Telegram file id"):
        await adapter.fetch_media(channel, MediaRef("image/jpeg"))
    fake.add_file("BIG", b"x" * (20 * 1024 * 1024 + 1))
    with pytest.raises(PermanentFailure, match="20 MB"):
        await adapter.fetch_media(channel, MediaRef("video/mp4", provider_ref="BIG"))
    fake.available = False
    with pytest.raises(RetryLater):
        await adapter.fetch_media(channel, MediaRef("image/jpeg", provider_ref="unknown"))


# ------------------------------------------------------------------ the fake answers like the API


@pytest.mark.parametrize(
    ("kind", "fixture", "retry_after"),
    [
        ("rate_limit", "telegram_error_429_flood.json", 3),
        ("blocked", "telegram_error_403_blocked.json", 1),
        ("chat_not_found", "telegram_error_400_chat_not_found.json", 1),
        ("unauthorized", "telegram_error_401_unauthorized.json", 1),
    ],
)
async def test_the_fakes_error_envelopes_are_the_recorded_ones(
    fake: TelegramApiFake, kind: str, fixture: str, retry_after: int
) -> None:
    import aiohttp

    fake.fail_next(kind, retry_after=retry_after)
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{fake.url}/bot{FAKE_TOKEN}/sendMessage", data={"chat_id": "1"}) as resp,
    ):
        body = await resp.json()
        recorded = load(fixture)
        assert resp.status == recorded["error_code"]
        assert body == recorded
