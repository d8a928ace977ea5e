"""Webhook JSON → messages and statuses, over every recorded payload (shared and ours)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from channels.whatsapp.converter import ParsedWebhook, WebhookShapeError, parse_webhook
from channels.whatsapp.errors import REENGAGEMENT_REASON
from inbox.domain.channel_io import StatusUpdate
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
from inbox.domain.messages import DeliveryStatus, SenderProfile
from tests.channels.whatsapp.support import (
    CUSTOMER,
    PHONE_NUMBER_ID,
    load,
    own,
    shared,
    shared_inbound_fixtures,
)

CHANNEL = ChannelId("ch-1")
CUSTOMER_PROFILE = SenderProfile(CUSTOMER, display_name="Test Name", phone=CUSTOMER)


def parse(payload: Any) -> ParsedWebhook:
    return parse_webhook(payload, CHANNEL, phone_number_id=PHONE_NUMBER_ID)


def one_message_parts(payload: Any) -> tuple[Part, ...]:
    parsed = parse(payload)
    assert len(parsed.messages) == 1, parsed
    assert parsed.statuses == ()
    return parsed.messages[0].parts


# --------------------------------------------------------------------------- shared fixtures

#: What each shared inbound fixture must become: parts of its one message, or statuses.
SHARED_MESSAGES: dict[str, tuple[Part, ...]] = {
    "whatsapp_webhook_interactive_button_reply.json": (ButtonReply("title", "callback_data"),),
    "whatsapp_webhook_interactive_list_reply.json": (ButtonReply("title", "callback_data"),),
    "whatsapp_webhook_message_audio.json": (
        Audio(MediaRef("audio/ogg; codecs=opus", provider_ref="1234567890987654321")),
    ),
    "whatsapp_webhook_message_voice.json": (
        Audio(MediaRef("audio/ogg; codecs=opus", provider_ref="1234567890987654321"), voice=True),
    ),
    "whatsapp_webhook_message_contacts.json": (
        ContactCard("Chandler Bing", "+1 555-555-5555"),
        ContactCard("Monica", "+1 666-666-6666"),
        ContactCard("Rachel Green", "+1 777-777-7777"),
    ),
    "whatsapp_webhook_message_current_location.json": (Location(12.25089, 43.90539),),
    "whatsapp_webhook_message_document.json": (
        File(
            MediaRef(
                "application/pdf", provider_ref="1234567890987654321", filename="filename.pdf"
            ),
            "caption",
        ),
    ),
    "whatsapp_webhook_message_image.json": (
        Image(MediaRef("image/jpeg", provider_ref="65463453")),
    ),
    "whatsapp_webhook_message_referral.json": (
        Text("BODY"),
        Unsupported("referral", "The customer came from an ad: AD_TITLE — AD_OR_POST_FB_URL"),
    ),
    "whatsapp_webhook_message_reply.json": (Text("replied text"),),
    "whatsapp_webhook_message_text.json": (Text("Body Text"),),
    "whatsapp_webhook_message_unreaction_empty.json": (Reaction("", "wamid.yzxyzx="),),
    "whatsapp_webhook_template_quick_reply_button.json": (ButtonReply("title", "callback_data"),),
}

SHARED_STATUSES: dict[str, StatusUpdate] = {
    "whatsapp_webhook_status_sent.json": StatusUpdate("wamid.xyzxyz", DeliveryStatus.SENT),
    "whatsapp_webhook_status_delivered.json": StatusUpdate(
        "wamid.xyzxyz", DeliveryStatus.DELIVERED
    ),
    "whatsapp_webhook_status_read.json": StatusUpdate("wamid.xyzxyz", DeliveryStatus.READ),
    "whatsapp_webhook_status_failed.json": StatusUpdate(
        "wamid.xyzxyz",
        DeliveryStatus.FAILED,
        "The customer's number is part of a Meta experiment and did not get the message.",
    ),
}

SHARED_REPLY_TO = {
    "whatsapp_webhook_interactive_button_reply.json": "wamid.xyzxyz",
    "whatsapp_webhook_interactive_list_reply.json": "wamid.xyzxyz",
    "whatsapp_webhook_message_reply.json": "wamid.xyzxyz==",
    "whatsapp_webhook_template_quick_reply_button.json": "wamid.xyzxyz==",
}


def test_every_shared_inbound_fixture_has_an_expectation() -> None:
    names = {p.name for p in shared_inbound_fixtures()}
    assert names == set(SHARED_MESSAGES) | set(SHARED_STATUSES)


@pytest.mark.parametrize("path", shared_inbound_fixtures(), ids=lambda p: p.stem)
def test_shared_fixture(path: Path) -> None:
    parsed = parse(load(path))
    if path.name in SHARED_STATUSES:
        assert parsed.messages == ()
        assert parsed.statuses == (SHARED_STATUSES[path.name],)
        return
    assert parsed.statuses == ()
    [message] = parsed.messages
    raw = load(path)["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message.parts == SHARED_MESSAGES[path.name]
    assert message.channel_id == CHANNEL
    assert message.external_id == raw["id"]
    assert message.sender == CUSTOMER_PROFILE
    assert message.thread_key == CUSTOMER
    assert message.sent_at == datetime.fromtimestamp(int(raw["timestamp"]), UTC)
    assert message.reply_to_external_id == SHARED_REPLY_TO.get(path.name)
    assert message.edit_of_external_id is None


def test_a_forwarded_message_is_not_a_reply() -> None:
    # context: {"forwarded": true} has no id: nothing is quoted.
    parsed = parse(shared("whatsapp_webhook_message_document.json"))
    assert parsed.messages[0].reply_to_external_id is None


def test_signature_vector_body_converts() -> None:
    vector = shared("whatsapp_signature_test_vector.json")
    [message] = parse(json.loads(vector["raw_body"])).messages
    assert message.parts == (Text("Привет, где мой заказ?"),)
    assert message.sender.display_name == "Иван"


# --------------------------------------------------------------------------- our fixtures


def test_video_with_caption() -> None:
    assert one_message_parts(own("message_video.json")) == (
        Video(MediaRef("video/mp4", provider_ref="777001"), "Как это собрать?"),
    )


def test_sticker() -> None:
    assert one_message_parts(own("message_sticker.json")) == (
        Sticker(MediaRef("image/webp", provider_ref="777002")),
    )


def test_reaction_names_the_message_reacted_to() -> None:
    assert one_message_parts(own("message_reaction.json")) == (Reaction("👍", "wamid.FAKE000001"),)


def test_location_with_name_and_address() -> None:
    assert one_message_parts(own("message_location_pin.json")) == (
        Location(55.751244, 37.618423, "Пункт выдачи", "Красная пл., 1, Москва"),
    )


def test_image_caption_and_quote() -> None:
    [message] = parse(own("message_image_caption.json")).messages
    assert message.parts == (Image(MediaRef("image/jpeg", provider_ref="777003"), "Вот чек"),)
    assert message.reply_to_external_id == "wamid.FAKE000002"


def test_edit_is_a_message_of_its_own_pointing_at_the_original() -> None:
    [message] = parse(own("message_edit_text.json")).messages
    assert message.parts == (Text("Text was edited"),)
    assert message.edit_of_external_id == "wamid.orig1"
    assert message.external_id == "wamid.edit1"
    assert message.external_id != message.edit_of_external_id


def test_edited_caption() -> None:
    [message] = parse(own("message_edit_caption.json")).messages
    assert message.parts == (Image(MediaRef("image/jpeg", provider_ref="65463453"), "new caption"),)
    assert message.edit_of_external_id == "wamid.orig2"


def test_an_edit_reusing_the_original_id_still_gets_its_own_stable_id() -> None:
    payload = own("message_edit_text.json")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.orig1"
    first = parse(payload).messages[0]
    again = parse(payload).messages[0]
    assert first.external_id == "wamid.orig1:edit:1697044968" == again.external_id
    assert first.edit_of_external_id == "wamid.orig1"


def test_deletion_is_an_explicit_notice() -> None:
    assert one_message_parts(own("message_revoke.json")) == (
        Unsupported("deleted", "The customer deleted one of their messages."),
    )


def test_meta_unsupported_message_carries_metas_reason() -> None:
    [part] = one_message_parts(own("message_unsupported.json"))
    assert part == Unsupported("unsupported", "WhatsApp does not support this kind of message.")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("message_unknown_type.json", "hologram"),
        ("message_order.json", "order"),
        ("message_system.json", "system"),
    ],
)
def test_content_we_cannot_show_becomes_unsupported(name: str, kind: str) -> None:
    [part] = one_message_parts(own(name))
    assert isinstance(part, Unsupported)
    assert part.kind == kind
    assert part.description


def test_username_user_without_phone_number() -> None:
    [message] = parse(own("message_username_user.json")).messages
    assert message.sender == SenderProfile(
        "US.99999999999999999999", display_name="Anna", username="anna.shop"
    )
    assert message.thread_key == "US.99999999999999999999"


def test_group_message_is_answered_in_the_group() -> None:
    [message] = parse(own("message_group.json")).messages
    assert message.thread_key == "group:120363042424242424"
    assert message.sender == CUSTOMER_PROFILE


def test_unknown_fields_are_accepted() -> None:
    assert one_message_parts(own("message_text_extra_fields.json")) == (Text("Hello"),)


def test_batches_keep_every_message_and_status_in_order() -> None:
    parsed = parse(own("batch_two_entries.json"))
    assert [m.external_id for m in parsed.messages] == ["wamid.b1", "wamid.b2", "wamid.b3"]
    assert [m.thread_key for m in parsed.messages] == [CUSTOMER, CUSTOMER, "972900000001"]
    assert parsed.messages[2].sender.display_name == "Other"
    # "played" (a voice note listened to) counts as read; "deleted" is not a delivery status.
    assert parsed.statuses == (StatusUpdate("wamid.FAKE000009", DeliveryStatus.READ),)


def test_failed_131047_explains_the_24_hour_window() -> None:
    parsed = parse(own("status_failed_131047.json"))
    assert parsed.statuses == (
        StatusUpdate("wamid.FAKE000001", DeliveryStatus.FAILED, REENGAGEMENT_REASON),
    )
    assert REENGAGEMENT_REASON == (
        "More than 24 hours have passed since the customer last wrote; "
        "send an approved template instead."
    )


# --------------------------------------------------------------------------- what is dropped


@pytest.mark.parametrize(
    "name",
    [
        "echo_smb_message_echoes.json",
        "echo_from_business.json",
        "other_phone_number.json",
        "other_field_template_status.json",
    ],
)
def test_our_own_messages_and_foreign_changes_are_dropped(name: str) -> None:
    parsed = parse(own(name))
    assert parsed.messages == ()
    assert parsed.statuses == ()
    assert parsed.skipped


def test_without_a_configured_number_every_number_is_accepted() -> None:
    parsed = parse_webhook(own("other_phone_number.json"), CHANNEL)
    assert [m.external_id for m in parsed.messages] == ["wamid.other1"]


# --------------------------------------------------------------------------- wrong shapes


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": {}},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {}}]}]},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]},
        {
            "object": "whatsapp_business_account",
            "entry": [{"changes": [{"field": "messages", "value": {"messages": "x"}}]}],
        },
        {
            "object": "whatsapp_business_account",
            "entry": [{"changes": [{"field": "messages", "value": {"messages": [{"from": "1"}]}}]}],
        },
    ],
)
def test_not_whatsapps_shape(payload: Any) -> None:
    with pytest.raises(WebhookShapeError):
        parse(payload)


def test_a_shape_error_never_quotes_the_body() -> None:
    secret_text = "my card number 4111"
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"changes": [{"field": "messages", "value": {"messages": [secret_text]}}]}],
    }
    with pytest.raises(WebhookShapeError) as caught:
        parse(payload)
    assert secret_text not in str(caught.value)
