"""Viber callbacks → core types, over recorded payloads (tests/channels/viber/fixtures)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from channels.viber.converter import PayloadError, convert_callback
from inbox.domain.channel_io import StatusUpdate
from inbox.domain.content import (
    Audio,
    ButtonReply,
    ContactCard,
    File,
    Image,
    Location,
    MediaRef,
    Sticker,
    Text,
    Unsupported,
    Video,
)
from inbox.domain.ids import ChannelId
from inbox.domain.messages import DeliveryStatus, InboundMessage, SenderProfile
from tests.channels.viber.helpers import callback_files, load, load_path

CHANNEL = ChannelId("ch-viber-1")
CUSTOMER = "QTqiwE4M9hQ2WLnGKMaMKw=="


def only_message(name: str) -> InboundMessage:
    converted = convert_callback(CHANNEL, load(name))
    assert converted.statuses == ()
    assert len(converted.messages) == 1, converted
    return converted.messages[0]


@pytest.mark.parametrize("path", callback_files(), ids=lambda p: p.name)
def test_every_recorded_callback_converts(path: Path) -> None:
    payload = load_path(path)
    converted = convert_callback(CHANNEL, payload)
    for message in converted.messages:
        assert message.channel_id == CHANNEL
        assert message.external_id == str(payload["message_token"])
        assert message.thread_key == message.sender.external_user_id
        assert message.parts, "nothing is dropped: at least an Unsupported part"
        assert message.edit_of_external_id is None
    for status in converted.statuses:
        assert status.external_id == str(payload["message_token"])


def test_text_message_keeps_sender_token_time_and_thread() -> None:
    message = only_message("callback_message_text.json")
    assert message == InboundMessage(
        channel_id=CHANNEL,
        external_id="5741311803571721087",
        sender=SenderProfile(external_user_id=CUSTOMER, display_name="Olena Kovalenko"),
        parts=(Text(load("callback_message_text.json")["message"]["text"]),),
        sent_at=datetime(2026, 1, 1, 9, 30, 0, 123000, tzinfo=UTC),
        thread_key=CUSTOMER,
    )


def test_token_stays_exact_beyond_float_precision() -> None:
    # 5741311803571721087 is not representable as a float: it must never pass through one.
    assert only_message("callback_message_text.json").external_id == "5741311803571721087"
    assert only_message("callback_message_extra_fields.json").external_id == "5741311803571721100"


def test_picture_becomes_image_with_lazy_media_ref() -> None:
    message = only_message("callback_message_picture.json")
    assert message.parts == (
        Image(
            MediaRef(
                mime_type="image/jpeg",
                key=None,
                provider_ref="https://dl-media.viber.com/1/share/2/long/vibes/icon/image/0x0/95e0/"
                "5688fdffdaa0a2d1d62d2dc5c0a9c0c6a1b0d2b3e0cc8cb26e9d5b7ec0a9195e0.jpg",
                filename="IMG_20260101_100101.jpg",
                size=184532,
            ),
            caption="Ось фото коробки",
        ),
    )


def test_video() -> None:
    (part,) = only_message("callback_message_video.json").parts
    assert isinstance(part, Video)
    assert part.media.mime_type == "video/mp4"
    assert part.media.size == 2483201
    assert part.media.provider_ref is not None
    assert part.media.provider_ref.endswith(".mp4")
    assert part.media.key is None


def test_file_keeps_name_size_and_type() -> None:
    (part,) = only_message("callback_message_file.json").parts
    assert part == File(
        MediaRef(
            mime_type="application/pdf",
            provider_ref="https://dl-media.viber.com/10/share/2/long/bots/generic/file/0x0/77aa/"
            "invoice-4411.pdf",
            filename="invoice-4411.pdf",
            size=48213,
        )
    )


def test_audio_file_becomes_audio_not_voice() -> None:
    (part,) = only_message("callback_message_file_audio.json").parts
    assert isinstance(part, Audio)
    assert part.voice is False
    assert part.media.filename == "voice-note.m4a"
    assert part.media.mime_type.startswith("audio/")


def test_sticker_with_picture_link() -> None:
    (part,) = only_message("callback_message_sticker.json").parts
    assert part == Sticker(
        MediaRef(
            mime_type="image/png", provider_ref="https://viber.com/app/uploads/stickers/46105.png"
        )
    )


def test_sticker_with_id_only_keeps_the_id() -> None:
    (part,) = only_message("callback_message_sticker_id_only.json").parts
    assert part == Sticker(MediaRef(mime_type="image/png", provider_ref="viber-sticker:40133"))


def test_location() -> None:
    (part,) = only_message("callback_message_location.json").parts
    assert part == Location(latitude=50.450001, longitude=30.523333)


def test_contact_becomes_contact_card() -> None:
    (part,) = only_message("callback_message_contact.json").parts
    assert part == ContactCard(name="Taras Shevchuk", phone="+380671234567")


def test_url_message_becomes_text_with_the_link() -> None:
    assert only_message("callback_message_url.json").parts == (
        Text("https://shop.example.com/product/42"),
    )


def test_button_press_becomes_button_reply() -> None:
    assert only_message("callback_message_button_press.json").parts == (
        ButtonReply(title="Розмір 42", payload="size-42"),
    )


def test_text_with_someone_elses_tracking_data_stays_text() -> None:
    assert only_message("callback_message_foreign_tracking_data.json").parts == (Text("yes"),)


def test_text_not_among_the_buttons_stays_text() -> None:
    payload = load("callback_message_button_press.json")
    payload["message"]["text"] = "size-44"
    (message,) = convert_callback(CHANNEL, payload).messages
    assert message.parts == (Text("size-44"),)


def test_unknown_message_type_becomes_unsupported() -> None:
    (part,) = only_message("callback_message_rich_media.json").parts
    assert isinstance(part, Unsupported)
    assert part.kind == "rich_media"


def test_unknown_fields_are_accepted() -> None:
    message = only_message("callback_message_extra_fields.json")
    assert message.parts == (Text("Ще одне питання"),)
    assert message.sender.display_name == "Olena Kovalenko"


def test_our_own_account_is_never_a_customer() -> None:
    assert convert_callback(CHANNEL, load("callback_message_from_bot_account.json")).messages == ()


def test_unknown_event_from_a_customer_reaches_the_operator_as_unsupported() -> None:
    (part,) = only_message("callback_unknown_event_with_sender.json").parts
    assert part == Unsupported(
        "message_reaction", "Viber event 'message_reaction' is not supported"
    )


def test_unknown_event_without_a_customer_is_only_acknowledged() -> None:
    converted = convert_callback(CHANNEL, load("callback_unknown_event_without_sender.json"))
    assert converted.messages == ()
    assert converted.statuses == ()


@pytest.mark.parametrize(
    "name",
    [
        "callback_webhook.json",
        "callback_subscribed.json",
        "callback_unsubscribed.json",
        "callback_conversation_started.json",
    ],
)
def test_ack_only_events_store_nothing(name: str) -> None:
    converted = convert_callback(CHANNEL, load(name))
    assert converted.messages == ()
    assert converted.statuses == ()


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("callback_delivered.json", DeliveryStatus.DELIVERED, None),
        ("callback_seen.json", DeliveryStatus.READ, None),
        (
            "callback_failed.json",
            DeliveryStatus.FAILED,
            "Viber could not deliver the message: failure description",
        ),
    ],
)
def test_receipts_become_statuses_of_our_message(
    name: str, status: DeliveryStatus, error: str | None
) -> None:
    converted = convert_callback(CHANNEL, load(name))
    assert converted.messages == ()
    token = str(load(name)["message_token"])
    assert converted.statuses == (StatusUpdate(external_id=token, status=status, error=error),)


def test_failed_without_description_still_explains() -> None:
    payload = load("callback_failed.json")
    del payload["desc"]
    (status,) = convert_callback(CHANNEL, payload).statuses
    assert status.error == "Viber could not deliver the message."


def test_empty_text_is_unsupported_not_an_empty_message() -> None:
    payload = load("callback_message_text.json")
    payload["message"]["text"] = "  "
    (message,) = convert_callback(CHANNEL, payload).messages
    assert message.parts == (
        Unsupported("empty_text", "Viber delivered a text message without text"),
    )


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("picture", {"type": "picture", "text": "no link"}),
        ("location", {"type": "location", "location": {"lat": 123.0, "lon": 5}}),
        ("contact", {"type": "contact", "contact": {}}),
        ("sticker", {"type": "sticker"}),
    ],
)
def test_broken_content_becomes_unsupported(kind: str, body: dict[str, Any]) -> None:
    payload = load("callback_message_text.json")
    payload["message"] = body
    (message,) = convert_callback(CHANNEL, payload).messages
    (part,) = message.parts
    assert isinstance(part, Unsupported)
    assert part.kind == kind


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "message",
        {"timestamp": 1},
        {"event": 5},
        {"event": "message", "message_token": 1, "sender": {"id": "x"}},
        {"event": "message", "message_token": 1, "message": {"type": "text", "text": "hi"}},
        {"event": "message", "message_token": 1, "sender": {"id": ""}, "message": {"type": "text"}},
        {"event": "message", "sender": {"id": "x"}, "message": {"type": "text", "text": "hi"}},
        {
            "event": "message",
            "message_token": True,
            "sender": {"id": "x"},
            "message": {"type": "t"},
        },
        {"event": "delivered", "user_id": "x"},
    ],
)
def test_wrong_shapes_are_refused(payload: Any) -> None:
    with pytest.raises(PayloadError):
        convert_callback(CHANNEL, payload)
