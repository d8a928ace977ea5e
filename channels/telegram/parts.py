"""The content of one Telegram ``Message`` → content parts. Pure.

A dispatch table from the message's content field (``text``, ``photo``, ``voice``, ...)
to a converter; a content field we have no converter for becomes
``Unsupported(<field>, ...)``. Media become parts whose ``MediaRef`` carries Telegram's
``file_id`` as ``provider_ref`` and no ``key``: the core downloads them lazily through
``TelegramAdapter.fetch_media``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from telegram import Message

from inbox.domain.content import (
    Audio,
    ContactCard,
    File,
    Image,
    Location,
    MediaRef,
    Part,
    Sticker,
    Text,
    Unsupported,
    Video,
)

__all__ = ["UNREADABLE_MARK", "content_kind", "message_parts"]

#: Set (to the content kind) by ``webhook.parse_update`` on a message whose content
#: python-telegram-bot could not parse; Telegram itself never sends this field.
UNREADABLE_MARK: Final = "x_inbox_unreadable_content"


def message_parts(message: Message, *, edited: bool) -> list[Part] | None:
    """The parts of a customer's message, or ``None`` when it is not something a customer
    wrote: a service message (a member joined, a pinned message) or, for an edit, a live
    location moving (Telegram edits a live location every few seconds)."""
    unreadable = message.api_kwargs.get(UNREADABLE_MARK)
    if unreadable is not None:
        kind = str(unreadable)
        return [Unsupported(kind, f"A Telegram {kind} message this server could not read.")]
    raw = message.to_dict()
    kind = content_kind(raw)
    if kind in _SERVICE_KINDS or (edited and kind in ("location", "venue")):
        return None
    handler = _CONTENT_HANDLERS.get(kind)
    parts: list[Part] = [_unsupported(kind)] if handler is None else handler(message)
    caption = message.caption or ""
    if caption and kind in _CAPTION_AS_TEXT:
        parts.append(Text(caption))
    return parts


#: Message fields that describe the message rather than being its content.
_METADATA_KEYS: Final = frozenset(
    {
        "message_id", "message_thread_id", "direct_messages_topic", "from", "sender_chat",
        "sender_boost_count", "sender_business_bot", "sender_tag", "date",
        "business_connection_id", "chat", "forward_origin", "is_topic_message",
        "is_automatic_forward",
        "reply_to_message", "external_reply", "quote", "reply_to_story",
        "reply_to_checklist_task_id", "via_bot", "edit_date", "has_protected_content",
        "is_from_offline", "is_paid_post", "media_group_id", "author_signature",
        "paid_star_count", "entities", "caption", "caption_entities",
        "show_caption_above_media", "has_media_spoiler", "link_preview_options",
        "suggested_post_info", "effect_id", "reply_markup",
    }
)  # fmt: skip

#: Service messages: something happened in the chat; nobody wrote anything.
_SERVICE_KINDS: Final = frozenset(
    {
        "new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo",
        "delete_chat_photo", "group_chat_created", "supergroup_chat_created",
        "channel_chat_created", "message_auto_delete_timer_changed", "migrate_to_chat_id",
        "migrate_from_chat_id", "pinned_message", "connected_website",
        "write_access_allowed", "proximity_alert_triggered", "boost_added",
        "chat_background_set", "forum_topic_created", "forum_topic_edited",
        "forum_topic_closed", "forum_topic_reopened", "general_forum_topic_hidden",
        "general_forum_topic_unhidden", "video_chat_scheduled", "video_chat_started",
        "video_chat_ended", "video_chat_participants_invited",
    }
)  # fmt: skip


def content_kind(raw: Mapping[str, Any]) -> str:
    """What the message carries: a kind we convert if there is one, else the first field
    that is neither metadata nor an unset service flag (PTB serialises those as
    ``False``), else ``"empty"``."""
    for key in _CONTENT_HANDLERS:
        if key in raw:
            return key
    for key, value in raw.items():
        if key not in _METADATA_KEYS and value is not False:
            return key
    return "empty"


def _media(
    file_id: str, mime_type: str | None, default_mime: str, filename: str | None, size: int | None
) -> MediaRef:
    # key=None: the core downloads lazily through fetch_media(provider_ref=file_id).
    return MediaRef(
        mime_type=mime_type or default_mime,
        key=None,
        provider_ref=file_id,
        filename=filename,
        size=size,
    )


def _text(m: Message) -> list[Part]:
    return [Text(m.text or "")]


def _photo(m: Message) -> list[Part]:
    if not m.photo:
        return [_unsupported("photo")]
    largest = m.photo[-1]  # sizes come smallest first (Bot API docs, PhotoSize)
    ref = _media(largest.file_id, None, "image/jpeg", None, largest.file_size)
    return [Image(ref, caption=m.caption or "")]


def _document(m: Message) -> list[Part]:
    d = m.document
    assert d is not None
    ref = _media(d.file_id, d.mime_type, "application/octet-stream", d.file_name, d.file_size)
    return [File(ref, caption=m.caption or "")]


def _animation(m: Message) -> list[Part]:
    a = m.animation
    assert a is not None
    ref = _media(a.file_id, a.mime_type, "video/mp4", a.file_name, a.file_size)
    return [Video(ref, caption=m.caption or "")]


def _video(m: Message) -> list[Part]:
    v = m.video
    assert v is not None
    ref = _media(v.file_id, v.mime_type, "video/mp4", v.file_name, v.file_size)
    return [Video(ref, caption=m.caption or "")]


def _video_note(m: Message) -> list[Part]:
    v = m.video_note
    assert v is not None
    return [Video(_media(v.file_id, None, "video/mp4", None, v.file_size))]


def _voice(m: Message) -> list[Part]:
    v = m.voice
    assert v is not None
    ref = _media(v.file_id, v.mime_type, "audio/ogg", None, v.file_size)
    return [Audio(ref, voice=True, duration_s=_seconds(m, "voice"))]


def _audio(m: Message) -> list[Part]:
    a = m.audio
    assert a is not None
    ref = _media(a.file_id, a.mime_type, "audio/mpeg", a.file_name, a.file_size)
    return [Audio(ref, voice=False, duration_s=_seconds(m, "audio"))]


def _sticker(m: Message) -> list[Part]:
    s = m.sticker
    assert s is not None
    # Static stickers are WebP, animated ones Lottie (TGS), video ones WebM (Bot API docs).
    mime = "video/webm" if s.is_video else "application/x-tgsticker" if s.is_animated else None
    return [Sticker(_media(s.file_id, mime, "image/webp", None, s.file_size), s.emoji or "")]


def _location(m: Message) -> list[Part]:
    loc = m.location
    assert loc is not None
    return [Location(latitude=loc.latitude, longitude=loc.longitude)]


def _venue(m: Message) -> list[Part]:
    v = m.venue
    assert v is not None
    return [Location(v.location.latitude, v.location.longitude, v.title, v.address)]


def _contact(m: Message) -> list[Part]:
    c = m.contact
    assert c is not None
    name = " ".join(n for n in (c.first_name, c.last_name or "") if n)
    return [ContactCard(name=name, phone=c.phone_number, email=_vcard_email(c.vcard))]


def _payment(m: Message) -> list[Part]:
    p = m.successful_payment
    assert p is not None
    return [
        Unsupported(
            "payment",
            f"Telegram payment of {p.total_amount} (minor units) {p.currency} for "
            f"{p.invoice_payload!r}; Telegram Payments are not processed yet.",
        )
    ]


def _poll(m: Message) -> list[Part]:
    assert m.poll is not None
    return [Unsupported("poll", f"A poll: {m.poll.question}")]


def _dice(m: Message) -> list[Part]:
    assert m.dice is not None
    return [Unsupported("dice", f"A {m.dice.emoji} throw showing {m.dice.value}.")]


_CONTENT_HANDLERS: Final[Mapping[str, Callable[[Message], list[Part]]]] = {
    "text": _text,
    "photo": _photo,
    # Telegram sends an animation with a "document" twin for old clients; the animation
    # field comes first in PTB's serialisation, and either way it maps to the animation.
    "animation": _animation,
    "document": lambda m: _animation(m) if m.animation is not None else _document(m),
    "video": _video,
    "video_note": _video_note,
    "voice": _voice,
    "audio": _audio,
    "sticker": _sticker,
    "venue": _venue,
    "location": lambda m: _venue(m) if m.venue is not None else _location(m),
    "contact": _contact,
    "successful_payment": _payment,
    "poll": _poll,
    "dice": _dice,
}

#: Content kinds whose part has no caption field: a caption follows as its own Text part.
_CAPTION_AS_TEXT: Final = frozenset({"voice", "audio"})


def _unsupported(kind: str) -> Unsupported:
    if kind == "empty":
        return Unsupported("empty", "A Telegram message without content we know of.")
    return Unsupported(kind, f"A Telegram {kind.replace('_', ' ')} message.")


def _seconds(m: Message, kind: str) -> float | None:
    # Read from the serialised form: PTB 22.2+ warns (PTBDeprecationWarning) on every read
    # of a ``duration`` property, while ``to_dict`` gives the wire's integer seconds.
    value = m.to_dict().get(kind, {}).get("duration")
    return float(value) if isinstance(value, int | float) else None


_VCARD_EMAIL = re.compile(r"^EMAIL[^:\r\n]*:(.+)$", re.MULTILINE | re.IGNORECASE)


def _vcard_email(vcard: str | None) -> str:
    found = _VCARD_EMAIL.search(vcard or "")
    return found.group(1).strip() if found else ""
