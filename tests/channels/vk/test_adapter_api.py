"""``VkAdapter.send`` / ``fetch_media`` / ``setup`` with the real client against the fake."""

from __future__ import annotations

import json

import pytest

from channels.vk.adapter import VkAdapter
from channels.vk.converter import random_id_for
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channels import Channel
from inbox.domain.content import Audio, Button, Buttons, File, Image, MediaRef, Part, Text
from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ChannelId, ConversationId, MessageId
from inbox.domain.messages import OutboundMessage
from inbox.ports import SendReceipt
from tests.channels.vk.conftest import GROUP_ID, make_channel
from tests.fakes.vk_api import VkFake
from tests.support import MemoryMedia

PEER = 326596496


def outbound(*parts: Part, message_id: str = "m-1", reply_to: str | None = None) -> OutboundMessage:
    return OutboundMessage(
        message_id=MessageId(message_id),
        conversation_id=ConversationId("c-1"),
        channel_id=ChannelId("ch-vk-1"),
        recipient=str(PEER),
        parts=parts,
        reply_to_external_id=reply_to,
    )


async def test_send_text(adapter: VkAdapter, channel: Channel, vk_fake: VkFake) -> None:
    receipt = await adapter.send(channel, outbound(Text("Ваш заказ в пути")))
    assert receipt == SendReceipt(external_id=f"{PEER}:300")
    (sent,) = vk_fake.calls("messages.send")
    assert sent.params["peer_ids"] == str(PEER)
    assert sent.params["message"] == "Ваш заказ в пути"
    assert sent.params["random_id"] == str(random_id_for("m-1"))
    assert sent.params["access_token"] == vk_fake.token
    assert sent.params["v"] == "5.199"
    assert len(vk_fake.messages) == 1


async def test_send_with_url_and_reply_buttons(
    adapter: VkAdapter, channel: Channel, vk_fake: VkFake
) -> None:
    buttons = Buttons(
        "Ссылка на оплату заказа 42",
        (
            Button("Оплатить 990 ₽", "url", url="https://pay.example/42"),
            Button("Позже", "reply", payload="later"),
        ),
    )
    await adapter.send(channel, outbound(buttons))
    (sent,) = vk_fake.calls("messages.send")
    keyboard = json.loads(sent.params["keyboard"])
    assert keyboard["inline"] is True
    assert keyboard["buttons"] == [
        [
            {
                "action": {
                    "type": "open_link",
                    "link": "https://pay.example/42",
                    "label": "Оплатить 990 ₽",
                }
            }
        ],
        [{"action": {"type": "text", "label": "Позже", "payload": '{"button": "later"}'}}],
    ]
    assert sent.params["message"] == "Ссылка на оплату заказа 42"


async def test_send_with_attachments_uploads_them(
    adapter: VkAdapter, channel: Channel, vk_fake: VkFake, media: MemoryMedia
) -> None:
    photo = await media.put(b"\x89PNG photo bytes", mime_type="image/png", filename="receipt.png")
    doc = await media.put(b"%PDF-1.7 ...", mime_type="application/pdf", filename="invoice.pdf")
    voice = await media.put(b"OggS voice", mime_type="audio/ogg", filename="voice.ogg")
    receipt = await adapter.send(
        channel,
        outbound(
            Text("Документы по заказу"),
            Image(photo, caption="чек"),
            File(doc),
            Audio(voice, voice=True),
        ),
    )
    assert receipt.external_id == f"{PEER}:300"

    uploads = [r for r in vk_fake.requests if r.path.startswith("/upload/")]
    assert [(r.path, sorted(r.files)) for r in uploads] == [
        ("/upload/photo", ["photo"]),
        ("/upload/doc", ["file"]),
        ("/upload/doc", ["file"]),
    ]
    assert uploads[0].files["photo"].data == b"\x89PNG photo bytes"
    assert uploads[0].files["photo"].filename == "receipt.png"
    assert uploads[0].files["photo"].content_type == "image/png"
    assert uploads[1].files["file"].filename == "invoice.pdf"
    assert uploads[2].params["type"] == "audio_message"
    assert [r.params.get("type") for r in vk_fake.calls("docs.getMessagesUploadServer")] == [
        "doc",
        "audio_message",
    ]
    assert vk_fake.calls("photos.getMessagesUploadServer")[0].params["peer_id"] == str(PEER)

    (sent,) = vk_fake.calls("messages.send")
    attachment = sent.params["attachment"].split(",")
    assert len(attachment) == 3
    assert attachment[0].startswith(f"photo-{GROUP_ID}_")
    assert attachment[0].endswith("_ph0tokey")
    assert attachment[1].startswith(f"doc-{GROUP_ID}_")
    assert attachment[1].endswith("_d0ckey")
    assert attachment[2].startswith(f"doc-{GROUP_ID}_")
    assert sent.params["message"] == "\n".join(["Документы по заказу", "чек"])
    assert "http" not in sent.params["attachment"]


async def test_missing_file_fails_for_good(adapter: VkAdapter, channel: Channel) -> None:
    gone = MediaRef("image/png", key="0" * 32)
    with pytest.raises(PermanentFailure, match="no longer on the server"):
        await adapter.send(channel, outbound(Image(gone)))


async def test_refused_upload_fails_for_good(
    adapter: VkAdapter, channel: Channel, vk_fake: VkFake, media: MemoryMedia
) -> None:
    photo = await media.put(b"png", mime_type="image/png")
    vk_fake.fail_next("bad_request", method="photos.saveMessagesPhoto")
    with pytest.raises(PermanentFailure):
        await adapter.send(channel, outbound(Image(photo)))
    assert vk_fake.messages == []


async def test_rate_limit_then_success_sends_once(
    adapter: VkAdapter, channel: Channel, vk_fake: VkFake
) -> None:
    vk_fake.fail_next("rate_limit")
    message = outbound(Text("hello"))
    with pytest.raises(RetryLater) as caught:
        await adapter.send(channel, message)
    assert caught.value.retry_after == 1.0
    receipt = await adapter.send(channel, message)
    assert receipt.external_id == f"{PEER}:300"
    assert len(vk_fake.messages) == 1
    assert len({r.params["random_id"] for r in vk_fake.calls("messages.send")}) == 1


async def test_http_429_carries_retry_after(
    adapter: VkAdapter, channel: Channel, vk_fake: VkFake
) -> None:
    vk_fake.fail_next("http_429", retry_after=3)
    with pytest.raises(RetryLater) as caught:
        await adapter.send(channel, outbound(Text("x")))
    assert caught.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("blocked", "The customer has not allowed messages from the community."),
        ("auth", "The community token is invalid or expired."),
    ],
)
async def test_permanent_errors_have_readable_reasons(
    adapter: VkAdapter, channel: Channel, vk_fake: VkFake, kind: str, reason: str
) -> None:
    vk_fake.fail_next(kind)  # type: ignore[arg-type]
    with pytest.raises(PermanentFailure) as caught:
        await adapter.send(channel, outbound(Text("x")))
    assert caught.value.reason == reason


async def test_per_peer_error_in_a_peer_ids_answer(
    adapter: VkAdapter, channel: Channel, vk_fake: VkFake
) -> None:
    vk_fake.deny_peer(PEER)
    with pytest.raises(PermanentFailure) as caught:
        await adapter.send(channel, outbound(Text("x")))
    assert caught.value.reason == "The customer has not allowed messages from the community."


async def test_connection_reset_mid_send_then_retry_is_not_a_duplicate(
    adapter: VkAdapter, channel: Channel, vk_fake: VkFake
) -> None:
    vk_fake.reset_connection_next()
    message = outbound(Text("only once"))
    with pytest.raises(RetryLater, match="connection"):
        await adapter.send(channel, message)
    assert len(vk_fake.messages) == 1  # VK got it; we could not know
    receipt = await adapter.send(channel, message)
    assert len(vk_fake.messages) == 1  # same random_id: VK does not send it again
    assert receipt.external_id == f"{PEER}:300"


async def test_api_down_is_retry_later(
    adapter: VkAdapter, channel: Channel, vk_fake: VkFake
) -> None:
    vk_fake.set_down(True)
    with pytest.raises(RetryLater, match="HTTP 503"):
        await adapter.send(channel, outbound(Text("x")))


async def test_reply_quotes_the_customer_message(
    adapter: VkAdapter, channel: Channel, vk_fake: VkFake
) -> None:
    await adapter.send(channel, outbound(Text("Да"), reply_to=f"{PEER}:295"))
    (sent,) = vk_fake.calls("messages.send")
    assert json.loads(sent.params["forward"])["conversation_message_ids"] == [295]


async def test_unconfigured_channel_fails_for_good(adapter: VkAdapter, vk_fake: VkFake) -> None:
    channel = make_channel(api_base=vk_fake.base_url, token="")
    with pytest.raises(PermanentFailure, match="not configured"):
        await adapter.send(channel, outbound(Text("x")))


# --------------------------------------------------------------------------- media


async def test_fetch_media(adapter: VkAdapter, channel: Channel, vk_fake: VkFake) -> None:
    url = vk_fake.add_media("abc.ogg", b"OggS...", "audio/ogg")
    blob = await adapter.fetch_media(
        channel, MediaRef("audio/ogg", provider_ref=url, filename="voice.ogg")
    )
    assert (blob.data, blob.mime_type, blob.filename) == (b"OggS...", "audio/ogg", "voice.ogg")
    (download,) = [r for r in vk_fake.requests if r.path.startswith("/media/")]
    assert "access_token" not in download.params


async def test_fetch_media_takes_the_content_type_when_ours_is_generic(
    adapter: VkAdapter, channel: Channel, vk_fake: VkFake
) -> None:
    url = vk_fake.add_media("f", b"%PDF", "application/pdf")
    blob = await adapter.fetch_media(
        channel, MediaRef("application/octet-stream", provider_ref=url)
    )
    assert blob.mime_type == "application/pdf"


async def test_fetch_media_errors(adapter: VkAdapter, channel: Channel, vk_fake: VkFake) -> None:
    with pytest.raises(PermanentFailure):
        await adapter.fetch_media(channel, MediaRef("image/jpeg"))
    with pytest.raises(PermanentFailure, match="no longer available"):
        await adapter.fetch_media(
            channel, MediaRef("image/jpeg", provider_ref=f"{vk_fake.base_url}/media/none")
        )


# --------------------------------------------------------------------------- setup


async def test_setup_checks_the_token_and_registers_nothing(
    adapter: VkAdapter, channel: Channel, vk_fake: VkFake
) -> None:
    assert await adapter.setup(channel, "https://inbox.example") == {}
    assert [r.method for r in vk_fake.requests] == ["groups.getById"]


async def test_setup_names_missing_options(adapter: VkAdapter) -> None:
    channel = make_channel(secret="", confirmation="")
    with pytest.raises(InvalidInput) as caught:
        await adapter.setup(channel, None)
    assert "secret" in caught.value.message
    assert "confirmation" in caught.value.message
    assert "token" not in caught.value.message.split("(")[0]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"group_id": "shop"}, "group_id"),
        ({"api_base": "ftp://x"}, "api_base"),
    ],
)
async def test_setup_rejects_malformed_options(
    adapter: VkAdapter, options: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await adapter.setup(make_channel(**options), None)


async def test_setup_accepts_club_prefixed_group_id(adapter: VkAdapter, vk_fake: VkFake) -> None:
    channel = make_channel(api_base=vk_fake.base_url, group_id=f"club{GROUP_ID}")
    assert await adapter.setup(channel, None) == {}


async def test_setup_rejects_a_bad_token(adapter: VkAdapter, vk_fake: VkFake) -> None:
    channel = make_channel(api_base=vk_fake.base_url, token="revoked")
    with pytest.raises(InvalidInput, match="invalid or expired"):
        await adapter.setup(channel, None)


async def test_setup_rejects_a_token_of_another_community(
    adapter: VkAdapter, vk_fake: VkFake
) -> None:
    channel = make_channel(api_base=vk_fake.base_url, group_id="777")
    with pytest.raises(InvalidInput, match="does not belong to community 777"):
        await adapter.setup(channel, None)


async def test_setup_when_vk_is_unreachable(adapter: VkAdapter, vk_fake: VkFake) -> None:
    vk_fake.set_down(True)
    with pytest.raises(InvalidInput, match="Could not check the token"):
        await adapter.setup(make_channel(api_base=vk_fake.base_url), None)


async def test_changed_options_make_a_new_client(adapter: VkAdapter, vk_fake: VkFake) -> None:
    await adapter.send(make_channel(api_base=vk_fake.base_url), outbound(Text("a")))
    with pytest.raises(PermanentFailure, match="invalid or expired"):
        await adapter.send(
            make_channel(api_base=vk_fake.base_url, token="rotated"),
            outbound(Text("b"), message_id="m-2"),
        )
