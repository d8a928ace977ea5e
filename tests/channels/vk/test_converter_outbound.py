"""Outbound planning: parts → ``messages.send`` calls, against the recorded send request."""

from __future__ import annotations

import json
from typing import Any

import pytest

from channels.vk.converter import build_sends, keyboard_json, random_id_for, send_params
from channels.vk.outbound import MAX_TEXT_CHARS, SendPlan, Upload, VkSend, split_text
from inbox.domain.channel_errors import PermanentFailure
from inbox.domain.content import (
    Audio,
    Button,
    Buttons,
    ContactCard,
    File,
    Image,
    Location,
    MediaRef,
    Part,
    Sticker,
    Template,
    Text,
    Unsupported,
    Video,
)
from inbox.domain.ids import ChannelId, ConversationId, MessageId
from inbox.domain.messages import OutboundMessage
from tests.channels.vk.conftest import shared

PEER = 326596496


def outbound(
    *parts: Part, recipient: str = str(PEER), reply_to: str | None = None
) -> OutboundMessage:
    return OutboundMessage(
        message_id=MessageId("m-0001"),
        conversation_id=ConversationId("c-1"),
        channel_id=ChannelId("ch-vk-1"),
        recipient=recipient,
        parts=parts,
        reply_to_external_id=reply_to,
    )


def media(mime: str, key: str | None = "k" * 32, filename: str | None = None) -> MediaRef:
    return MediaRef(mime_type=mime, key=key, filename=filename)


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def test_payment_link_matches_the_recorded_request() -> None:
    recorded = shared("vk_api_messages_send_request.json")
    button = Button(
        "Оплатить 990 ₽",
        "url",
        url=json.loads(recorded["keyboard"])["buttons"][0][0]["action"]["link"],
    )
    plan = build_sends(outbound(Buttons("Ссылка на оплату заказа 42", (button,))))
    (send,) = plan.sends
    params = send_params(plan, send, ["doc326596496_671234567_b1c2d3e4f5"])
    assert params["message"] == recorded["message"]
    assert params["attachment"] == recorded["attachment"]
    assert json.loads(params["keyboard"]) == _drop_nulls(json.loads(recorded["keyboard"]))
    # peer_ids (not peer_id): VK then answers with the conversation_message_id.
    assert params["peer_ids"] == str(recorded["peer_id"])
    assert int(params["random_id"]) == random_id_for("m-0001")
    assert "access_token" not in params  # the client adds it, in the POST body


def test_random_id_is_deterministic_nonzero_int32() -> None:
    ids = {random_id_for(f"msg-{n}") for n in range(2000)}
    assert len(ids) == 2000
    assert all(0 < i < 2**31 for i in ids)
    assert random_id_for("m-0001") == random_id_for("m-0001")
    plan_a, plan_b = build_sends(outbound(Text("hi"))), build_sends(outbound(Text("hi")))
    assert plan_a == plan_b  # a retry sends the very same random_id


def test_text_only() -> None:
    plan = build_sends(outbound(Text("Hello")))
    assert plan == SendPlan(PEER, (VkSend(random_id=random_id_for("m-0001"), text="Hello"),))
    assert send_params(plan, plan.sends[0], []) == {
        "peer_ids": str(PEER),
        "random_id": str(random_id_for("m-0001")),
        "message": "Hello",
    }


def test_url_and_reply_buttons_render_natively() -> None:
    buttons = Buttons(
        "Pay or confirm",
        (
            Button("Pay", "url", url="https://pay.example/42"),
            Button("Yes", "reply", payload="yes"),
            Button("No", "reply"),
        ),
    )
    keyboard = json.loads(keyboard_json(buttons.buttons))
    assert keyboard == {
        "one_time": False,
        "inline": True,
        "buttons": [
            [{"action": {"type": "open_link", "link": "https://pay.example/42", "label": "Pay"}}],
            [{"action": {"type": "text", "label": "Yes", "payload": '{"button": "yes"}'}}],
            [{"action": {"type": "text", "label": "No", "payload": '{"button": "No"}'}}],
        ],
    }
    (send,) = build_sends(outbound(buttons)).sends
    assert send.text == "Pay or confirm"
    assert send.keyboard == keyboard_json(buttons.buttons)


def test_more_buttons_than_an_inline_keyboard_holds_fall_back_to_numbered_text() -> None:
    many = tuple(Button(f"B{n}", "url", url=f"https://x.example/{n}") for n in range(1, 13))
    (send,) = build_sends(outbound(Buttons("Pick one", many))).sends
    assert send.keyboard is not None
    rows = json.loads(send.keyboard)["buttons"]
    assert sum(len(r) for r in rows) == 10
    assert len(rows) <= 6
    assert send.text == "Pick one\n11. B11 https://x.example/11\n12. B12 https://x.example/12"


def test_buttons_without_text_still_send_a_text() -> None:
    (send,) = build_sends(outbound(Buttons("", (Button("Yes"), Button("No"))))).sends
    assert send.text == "1. Yes\n2. No"
    assert send.keyboard is not None


def test_too_long_reply_payload_is_left_out() -> None:
    keyboard = json.loads(keyboard_json((Button("Go", "reply", payload="x" * 300),)))
    assert keyboard["buttons"][0][0]["action"] == {"type": "text", "label": "Go"}


def test_attachments_are_uploaded_by_kind() -> None:
    parts: tuple[Part, ...] = (
        Text("Here you go"),
        Image(media("image/png", filename="a.png"), caption="the photo"),
        Image(media("image/webp")),
        File(media("application/pdf", filename="invoice.pdf")),
        Audio(media("audio/ogg"), voice=True),
        Audio(media("audio/mpeg")),
        Video(media("video/mp4")),
        Sticker(media("image/png")),
    )
    (send,) = build_sends(outbound(*parts)).sends
    assert [u.kind for u in send.uploads] == [
        "photo",
        "doc",  # webp is not taken by the photo upload server
        "doc",
        "audio_message",
        "doc",
        "doc",  # a community cannot upload a video to a message
        "photo",
    ]
    assert send.text == "Here you go\nthe photo"


def test_media_we_hold_no_bytes_of_is_never_sent_as_a_url() -> None:
    part = Image(MediaRef("image/jpeg", provider_ref="https://sun9-1.userapi.com/x.jpg"))
    (send,) = build_sends(outbound(part)).sends
    assert send.uploads == ()
    assert send.text == "[image]"
    assert "userapi" not in send.text


def test_eleven_attachments_make_two_messages() -> None:
    parts = tuple(Image(media("image/jpeg")) for _ in range(11))
    plan = build_sends(outbound(*parts))
    assert [len(s.uploads) for s in plan.sends] == [10, 1]
    assert plan.sends[0].random_id == random_id_for("m-0001")
    assert plan.sends[1].random_id == random_id_for("m-0001:1")


def test_long_text_is_split_and_the_keyboard_rides_on_the_last_piece() -> None:
    text = ("word " * 2000).strip()  # ~10 000 characters
    plan = build_sends(outbound(Buttons(text, (Button("OK"),))))
    assert len(plan.sends) == 3
    assert all(len(s.text) <= MAX_TEXT_CHARS for s in plan.sends)
    assert " ".join(s.text for s in plan.sends) == text
    assert [s.keyboard is not None for s in plan.sends] == [False, False, True]
    assert len({s.random_id for s in plan.sends}) == 3


def test_split_text_prefers_line_breaks() -> None:
    assert split_text("aaaa\nbbbb", limit=6) == ["aaaa", "bbbb"]
    assert split_text("abcdefghij", limit=4) == ["abcd", "efgh", "ij"]
    assert split_text("") == []


def test_location_and_unrepresentable_parts() -> None:
    plan = build_sends(
        outbound(
            Location(55.75, 37.61, name="Shop"),
            ContactCard("Anna", phone="+7 900 000-00-00"),
            Template("order_ready", "ru", ("42",)),
            Unsupported("gift", "A VK gift."),
        )
    )
    (send,) = plan.sends
    assert send.location == (55.75, 37.61)
    assert send.text == (
        "[location Shop 55.75000,37.61000]\n[contact Anna +7 900 000-00-00]\n"
        "[template order_ready: 42]\n[unsupported: gift]"
    )
    params = send_params(plan, send, [])
    assert (params["lat"], params["long"]) == ("55.750000", "37.610000")


def test_two_keyboards_make_two_messages() -> None:
    plan = build_sends(outbound(Buttons("A", (Button("1"),)), Buttons("B", (Button("2"),))))
    assert [s.text for s in plan.sends] == ["A", "B"]
    assert all(s.keyboard for s in plan.sends)


def test_reply_to_a_customer_message_uses_forward_with_is_reply() -> None:
    plan = build_sends(outbound(Text("Yes"), reply_to=f"{PEER}:295"))
    params = send_params(plan, plan.sends[0], [])
    assert json.loads(params["forward"]) == {
        "peer_id": PEER,
        "conversation_message_ids": [295],
        "is_reply": True,
    }
    # An edit's or a reaction's id cannot be quoted: no forward then.
    plan = build_sends(outbound(Text("Yes"), reply_to=f"{PEER}:295:edit:1"))
    assert "forward" not in send_params(plan, plan.sends[0], [])


def test_group_chat_recipient() -> None:
    plan = build_sends(outbound(Text("Hi all"), recipient="2000000001"))
    assert send_params(plan, plan.sends[0], [])["peer_ids"] == "2000000001"


@pytest.mark.parametrize("recipient", ["", "user@example.com", "abc"])
def test_a_recipient_that_is_no_peer_id_fails_for_good(recipient: str) -> None:
    with pytest.raises(PermanentFailure):
        build_sends(outbound(Text("x"), recipient=recipient))


def test_nothing_to_send_fails_for_good() -> None:
    with pytest.raises(PermanentFailure, match="empty"):
        build_sends(outbound())


def test_upload_dataclass() -> None:
    ref = media("image/jpeg")
    assert Upload("photo", ref).media is ref
