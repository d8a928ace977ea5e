"""Outbound parts → Cloud API request JSON, checked against the recorded send requests."""

from __future__ import annotations

from typing import Any

import pytest

from channels.whatsapp.converter import plan_messages, render_buttons, split_text
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
    Reaction,
    Sticker,
    Template,
    Text,
    Video,
)
from tests.channels.whatsapp.support import CUSTOMER, shared


def _without_default_preview(payload: dict[str, Any]) -> dict[str, Any]:
    """``preview_url: false`` is Graph's default: some recorded requests leave it out."""
    copy = {**payload}
    if isinstance(copy.get("text"), dict):
        copy["text"] = {k: v for k, v in copy["text"].items() if (k, v) != ("preview_url", False)}
    return copy


def only_payload(parts: tuple[Any, ...], reply_to: str | None = None) -> dict[str, Any]:
    [send] = plan_messages(CUSTOMER, parts, reply_to)
    assert send.upload is None
    return send.payload


# --------------------------------------------------------------------------- recorded requests


def test_text_matches_the_recorded_request() -> None:
    expected = shared("whatsapp_send_text_request.json")
    text = expected["text"]["body"]
    assert only_payload((Text(text),)) == expected


def test_reply_context_matches_the_recorded_request() -> None:
    expected = shared("whatsapp_send_text_reply_context_request.json")
    payload = only_payload((Text(expected["text"]["body"]),), reply_to="wamid.xyzxyz")
    assert _without_default_preview(payload) == _without_default_preview(expected)


def test_reply_buttons_match_the_recorded_request() -> None:
    expected = shared("whatsapp_send_interactive_buttons_request.json")
    part = Buttons(
        "Как удобнее оплатить?",
        (Button("Картой", payload="pay:card:42"), Button("СБП", payload="pay:sbp:42")),
    )
    assert only_payload((part,)) == expected


def test_url_button_matches_the_recorded_cta_url_request() -> None:
    expected = shared("whatsapp_send_interactive_cta_url_request.json")
    url = expected["interactive"]["action"]["parameters"]["url"]
    part = Buttons("Сумма к оплате: 990 ₽", (Button("Оплатить", "url", url=url),))
    payload = only_payload((part,))
    # Our Buttons part has no header or footer: everything else is the recorded request.
    expected_interactive = {
        k: v for k, v in expected["interactive"].items() if k not in ("header", "footer")
    }
    assert payload == {**expected, "interactive": expected_interactive}


def test_template_matches_the_recorded_body_parameters() -> None:
    expected = shared("whatsapp_send_template_request.json")
    payload = only_payload((Template("payment_link_v1", "ru", ("42", "990 ₽")),))
    # Template carries body parameters only (no URL-button parameter): compare the rest.
    body_only = [c for c in expected["template"]["components"] if c["type"] == "body"]
    assert payload == {**expected, "template": {**expected["template"], "components": body_only}}


def test_template_without_parameters_has_no_components() -> None:
    payload = only_payload((Template("hello_world", "en_US"),))
    assert payload["template"] == {"name": "hello_world", "language": {"code": "en_US"}}


# --------------------------------------------------------------------------- buttons


def test_one_url_button_and_reply_buttons_keep_the_url_native() -> None:
    part = Buttons(
        "Your order",
        (
            Button("Pay", "url", url="https://pay.example/42"),
            Button("Yes", payload="yes"),
            Button("Docs", "url", url="https://docs.example"),
        ),
    )
    [body] = render_buttons(part)
    interactive = body["interactive"]
    assert interactive["type"] == "cta_url"
    assert interactive["action"]["parameters"] == {
        "display_text": "Pay",
        "url": "https://pay.example/42",
    }
    # WhatsApp allows one cta_url per message: the others become numbered lines.
    assert interactive["body"]["text"] == "Your order\n\n1. Yes\n2. Docs https://docs.example"


def test_more_than_three_reply_buttons_fall_back_to_numbered_text() -> None:
    part = Buttons("Pick one", tuple(Button(f"Option {n}", payload=f"o{n}") for n in range(1, 5)))
    assert render_buttons(part) == [
        {
            "type": "text",
            "text": {
                "preview_url": False,
                "body": "Pick one\n\n1. Option 1\n2. Option 2\n3. Option 3\n4. Option 4",
            },
        }
    ]


def test_long_button_titles_are_shortened_and_payload_kept() -> None:
    part = Buttons("?", (Button("A very long button title indeed", payload="long"),))
    [body] = render_buttons(part)
    [button] = body["interactive"]["action"]["buttons"]
    assert button["reply"] == {"id": "long", "title": "A very long button…"}
    assert len(button["reply"]["title"]) <= 20


def test_reply_button_payload_defaults_to_the_title() -> None:
    [body] = render_buttons(Buttons("?", (Button("Yes"),)))
    assert body["interactive"]["action"]["buttons"][0]["reply"]["id"] == "Yes"


def test_text_before_buttons_becomes_their_body() -> None:
    payload = only_payload((Text("Hello"), Buttons("Pay now?", (Button("Yes"),))))
    assert payload["interactive"]["body"]["text"] == "Hello\n\nPay now?"


def test_an_overlong_body_falls_back_to_text() -> None:
    part = Buttons("x" * 1100, (Button("Pay", "url", url="https://pay.example"),))
    [body] = render_buttons(part)
    assert body["type"] == "text"
    assert body["text"]["body"].endswith("1. Pay https://pay.example")


# --------------------------------------------------------------------------- other parts


def test_adjacent_texts_are_joined_and_long_text_split() -> None:
    sends = plan_messages(CUSTOMER, (Text("a"), Text("b")))
    assert [s.payload["text"]["body"] for s in sends] == ["a\nb"]
    long = ("word " * 2000).strip()
    pieces = split_text(long)
    assert all(len(p) <= 4096 for p in pieces)
    assert " ".join(pieces) == long


def test_reply_context_goes_on_the_first_request_only() -> None:
    ref = MediaRef("image/png", key="k" * 32, size=10)
    sends = plan_messages(CUSTOMER, (Text("a"), Location(1.0, 2.0), Image(ref)), "wamid.q")
    assert [s.payload.get("context") for s in sends] == [{"message_id": "wamid.q"}, None, None]


def test_location_contact_and_reaction() -> None:
    sends = plan_messages(
        CUSTOMER,
        (
            Location(55.75, 37.61, "Shop", "Main st. 1"),
            ContactCard("Support", "+7 900 000-00-00", "help@example.com"),
            Reaction("👍", "wamid.c1"),
        ),
    )
    assert [s.payload["type"] for s in sends] == ["location", "contacts", "reaction"]
    assert sends[0].payload["location"] == {
        "latitude": 55.75,
        "longitude": 37.61,
        "name": "Shop",
        "address": "Main st. 1",
    }
    assert sends[1].payload["contacts"] == [
        {
            "name": {"formatted_name": "Support", "first_name": "Support"},
            "phones": [{"phone": "+7 900 000-00-00"}],
            "emails": [{"email": "help@example.com"}],
        }
    ]
    assert sends[2].payload["reaction"] == {"message_id": "wamid.c1", "emoji": "👍"}


def test_parts_without_a_whatsapp_form_go_as_text() -> None:
    payload = only_payload((ButtonReply("Yes", "yes"),))
    assert payload["text"]["body"] == "Yes"


def test_group_thread_key_addresses_the_group() -> None:
    [send] = plan_messages("group:12036304", (Text("hi"),))
    assert (send.payload["recipient_type"], send.payload["to"]) == ("group", "12036304")


# --------------------------------------------------------------------------- attachments


def _ref(mime: str, size: int = 1000, filename: str | None = None) -> MediaRef:
    return MediaRef(mime, key="a" * 32, filename=filename, size=size)


@pytest.mark.parametrize(
    ("part", "kind"),
    [
        (Image(_ref("image/jpeg")), "image"),
        (Image(_ref("image/gif")), "document"),
        (Image(_ref("image/png", size=6 * 1024 * 1024)), "document"),
        (Video(_ref("video/mp4")), "video"),
        (Video(_ref("video/quicktime")), "document"),
        (Audio(_ref("audio/ogg; codecs=opus"), voice=True), "audio"),
        (Audio(_ref("audio/flac")), "document"),
        (Sticker(_ref("image/webp")), "sticker"),
        (File(_ref("application/pdf", filename="bill.pdf")), "document"),
    ],
)
def test_attachments_are_uploaded_as_a_type_whatsapp_accepts(part: Any, kind: str) -> None:
    [send] = plan_messages(CUSTOMER, (part,))
    assert send.upload == part.media
    assert send.payload["type"] == kind
    assert "link" not in send.payload[kind]
    assert send.with_media_id("555")[kind]["id"] == "555"


def test_text_above_a_file_becomes_its_caption() -> None:
    [send] = plan_messages(CUSTOMER, (Text("Your bill"), File(_ref("application/pdf"))))
    assert send.payload["document"] == {"filename": "file", "caption": "Your bill"}


def test_an_attachment_without_a_stored_file_fails_permanently() -> None:
    with pytest.raises(PermanentFailure):
        plan_messages(CUSTOMER, (Image(MediaRef("image/png", provider_ref="x")),))


def test_a_file_over_100_mb_fails_permanently() -> None:
    with pytest.raises(PermanentFailure, match="100 MB"):
        plan_messages(CUSTOMER, (File(_ref("application/zip", size=101 * 1024 * 1024)),))
