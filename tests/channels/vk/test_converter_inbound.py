"""Inbound conversion over every recorded payload: the shared samples in
/work/shared/fixtures/vk and our own in ./fixtures (one per content type and event)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from channels.vk.adapter import VkAdapter
from channels.vk.converter import convert_event, convert_message, decode_button_payload
from channels.vk.webhook import parse_callback
from channels.vk.wire import Callback
from inbox.domain.channel_io import WebhookBatch, WebhookRejected
from inbox.domain.content import (
    Audio,
    ButtonReply,
    File,
    Image,
    Location,
    Reaction,
    Sticker,
    Text,
    Unsupported,
    Video,
)
from inbox.domain.messages import DeliveryStatus, InboundMessage
from tests.channels.vk.conftest import (
    CHANNEL_ID,
    GROUP_ID,
    OWN_FIXTURES,
    SHARED_FIXTURES,
    load_fixture,
    make_channel,
    own,
    post,
    shared,
)

PEER = "326596496"


async def convert(adapter: VkAdapter, payload: dict[str, object]) -> WebhookBatch:
    return await adapter.handle_webhook(make_channel(), post(payload))


async def only_message(adapter: VkAdapter, payload: dict[str, object]) -> InboundMessage:
    batch = await convert(adapter, payload)
    assert len(batch.messages) == 1, batch
    assert batch.statuses == ()
    return batch.messages[0]


# --------------------------------------------------------------------------- every fixture

#: What each recorded notification turns into: (customer messages, statuses, reply body).
EXPECTED: dict[str, tuple[int, int, bytes]] = {
    # shared samples
    "vk_callback_confirmation.json": (0, 0, b"693d0ba9"),
    "vk_callback_confirmation_with_secret.json": (0, 0, b"693d0ba9"),
    "vk_callback_message_allow.json": (0, 0, b"ok"),
    "vk_callback_message_deny.json": (0, 0, b"ok"),
    "vk_callback_message_event.json": (1, 0, b"ok"),
    "vk_callback_message_new_text.json": (1, 0, b"ok"),
    "vk_callback_message_new_with_payload_button.json": (1, 0, b"ok"),
    "vk_callback_message_reply.json": (0, 0, b"ok"),
    # ours
    "vk_callback_message_edit.json": (1, 0, b"ok"),
    "vk_callback_message_edit_own.json": (0, 0, b"ok"),
    "vk_callback_message_event_object_payload.json": (1, 0, b"ok"),
    "vk_callback_message_new_audio.json": (1, 0, b"ok"),
    "vk_callback_message_new_doc.json": (1, 0, b"ok"),
    "vk_callback_message_new_empty.json": (1, 0, b"ok"),
    "vk_callback_message_new_forwarded.json": (1, 0, b"ok"),
    "vk_callback_message_new_from_community.json": (0, 0, b"ok"),
    "vk_callback_message_new_geo.json": (1, 0, b"ok"),
    "vk_callback_message_new_graffiti.json": (1, 0, b"ok"),
    "vk_callback_message_new_group_chat.json": (1, 0, b"ok"),
    "vk_callback_message_new_old_api.json": (1, 0, b"ok"),
    "vk_callback_message_new_our_button.json": (1, 0, b"ok"),
    "vk_callback_message_new_out.json": (0, 0, b"ok"),
    "vk_callback_message_new_photo.json": (1, 0, b"ok"),
    "vk_callback_message_new_reply.json": (1, 0, b"ok"),
    "vk_callback_message_new_sticker.json": (1, 0, b"ok"),
    "vk_callback_message_new_unsupported.json": (1, 0, b"ok"),
    "vk_callback_message_new_video.json": (1, 0, b"ok"),
    "vk_callback_message_new_voice.json": (1, 0, b"ok"),
    "vk_callback_message_reaction_event.json": (1, 0, b"ok"),
    "vk_callback_message_reaction_removed.json": (1, 0, b"ok"),
    "vk_callback_message_read.json": (0, 1, b"ok"),
    "vk_callback_message_typing_state.json": (0, 0, b"ok"),
    "vk_callback_wall_post_new.json": (0, 0, b"ok"),
}


def _inbound_fixtures() -> list[Path]:
    return sorted(SHARED_FIXTURES.glob("vk_callback_*.json")) + sorted(
        OWN_FIXTURES.glob("vk_callback_*.json")
    )


def test_every_inbound_fixture_has_an_expectation() -> None:
    names = {p.name for p in _inbound_fixtures()}
    assert names == set(EXPECTED), "a recorded payload was added or removed: update EXPECTED"


@pytest.mark.parametrize("path", _inbound_fixtures(), ids=lambda p: p.name)
async def test_every_inbound_fixture_converts(adapter: VkAdapter, path: Path) -> None:
    messages, statuses, reply = EXPECTED[path.name]
    batch = await adapter.handle_webhook(make_channel(), post(load_fixture(path)))
    assert len(batch.messages) == messages
    assert len(batch.statuses) == statuses
    assert batch.reply.status == 200
    assert batch.reply.body == reply
    assert batch.reply.content_type == "text/plain"
    for message in batch.messages:
        assert message.channel_id == CHANNEL_ID
        assert message.parts, "a message always has content"
        assert message.thread_key
        assert message.sender.external_user_id
        for part in message.parts:
            if isinstance(part, Text):
                assert part.text.strip(), "never an empty text part"


# --------------------------------------------------------------------------- shared samples


async def test_text_message(adapter: VkAdapter) -> None:
    message = await only_message(adapter, shared("vk_callback_message_new_text.json"))
    assert message.external_id == f"{PEER}:295"
    assert message.thread_key == PEER
    assert message.sender.external_user_id == PEER
    assert message.sender.display_name == ""  # VK does not send names; the core falls back
    assert message.parts == (Text("Здравствуйте! Где мой заказ 42?"),)
    assert message.sent_at == datetime.fromtimestamp(1735689600, tz=UTC)
    assert message.reply_to_external_id is None
    assert message.edit_of_external_id is None


async def test_keyboard_button_press_is_a_button_reply(adapter: VkAdapter) -> None:
    message = await only_message(
        adapter, shared("vk_callback_message_new_with_payload_button.json")
    )
    assert message.parts == (ButtonReply(title="Оплатить", payload='{"cmd":"pay","order":42}'),)
    assert message.external_id == f"{PEER}:297"


async def test_callback_button_event_is_a_button_reply(adapter: VkAdapter) -> None:
    message = await only_message(adapter, shared("vk_callback_message_event.json"))
    assert message.parts == (
        ButtonReply(title='{"cmd":"pay","order":42}', payload='{"cmd":"pay","order":42}'),
    )
    assert message.external_id == f"{PEER}:event:3159dc190b1f"
    assert message.reply_to_external_id == f"{PEER}:300"
    assert message.thread_key == PEER


async def test_our_echo_is_dropped(adapter: VkAdapter) -> None:
    batch = await convert(adapter, shared("vk_callback_message_reply.json"))
    assert batch.messages == ()


@pytest.mark.parametrize(
    "name", ["vk_callback_message_allow.json", "vk_callback_message_deny.json"]
)
async def test_allow_and_deny_store_nothing(adapter: VkAdapter, name: str) -> None:
    batch = await convert(adapter, shared(name))
    assert (batch.messages, batch.statuses, batch.reply.body) == ((), (), b"ok")


# --------------------------------------------------------------------------- content types


async def test_photo_with_text(adapter: VkAdapter) -> None:
    message = await only_message(adapter, own("vk_callback_message_new_photo.json"))
    text, image = message.parts
    assert text == Text("Вот фото чека")
    assert isinstance(image, Image)
    assert image.media.key is None
    assert image.media.provider_ref == "https://sun9-1.userapi.com/impg/z.jpg?size=960x1280"
    assert image.media.mime_type == "image/jpeg"
    assert image.media.filename == "photo326596496_457239017.jpg"


async def test_document(adapter: VkAdapter) -> None:
    message = await only_message(adapter, own("vk_callback_message_new_doc.json"))
    (doc,) = message.parts
    assert isinstance(doc, File)
    assert doc.media.mime_type == "application/pdf"
    assert doc.media.filename == "invoice_42.pdf"
    assert doc.media.size == 48213
    assert doc.media.provider_ref is not None
    assert doc.media.provider_ref.startswith("https://vk.com/doc326596496_671234567")


async def test_voice_message(adapter: VkAdapter) -> None:
    message = await only_message(adapter, own("vk_callback_message_new_voice.json"))
    (voice,) = message.parts
    assert isinstance(voice, Audio)
    assert voice.voice is True
    assert voice.duration_s == 7.0
    assert voice.media.mime_type == "audio/ogg"
    assert voice.media.provider_ref == "https://psv4.userapi.com/c1/u326596496/audiomsg/d1/abc.ogg"


async def test_music_tracks(adapter: VkAdapter) -> None:
    message = await only_message(adapter, own("vk_callback_message_new_audio.json"))
    track, hidden = message.parts
    assert isinstance(track, Audio)
    assert track.voice is False
    assert track.media.filename == "Кино - Группа крови.mp3"
    assert track.duration_s == 283.0
    assert hidden == Unsupported("audio", "A music track: Кино - Кукушка.")


async def test_videos(adapter: VkAdapter) -> None:
    message = await only_message(adapter, own("vk_callback_message_new_video.json"))
    text, player_only, with_files = message.parts
    assert text == Text("видео")
    assert isinstance(player_only, Unsupported)
    assert player_only.kind == "video"
    assert "https://vk.com/video326596496_456239500" in player_only.description
    assert isinstance(with_files, Video)
    assert with_files.media.provider_ref == "https://vkvd1.okcdn.ru/?srcIp=1&type=720"


async def test_sticker_and_graffiti(adapter: VkAdapter) -> None:
    (sticker,) = (await only_message(adapter, own("vk_callback_message_new_sticker.json"))).parts
    assert isinstance(sticker, Sticker)
    assert sticker.media.provider_ref == "https://vk.com/sticker/1-9046-512"
    (graffiti,) = (await only_message(adapter, own("vk_callback_message_new_graffiti.json"))).parts
    assert isinstance(graffiti, Image)
    assert graffiti.media.mime_type == "image/png"


async def test_location(adapter: VkAdapter) -> None:
    message = await only_message(adapter, own("vk_callback_message_new_geo.json"))
    assert message.parts == (
        Location(55.751244, 37.618423, name="Красная площадь", address="Москва, Россия"),
    )


async def test_unrepresentable_attachments_become_unsupported(adapter: VkAdapter) -> None:
    message = await only_message(adapter, own("vk_callback_message_new_unsupported.json"))
    text, *rest = message.parts
    assert text == Text("https://shop.example/item/42")
    assert all(isinstance(p, Unsupported) for p in rest)
    kinds = [p.kind for p in rest if isinstance(p, Unsupported)]
    assert kinds == ["link", "wall", "poll", "gift", "market", "holo_selfie"]
    descriptions = {p.kind: p.description for p in rest if isinstance(p, Unsupported)}
    assert descriptions["wall"] == "A wall post: https://vk.com/wall-123456_1200"
    assert descriptions["poll"] == "A poll: Какой цвет?"
    assert descriptions["market"] == "A product from a VK shop: Линзы, 990 ₽"
    assert descriptions["holo_selfie"] == "A VK attachment of type holo_selfie."


async def test_forwarded_messages_are_described(adapter: VkAdapter) -> None:
    message = await only_message(adapter, own("vk_callback_message_new_forwarded.json"))
    text, forwarded = message.parts
    assert text == Text("Смотрите, что пишут")
    assert forwarded == Unsupported("forwarded", "2 forwarded messages: «Привет, я тоже заказывал»")


async def test_empty_message_is_kept_as_unsupported(adapter: VkAdapter) -> None:
    message = await only_message(adapter, own("vk_callback_message_new_empty.json"))
    assert message.parts == (Unsupported("empty", "A VK message with nothing we can show."),)


# --------------------------------------------------------------------------- threads, ids


async def test_reply_points_at_the_quoted_message(adapter: VkAdapter) -> None:
    message = await only_message(adapter, own("vk_callback_message_new_reply.json"))
    assert message.reply_to_external_id == f"{PEER}:299"
    assert message.parts == (Text("Спасибо! Когда приедет?"),)


async def test_group_chat_keys_by_peer_and_conversation_message_id(adapter: VkAdapter) -> None:
    message = await only_message(adapter, own("vk_callback_message_new_group_chat.json"))
    assert message.external_id == "2000000001:88"  # id is 0 for bots in chats
    assert message.thread_key == "2000000001"
    assert message.sender.external_user_id == PEER


async def test_old_api_unwrapped_message(adapter: VkAdapter) -> None:
    message = await only_message(adapter, own("vk_callback_message_new_old_api.json"))
    assert message.parts == (Text("старый формат"),)
    assert message.external_id == f"{PEER}:315"


async def test_edit_is_its_own_message_pointing_at_the_original(adapter: VkAdapter) -> None:
    original = await only_message(adapter, shared("vk_callback_message_new_text.json"))
    edit = await only_message(adapter, own("vk_callback_message_edit.json"))
    assert edit.edit_of_external_id == original.external_id == f"{PEER}:295"
    assert edit.external_id == f"{PEER}:295:edit:1735689700"
    assert edit.external_id != original.external_id
    assert edit.parts == (Text("Здравствуйте! Где мой заказ 43?"),)


async def test_edit_without_update_time_uses_the_version(adapter: VkAdapter) -> None:
    payload = own("vk_callback_message_edit.json")
    del payload["object"]["update_time"]
    edit = await only_message(adapter, payload)
    assert edit.external_id == f"{PEER}:295:edit:10000495"


@pytest.mark.parametrize(
    "name",
    [
        "vk_callback_message_edit_own.json",
        "vk_callback_message_new_out.json",
        "vk_callback_message_new_from_community.json",
    ],
)
async def test_our_own_messages_are_dropped(adapter: VkAdapter, name: str) -> None:
    assert (await convert(adapter, own(name))).messages == ()


async def test_same_event_twice_gives_the_same_external_id(adapter: VkAdapter) -> None:
    payload = own("vk_callback_message_new_photo.json")
    first = await only_message(adapter, payload)
    again = await adapter.handle_webhook(make_channel(), post(payload, **{"X-Retry-Counter": "1"}))
    assert again.messages[0].external_id == first.external_id


# --------------------------------------------------------------------------- buttons, reactions


async def test_our_reply_button_payload_comes_back_as_given(adapter: VkAdapter) -> None:
    message = await only_message(adapter, own("vk_callback_message_new_our_button.json"))
    assert message.parts == (ButtonReply(title="Да, подтверждаю", payload="yes"),)


async def test_callback_payload_as_an_object(adapter: VkAdapter) -> None:
    message = await only_message(adapter, own("vk_callback_message_event_object_payload.json"))
    assert message.parts == (ButtonReply(title="yes", payload="yes"),)


def test_decode_button_payload() -> None:
    assert decode_button_payload('{"button":"yes"}') == "yes"
    assert decode_button_payload({"button": "yes"}) == "yes"
    assert decode_button_payload('{"button":"yes","x":1}') == '{"button":"yes","x":1}'
    assert decode_button_payload('{"command":"start"}') == '{"command":"start"}'
    assert decode_button_payload("not json") == "not json"
    assert decode_button_payload(None) == ""


async def test_reaction(adapter: VkAdapter) -> None:
    message = await only_message(adapter, own("vk_callback_message_reaction_event.json"))
    assert message.parts == (Reaction(emoji="❤️", target_external_id=f"{PEER}:299"),)
    assert message.external_id == f"{PEER}:299:reaction:e0000000000000000000000000000reaction1"
    assert message.thread_key == PEER


async def test_reaction_removed_and_unknown_reaction(adapter: VkAdapter) -> None:
    removed = await only_message(adapter, own("vk_callback_message_reaction_removed.json"))
    assert removed.parts == (Reaction(emoji="", target_external_id=f"{PEER}:299"),)
    payload = own("vk_callback_message_reaction_event.json")
    payload["object"]["reaction_id"] = 99
    unknown = await only_message(adapter, payload)
    assert unknown.parts == (Reaction(emoji="vk:99", target_external_id=f"{PEER}:299"),)


async def test_read_receipt_is_a_status_of_our_message(adapter: VkAdapter) -> None:
    batch = await convert(adapter, own("vk_callback_message_read.json"))
    assert batch.messages == ()
    (status,) = batch.statuses
    assert status.external_id == f"{PEER}:299"
    assert status.status is DeliveryStatus.READ


async def test_read_by_the_community_is_ignored(adapter: VkAdapter) -> None:
    payload = own("vk_callback_message_read.json")
    payload["object"]["from_id"] = -GROUP_ID
    assert (await convert(adapter, payload)).statuses == ()


# --------------------------------------------------------------------------- pure API


def test_convert_event_is_pure_and_unknown_events_are_empty() -> None:
    callback = parse_callback(
        b'{"type":"photo_new","group_id":123456,"event_id":"x","secret":"s","object":{}}'
    )
    converted = convert_event(CHANNEL_ID, callback, group_id=GROUP_ID)
    assert (converted.messages, converted.statuses) == ((), ())


@pytest.mark.parametrize(
    ("obj", "missing"),
    [
        ({"from_id": 1, "text": "x"}, "peer_id"),
        ({"peer_id": 1, "text": "x", "conversation_message_id": 2}, "from_id"),
        ({"peer_id": "one", "from_id": 1, "conversation_message_id": 2}, "peer_id"),
    ],
)
def test_a_message_without_its_ids_is_not_vks_shape(obj: dict[str, object], missing: str) -> None:
    with pytest.raises(WebhookRejected) as caught:
        convert_message(CHANNEL_ID, obj, group_id=GROUP_ID)
    assert caught.value.status == 400
    assert missing in caught.value.message


def test_a_malformed_attachment_spoils_only_itself() -> None:
    msg = {
        "peer_id": 5,
        "from_id": 5,
        "conversation_message_id": 1,
        "text": "hi",
        "attachments": [{"type": "photo", "photo": {"sizes": "not a list"}}, "junk"],
    }
    message = convert_message(CHANNEL_ID, msg, group_id=GROUP_ID)
    assert message is not None
    assert message.parts == (
        Text("hi"),
        Unsupported("photo", "A VK attachment of type photo in an unknown shape."),
        Unsupported("attachment", "An attachment VK sent in an unknown shape."),
    )


def test_callback_dataclass_defaults() -> None:
    assert Callback("x", 1, "", None).object == {}
