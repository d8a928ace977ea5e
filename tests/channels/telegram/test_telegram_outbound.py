"""Outbound conversion: parts → Bot API calls (pure), checked against the recorded
send request."""

from __future__ import annotations

import pytest

from channels.telegram.outbound import (
    MAX_TEXT,
    BotCall,
    chat_id_of,
    fit_upload,
    keyboard_for,
    plan_calls,
    split_text,
)
from inbox.domain.channel_errors import PermanentFailure
from inbox.domain.content import (
    Audio,
    Button,
    ButtonReply,
    Buttons,
    ContactCard,
    File,
    Image,
    Location,
    MediaRef,
    Part,
    Reaction,
    Sticker,
    Template,
    Text,
    Unsupported,
    Video,
)
from inbox.domain.ids import ChannelId, ConversationId, MessageId
from inbox.domain.messages import OutboundMessage
from tests.channels.telegram.support import load

CHAT = 1111111


def outbound(
    *parts: Part, reply_to: str | None = None, recipient: str = str(CHAT)
) -> OutboundMessage:
    return OutboundMessage(
        message_id=MessageId("m-1"),
        conversation_id=ConversationId("c-1"),
        channel_id=ChannelId("tg-1"),
        recipient=recipient,
        parts=parts,
        reply_to_external_id=reply_to,
    )


def stored(mime: str, filename: str | None = "f.bin") -> MediaRef:
    return MediaRef(mime_type=mime, key="k-" + mime.replace("/", "-"), filename=filename, size=10)


def test_the_payment_link_button_matches_the_recorded_request() -> None:
    recorded = load("telegram_sendMessage_request_payment_url_button.json")
    button = recorded["reply_markup"]["inline_keyboard"][0][0]
    (call,) = plan_calls(
        outbound(Buttons(recorded["text"], (Button(button["text"], "url", url=button["url"]),)))
    )
    assert call.method == "sendMessage"
    assert call.upload is None
    # Plain text on purpose: no parse_mode (an operator's "<" must not break the HTML
    # parser), and link previews stay Telegram's default.
    assert dict(call.params) == {
        "chat_id": recorded["chat_id"],
        "text": recorded["text"],
        "reply_markup": recorded["reply_markup"],
    }


def test_text() -> None:
    assert plan_calls(outbound(Text("Здравствуйте!"))) == [
        BotCall("sendMessage", {"chat_id": CHAT, "text": "Здравствуйте!"})
    ]


def test_reply_buttons_carry_their_payload_as_callback_data() -> None:
    (call,) = plan_calls(
        outbound(
            Buttons(
                "Как оплатить?",
                (Button("Картой", payload="pay:card:42"), Button("Счёт", payload="")),
            )
        )
    )
    assert call.params["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Картой", "callback_data": "pay:card:42"}],
            [{"text": "Счёт", "callback_data": "Счёт"}],  # no payload: the title comes back
        ]
    }
    assert call.params["text"] == "Как оплатить?"


def test_buttons_telegram_cannot_show_are_listed_as_numbered_text() -> None:
    long_payload = "x" * 65  # callback_data is 1-64 bytes
    (call,) = plan_calls(
        outbound(
            Buttons(
                "Выберите",
                (
                    Button("Оплатить", "url", url="https://pay.example/42"),
                    Button("Длинный", payload=long_payload),
                    Button("Почта", "url", url="mailto:shop@example.com"),
                ),
            )
        )
    )
    assert call.params["text"] == "Выберите\n\n1. Длинный\n2. Почта: mailto:shop@example.com"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Оплатить", "url": "https://pay.example/42"}]]
    }


def test_a_payload_of_64_bytes_still_fits() -> None:
    markup, left_out = keyboard_for([Button("Да", payload="я" * 32)])  # 64 bytes of UTF-8
    assert left_out == []
    assert markup is not None


def test_buttons_without_text_get_a_stand_in() -> None:
    (call,) = plan_calls(outbound(Buttons("", (Button("Да", payload="yes"),))))
    assert call.params["text"].strip()


def test_adjacent_text_like_parts_share_a_message_and_order_holds() -> None:
    calls = plan_calls(
        outbound(
            Text("Вот чек:"),
            Image(stored("image/jpeg", "check.jpg"), "Чек"),
            Text("Спасибо!"),
            Unsupported("poll", "A poll"),
            Template("order_ready", "ru", ("42",)),
        )
    )
    assert [c.method for c in calls] == ["sendMessage", "sendPhoto", "sendMessage"]
    assert calls[2].params["text"] == ("Спасибо!\n[unsupported: poll]\n[template order_ready: 42]")


@pytest.mark.parametrize(
    ("part", "method"),
    [
        (Image(stored("image/jpeg")), "sendPhoto"),
        (Image(stored("image/png")), "sendPhoto"),
        (Image(stored("image/svg+xml")), "sendDocument"),  # Telegram cannot show it
        (File(stored("application/pdf")), "sendDocument"),
        (Audio(stored("audio/ogg"), voice=True), "sendVoice"),
        (Audio(stored("audio/wav"), voice=True), "sendDocument"),
        (Audio(stored("audio/mpeg")), "sendAudio"),
        (Video(stored("video/mp4")), "sendVideo"),
        (Video(stored("video/quicktime")), "sendDocument"),
    ],
)
def test_attachments_are_uploads(part: Part, method: str) -> None:
    (call,) = plan_calls(outbound(part))
    assert call.method == method
    assert call.upload is not None
    assert call.upload.key is not None
    # The file goes as multipart bytes (UPLOAD_FIELD), never as a URL in the params.
    assert not {"photo", "document", "audio", "voice", "video"} & set(call.params)


def test_captions_over_1024_characters_follow_the_file_as_text() -> None:
    caption = "Ч" * 1500
    calls = plan_calls(outbound(Image(stored("image/jpeg"), caption)))
    assert [c.method for c in calls] == ["sendPhoto", "sendMessage"]
    assert "caption" not in calls[0].params
    assert calls[1].params["text"] == caption


def test_an_attachment_not_in_our_store_fails_for_good() -> None:
    ref = MediaRef("image/jpeg", key=None, provider_ref="https://example.com/a.jpg")
    with pytest.raises(PermanentFailure, match="file store"):
        plan_calls(outbound(Image(ref)))


def test_an_empty_message_fails_for_good() -> None:
    with pytest.raises(PermanentFailure, match="empty"):
        plan_calls(outbound(Text("   ")))


def test_location_venue_and_contact_are_native() -> None:
    calls = plan_calls(
        outbound(
            Location(55.75, 37.61),
            Location(55.76, 37.62, "Магазин", "Тверская, 1"),
            ContactCard("Мария Иванова", phone="+79990001122"),
            ContactCard("Без телефона", email="a@example.com"),
        )
    )
    assert calls == [
        BotCall("sendLocation", {"chat_id": CHAT, "latitude": 55.75, "longitude": 37.61}),
        BotCall(
            "sendVenue",
            {
                "chat_id": CHAT,
                "latitude": 55.76,
                "longitude": 37.62,
                "title": "Магазин",
                "address": "Тверская, 1",
            },
        ),
        BotCall(
            "sendContact",
            {
                "chat_id": CHAT,
                "phone_number": "+79990001122",
                "first_name": "Мария",
                "last_name": "Иванова",
            },
        ),
        BotCall("sendMessage", {"chat_id": CHAT, "text": "Без телефона a@example.com"}),
    ]


def test_parts_without_a_telegram_form_go_as_text() -> None:
    (call,) = plan_calls(
        outbound(Sticker(stored("image/webp"), "👍"), ButtonReply("Yes", "yes"), Reaction("❤"))
    )
    assert call.params["text"] == "[sticker 👍]\nYes\n[reaction ❤]"


def test_a_quoted_message_of_this_chat_is_replied_to_on_the_first_call() -> None:
    calls = plan_calls(outbound(Image(stored("image/jpeg")), Text("Вот"), reply_to=f"{CHAT}:1389"))
    assert calls[0].params["reply_parameters"] == {
        "message_id": 1389,
        "allow_sending_without_reply": True,  # a deleted original must not fail the send
    }
    assert "reply_parameters" not in calls[1].params


@pytest.mark.parametrize("reply_to", ["cb:4382bf", "999:1389", f"{CHAT}:x", "", f"{CHAT}:1365:e1"])
def test_other_quotes_are_ignored_or_parsed(reply_to: str) -> None:
    (call,) = plan_calls(outbound(Text("ok"), reply_to=reply_to))
    expected = {"message_id": 1365, "allow_sending_without_reply": True}
    if reply_to.endswith(":e1"):  # an edit's id still names the message
        assert call.params["reply_parameters"] == expected
    else:
        assert "reply_parameters" not in call.params


def test_long_text_is_split_at_line_breaks_within_4096_utf16_units() -> None:
    paragraph = ("Строка текста. " * 20).strip()
    text = "\n".join([paragraph] * 40)  # ~12 000 characters
    calls = plan_calls(outbound(Text(text)))
    assert len(calls) == 4  # 13 lines of 300 characters fit in 4096
    pieces = [str(c.params["text"]) for c in calls]
    assert all(len(p.encode("utf-16-le")) // 2 <= MAX_TEXT for p in pieces)
    assert all(p.endswith(".") for p in pieces)  # broken at a line end, not mid-word
    assert "\n".join(pieces) == text


def test_split_counts_utf16_units_and_never_splits_a_surrogate_pair() -> None:
    text = "😀" * 3000  # 6000 UTF-16 units, no spaces
    pieces = split_text(text, MAX_TEXT)
    assert [len(p) for p in pieces] == [2048, 952]
    assert "".join(pieces) == text


def test_a_long_button_text_keeps_the_keyboard_under_the_last_piece() -> None:
    calls = plan_calls(outbound(Buttons("слово " * 1000, (Button("Да", payload="y"),))))
    assert len(calls) == 2
    assert "reply_markup" not in calls[0].params
    assert "reply_markup" in calls[1].params


def test_uploads_that_are_too_big() -> None:
    photo = BotCall("sendPhoto", {"chat_id": CHAT}, upload=stored("image/jpeg"))
    assert fit_upload(photo, 1024).method == "sendPhoto"
    assert fit_upload(photo, 11 * 1024 * 1024).method == "sendDocument"
    with pytest.raises(PermanentFailure, match="50 MB"):
        fit_upload(photo, 51 * 1024 * 1024)


def test_chat_ids() -> None:
    assert chat_id_of("1111111") == 1111111
    assert chat_id_of("-1001987654321") == -1001987654321
    assert chat_id_of("@shop_channel") == "@shop_channel"
