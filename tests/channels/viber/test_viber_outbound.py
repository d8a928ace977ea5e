"""Core types → Viber ``send_message`` bodies, against recorded request shapes."""

from __future__ import annotations

import json

import pytest

from channels.viber.converter import (
    MAX_TEXT_CHARS,
    TRACKING_KEY,
    Unsendable,
    build_requests,
    convert_callback,
)
from inbox.domain.content import (
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
from tests.channels.viber.helpers import load

CUSTOMER = "QTqiwE4M9hQ2WLnGKMaMKw=="


def outbound(*parts: Part, author: str = "Iryna") -> OutboundMessage:
    return OutboundMessage(
        message_id=MessageId("m1"),
        conversation_id=ConversationId("c1"),
        channel_id=ChannelId("ch-viber-1"),
        recipient=CUSTOMER,
        parts=parts,
        author_name=author,
    )


def test_text_matches_the_recorded_request() -> None:
    bodies = build_requests(outbound(Text("Так, 42 є в наявності.")), sender_name="Iryna")
    assert bodies == [load("request_send_message_text.json")]


def test_url_and_reply_buttons_become_a_native_keyboard() -> None:
    buttons = Buttons(
        "Оплатіть замовлення",
        (
            Button("Pay", "url", url="https://pay.example.com/o/4411"),
            Button("Yes", "reply", payload="yes"),
        ),
    )
    assert build_requests(outbound(buttons), sender_name="Iryna") == [
        load("request_send_message_keyboard.json")
    ]


def test_a_press_on_a_keyboard_we_sent_comes_back_as_that_button() -> None:
    buttons = Buttons("Size?", (Button("Size 42", "reply", payload="s42"),))
    (body,) = build_requests(outbound(buttons), sender_name="Shop")
    press = {
        "event": "message",
        "message_token": 1,
        "sender": {"id": CUSTOMER},
        "message": {
            "type": "text",
            "text": body["keyboard"]["Buttons"][0]["ActionBody"],
            "tracking_data": body["tracking_data"],
        },
    }
    (message,) = convert_callback(ChannelId("ch"), press).messages
    assert message.parts == (ButtonReply("Size 42", "s42"),)


def test_url_buttons_only_send_no_tracking_data() -> None:
    buttons = Buttons("Track it", (Button("Track", "url", url="https://t.example.com/1"),))
    (body,) = build_requests(outbound(buttons), sender_name="Shop")
    assert "tracking_data" not in body
    assert body["keyboard"]["Buttons"][0]["ActionType"] == "open-url"


def test_buttons_without_text_are_listed_in_the_text() -> None:
    buttons = Buttons("", (Button("Yes", "reply", payload="y"), Button("No", "reply", payload="n")))
    (body,) = build_requests(outbound(buttons), sender_name="Shop")
    assert body["text"] == "1. Yes\n2. No"
    assert len(body["keyboard"]["Buttons"]) == 2


def test_buttons_beyond_the_keyboard_limit_fall_back_to_numbered_text() -> None:
    many = tuple(Button(f"B{n}", "reply", payload=f"p{n}") for n in range(1, 27))
    many += (Button("Site", "url", url="https://shop.example.com"),)
    (body,) = build_requests(outbound(Buttons("Pick one", many)), sender_name="Shop")
    assert len(body["keyboard"]["Buttons"]) == 24
    assert body["text"].splitlines() == [
        "Pick one",
        "25. B25",
        "26. B26",
        "27. Site https://shop.example.com",
    ]


def test_sender_name_is_cut_to_28_characters() -> None:
    (body,) = build_requests(outbound(Text("hi")), sender_name="A" * 40)
    assert body["sender"] == {"name": "A" * 28}


def test_long_text_is_split_and_the_keyboard_goes_on_the_last_part() -> None:
    text = "x" * (MAX_TEXT_CHARS + 10)
    bodies = build_requests(
        outbound(Buttons(text, (Button("OK", "reply", payload="ok"),))), sender_name="Shop"
    )
    assert [len(b["text"]) for b in bodies] == [MAX_TEXT_CHARS, 10]
    assert "keyboard" not in bodies[0]
    assert "keyboard" in bodies[1]
    assert json.loads(bodies[1]["tracking_data"]) == {TRACKING_KEY: {"ok": "OK"}}


def test_attachments_without_a_public_url_are_named_in_the_text() -> None:
    image = Image(MediaRef("image/png", key="a" * 32, filename="receipt.png"), caption="Receipt")
    doc = File(MediaRef("application/pdf", key="b" * 32, filename="invoice.pdf"))
    (body,) = build_requests(outbound(Text("Here you go"), image, doc), sender_name="Shop")
    assert body["type"] == "text"
    assert (
        body["text"] == "Here you go\nReceipt\n[attachment: receipt.png]\n[attachment: invoice.pdf]"
    )
    assert "media" not in json.dumps(body)


def test_attachments_with_a_public_url_go_natively_before_the_text() -> None:
    image = Image(MediaRef("image/png", key="a" * 32, filename="r.png"), caption="Receipt")
    doc = File(MediaRef("application/pdf", key="b" * 32, filename="invoice.pdf", size=1234))
    video = Video(MediaRef("video/mp4", key="c" * 32, filename="v.mp4", size=99))

    def public(ref: MediaRef) -> str:
        return f"https://inbox.example.com/media/{ref.key}"

    bodies = build_requests(
        outbound(image, doc, video, Text("See above")), sender_name="Shop", media_url=public
    )
    assert [b["type"] for b in bodies] == ["picture", "file", "video", "text"]
    assert bodies[0]["media"] == f"https://inbox.example.com/media/{'a' * 32}"
    assert bodies[0]["text"] == "Receipt"
    assert bodies[1]["file_name"] == "invoice.pdf"
    assert bodies[1]["size"] == 1234
    assert bodies[2]["size"] == 99


def test_location_and_contact_match_the_recorded_requests() -> None:
    bodies = build_requests(
        outbound(
            Location(50.450001, 30.523333), ContactCard("Shop hotline", phone="+380441234567")
        ),
        sender_name="Shoe Shop",
    )
    assert bodies == [
        load("request_send_message_location.json"),
        load("request_send_message_contact.json"),
    ]


def test_sticker_by_viber_id_is_sent_as_a_sticker() -> None:
    (body,) = build_requests(
        outbound(Sticker(MediaRef("image/png", provider_ref="viber-sticker:40133"))),
        sender_name="Shop",
    )
    assert body["type"] == "sticker"
    assert body["sticker_id"] == 40133


def test_template_is_sent_as_its_text() -> None:
    (body,) = build_requests(outbound(Template("order_ready", "uk", ("4411",))), sender_name="S")
    assert body == {**body, "type": "text", "text": "[template order_ready: 4411]"}


@pytest.mark.parametrize(
    ("part", "reason"),
    [
        (Reaction("👍", "123"), "Viber bots cannot send reactions."),
        (Unsupported("poll"), "This message cannot be sent on Viber (poll)."),
    ],
)
def test_what_viber_cannot_express_is_refused_with_a_reason(part: Part, reason: str) -> None:
    with pytest.raises(Unsendable) as caught:
        build_requests(outbound(part), sender_name="Shop")
    assert caught.value.reason == reason


def test_an_empty_message_is_refused() -> None:
    with pytest.raises(Unsendable):
        build_requests(outbound(Text("   ")), sender_name="Shop")
