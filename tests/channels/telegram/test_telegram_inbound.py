"""Inbound conversion over every recorded update: the shared fixtures (real payload
shapes, including Telegram's own incomplete documentation examples) and ours."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from channels.telegram.converter import convert_update
from channels.telegram.errors import MalformedUpdate
from channels.telegram.webhook import parse_update
from inbox.domain.content import (
    Audio,
    ButtonReply,
    ContactCard,
    File,
    Image,
    Location,
    MediaRef,
    Part,
    Reaction,
    Sticker,
    Text,
    Unsupported,
    Video,
)
from inbox.domain.ids import ChannelId
from inbox.domain.messages import InboundMessage, SenderProfile
from tests.channels.telegram.support import OWN_FIXTURES, SHARED_FIXTURES, load

CHANNEL = ChannelId("tg-1")
IVAN = SenderProfile("1111111", display_name="Иван Петров", username="ivan_p")
GROUP = "-1001987654321"


def convert(payload: Any) -> tuple[InboundMessage, ...]:
    return convert_update(CHANNEL, parse_update(payload))


def only(payload: Any) -> InboundMessage:
    messages = convert(payload)
    assert len(messages) == 1, messages
    return messages[0]


def media(
    provider_ref: str, mime: str, filename: str | None = None, size: int | None = None
) -> MediaRef:
    return MediaRef(
        mime_type=mime, key=None, provider_ref=provider_ref, filename=filename, size=size
    )


#: file → (external_id, parts) of the one message it becomes; None: no message.
EXPECTED: dict[str, tuple[str, tuple[Part, ...]] | None] = {
    # ---- shared fixtures (/work/shared/fixtures/telegram)
    "telegram_update_text.json": (
        "1111111:1365",
        (Text("Здравствуйте, хочу оплатить заказ 42"),),
    ),
    "telegram_update_command_start_deeplink.json": ("1111111:1366", (Text("/start order_42"),)),
    "telegram_update_photo.json": (
        "1111111:1367",
        (Image(media("AgACAgIAAxkBAAIBSmc_large", "image/jpeg", size=143216), "Вот фото чека"),),
    ),
    "telegram_update_document.json": (
        "1111111:1368",
        (
            File(
                media("BQACAgIAAxkBAAIBS2c_doc", "application/pdf", "Счёт №42.pdf", 536392),
            ),
        ),
    ),
    "telegram_update_contact.json": (
        "1111111:1370",
        (ContactCard("Иван Петров", phone="79161234567"),),
    ),
    "telegram_update_location.json": ("1111111:1371", (Location(55.751244, 37.618423),)),
    "telegram_update_edited_message.json": (
        "1111111:1365:e1735689700",
        (Text("Здравствуйте, хочу оплатить заказ 43"),),
    ),
    "telegram_update_callback_query.json": (
        "cb:4382bfdwdsb323b2d9",
        (ButtonReply("Картой", "pay:card:42"),),
    ),
    "telegram_update_successful_payment.json": (
        "1111111:1373",
        (
            Unsupported(
                "payment",
                "Telegram payment of 99000 (minor units) RUB for 'order:42'; Telegram "
                "Payments are not processed yet.",
            ),
        ),
    ),
    "telegram_update_pre_checkout_query.json": None,  # payments: a later issue
    # ---- ours (tests/channels/telegram/fixtures)
    "telegram_update_voice.json": (
        "1111111:1380",
        (
            Audio(media("AwACAgIAAxkBAAIBVGc_voice", "audio/ogg", size=23000), True, 4.0),
            Text("Послушайте"),
        ),
    ),
    "telegram_update_audio.json": (
        "1111111:1381",
        (
            Audio(
                media("CQACAgIAAxkBAAIBVWc_audio", "audio/mpeg", "song.mp3", 3021000), False, 187.0
            ),
        ),
    ),
    "telegram_update_video.json": (
        "1111111:1382",
        (
            Video(
                media("BAACAgIAAxkBAAIBVmc_video", "video/mp4", "unboxing.mp4", 2400000),
                "Распаковка",
            ),
        ),
    ),
    "telegram_update_video_note.json": (
        "1111111:1383",
        (Video(media("DQACAgIAAxkBAAIBV2c_round", "video/mp4", size=310000)),),
    ),
    "telegram_update_animation.json": (
        "1111111:1384",
        (Video(media("CgACAgIAAxkBAAIBWGc_anim", "video/mp4", "funny.mp4", 120000)),),
    ),
    "telegram_update_sticker.json": (
        "1111111:1385",
        (Sticker(media("CAACAgIAAxkBAAIBWWc_stick", "image/webp", size=22000), "👍"),),
    ),
    "telegram_update_sticker_animated.json": (
        "1111111:1386",
        (Sticker(media("CAACAgIAAxkBAAIBWmc_tgs", "application/x-tgsticker", size=30000), "😂"),),
    ),
    "telegram_update_venue.json": (
        "1111111:1387",
        (Location(55.7601, 37.6187, "Магазин на Тверской", "Тверская ул., 1"),),
    ),
    "telegram_update_contact_other.json": (
        "1111111:1388",
        (ContactCard("Мария", phone="+79990001122", email="maria@example.com"),),
    ),
    "telegram_update_reply_to_bot.json": ("1111111:1389", (Text("Да, этот"),)),
    "telegram_update_edited_photo_caption.json": (
        "1111111:1367:e1735689800",
        (
            Image(
                media("AgACAgIAAxkBAAIBSmc_small", "image/jpeg", size=1346),
                "Вот фото чека (исправлено)",
            ),
        ),
    ),
    "telegram_update_edited_live_location.json": None,  # a live location moving
    "telegram_update_message_reaction.json": (
        "1111111:1374:r734512032",
        (Reaction("👍", "1111111:1374"),),
    ),
    "telegram_update_message_reaction_removed.json": (
        "1111111:1374:r734512033",
        (Reaction("", "1111111:1374"),),
    ),
    "telegram_update_message_reaction_custom.json": (
        "1111111:1374:r734512034",
        (Unsupported("reaction", "The customer reacted with a custom emoji."),),
    ),
    "telegram_update_callback_query_inline_message.json": (
        "cb:4382bfdwdsb323b2e0",
        (ButtonReply("pay:card:43", "pay:card:43"),),
    ),
    "telegram_update_poll.json": ("1111111:1391", (Unsupported("poll", "A poll: Какой цвет?"),)),
    "telegram_update_dice.json": ("1111111:1392", (Unsupported("dice", "A 🎲 throw showing 4."),)),
    "telegram_update_future_content.json": (
        "1111111:1393",
        (Unsupported("hologram", "A Telegram hologram message."),),
    ),
    "telegram_update_text_extra_fields.json": ("1111111:1394", (Text("Привет"),)),
    "telegram_update_from_bot.json": None,  # bots, our own echoes included
    "telegram_update_channel_post.json": None,
    "telegram_update_my_chat_member_blocked.json": None,
    "telegram_update_new_chat_members.json": None,  # a service message
    "telegram_update_group_text.json": (f"{GROUP}:1397", (Text("Есть в наличии?"),)),
    "telegram_update_unknown_update_kind.json": None,
    "telegram_update_photo_album_item.json": (
        "1111111:1398",
        (Image(media("AgACAgIAAxkBAAIBX2c_alb", "image/jpeg", size=55000)),),
    ),
    "telegram_update_forwarded_text.json": ("1111111:1399", (Text("Смотрите, что нашёл"),)),
}


def test_every_recorded_update_has_an_expectation() -> None:
    recorded = {p.name for p in SHARED_FIXTURES.glob("telegram_update_*.json")}
    recorded |= {p.name for p in OWN_FIXTURES.glob("*.json")}
    assert recorded == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_update(name: str) -> None:
    expected = EXPECTED[name]
    messages = convert(load(name))
    if expected is None:
        assert messages == ()
        return
    (message,) = messages
    external_id, parts = expected
    assert message.external_id == external_id
    assert message.parts == parts
    assert message.channel_id == CHANNEL
    assert message.thread_key == (GROUP if name == "telegram_update_group_text.json" else "1111111")
    assert message.sender.external_user_id == "1111111"


def test_sender_and_time_come_from_the_message() -> None:
    message = only(load("telegram_update_text.json"))
    assert message.sender == IVAN
    assert message.sent_at == datetime.fromtimestamp(1735689600, UTC)
    assert message.thread_key == "1111111"
    assert message.reply_to_external_id is None
    assert message.edit_of_external_id is None


def test_a_customer_sharing_their_own_contact_gives_their_phone() -> None:
    assert only(load("telegram_update_contact.json")).sender.phone == "79161234567"
    assert only(load("telegram_update_contact_other.json")).sender.phone == ""


def test_a_reply_points_at_the_quoted_message() -> None:
    message = only(load("telegram_update_reply_to_bot.json"))
    assert message.reply_to_external_id == "1111111:1374"  # what send() returned for ours


def test_an_edit_is_its_own_message_pointing_at_the_original() -> None:
    original = only(load("telegram_update_text.json"))
    edit = only(load("telegram_update_edited_message.json"))
    assert edit.edit_of_external_id == original.external_id
    assert edit.external_id != original.external_id
    assert edit.sent_at == datetime.fromtimestamp(1735689700, UTC)


def test_a_second_edit_gets_another_id() -> None:
    payload = load("telegram_update_edited_message.json")
    payload["edited_message"]["edit_date"] += 60
    first = only(load("telegram_update_edited_message.json"))
    assert only(payload).external_id != first.external_id


def test_a_button_press_names_the_button_and_the_message_it_was_under() -> None:
    message = only(load("telegram_update_callback_query.json"))
    assert message.reply_to_external_id == "1111111:1372"
    assert message.thread_key == "1111111"
    assert message.sender == SenderProfile("1111111", "Иван Петров", "ivan_p")


def test_a_reaction_is_by_the_user_in_the_chat() -> None:
    message = only(load("telegram_update_message_reaction.json"))
    assert message.sender == IVAN
    assert message.thread_key == "1111111"


def test_a_message_without_a_sender_is_not_a_customer_message() -> None:
    payload = load("telegram_update_text.json")
    del payload["message"]["from"]  # "may be empty for messages sent to channels"
    assert convert(payload) == ()


def test_a_group_message_is_answered_in_the_group() -> None:
    message = only(load("telegram_update_group_text.json"))
    assert message.thread_key == GROUP
    assert message.sender.external_user_id == "1111111"


def test_the_same_update_converts_to_the_same_ids() -> None:
    for name, expected in EXPECTED.items():
        if expected is not None:
            assert convert(load(name)) == convert(load(name))


# ------------------------------------------------------------------ the documentation's examples

OFFICIAL = load("telegram_official_guide_examples.json")


@pytest.mark.parametrize(
    ("example", "parts"),
    [
        ("message_text", (Text("/start"),)),
        ("edited_message", (Text("Edited text"),)),
        (
            "voice",
            (Audio(media("AwADBAADbXXXXXXXXXXXGBdhD2l6_XX", "audio/ogg", size=23000), True, 5.0),),
        ),
        (
            "document",
            (
                File(
                    media(
                        "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX", "application/pdf", "Testfile.pdf", 536392
                    )
                ),
            ),
        ),
        (
            "callback_query",
            (ButtonReply("Data from button callback", "Data from button callback"),),
        ),
    ],
)
def test_the_documentations_incomplete_examples_convert(
    example: str, parts: tuple[Part, ...]
) -> None:
    message = only(OFFICIAL[example])
    assert message.parts == parts
    assert message.sender.display_name == "Test Firstname Test Lastname"
    assert message.thread_key == "1111111"


# ------------------------------------------------------------------ content PTB cannot read


def test_a_message_whose_content_ptb_cannot_read_is_kept_as_unsupported() -> None:
    payload = load("telegram_update_poll.json")
    del payload["message"]["poll"]["members_only"]  # required by PTB 22.8 (Bot API 10.0)
    message = only(payload)
    assert message.external_id == "1111111:1391"
    assert message.sender == IVAN
    assert message.parts == (
        Unsupported("poll", "A Telegram poll message this server could not read."),
    )


def test_an_empty_photo_list_is_unsupported_not_a_crash() -> None:
    payload = load("telegram_update_photo.json")
    payload["message"]["photo"] = []
    # PTB serialises an empty size list away, so nothing is left to name it by.
    assert only(payload).parts == (
        Unsupported("empty", "A Telegram message without content we know of."),
    )


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "update",
        {"message": {}},
        {"update_id": "734512001"},
        {"update_id": True},
        {"update_id": 1, "message": {"message_id": 1}},  # no chat, no date
        {"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": 5}},
        {"update_id": 1, "callback_query": {"id": "x"}},  # no from
        {"update_id": 1, "message": {"message_id": 1, "date": 1}},  # no chat
        {"update_id": 1, "message_reaction": {"message_id": 1, "date": 1}},
        {
            "update_id": 1,
            "message": {"message_id": 1, "date": 10**20, "chat": {"id": 1, "type": "private"}},
        },
    ],
)
def test_not_an_update(payload: Any) -> None:
    with pytest.raises(MalformedUpdate):
        parse_update(payload)


def test_the_error_never_quotes_the_payload() -> None:
    with pytest.raises(MalformedUpdate) as caught:
        parse_update({"update_id": 1, "message": {"message_id": "SECRET-TEXT"}})
    assert "SECRET" not in str(caught.value)


def test_the_fixture_helper_strips_annotations() -> None:
    payload = load("telegram_update_voice.json")
    assert "_note" not in payload
    assert "_http_status" not in load("telegram_error_429_flood.json")
