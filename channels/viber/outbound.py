"""Core types → Viber ``send_message`` bodies. Pure functions: no I/O or logging.

See :func:`build_requests` and docs/channels/viber.md, "What goes out".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from channels.viber.errors import Unsendable
from channels.viber.inbound import STICKER_REF_PREFIX, TRACKING_KEY
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
    Unsupported,
    Video,
    plain_text,
)
from inbox.domain.messages import OutboundMessage

__all__ = [
    "MAX_BUTTONS",
    "MAX_SENDER_NAME",
    "MAX_TEXT_CHARS",
    "MediaUrl",
    "build_requests",
]

#: ``sender.name`` is "max 28 characters" (send_message parameters).
MAX_SENDER_NAME = 28
#: A text message holds at most 7,000 characters (send_message, text message).
MAX_TEXT_CHARS = 7000
#: Keyboard buttons shown natively; the rest go into the text as a numbered list. The
#: console sends at most 10, Viber takes up to 24 in one keyboard.
MAX_BUTTONS = 24
#: ``tracking_data`` is at most 4,096 characters (send_message parameters).
MAX_TRACKING_DATA = 4096


#: Gives the public URL Viber may fetch an attachment from, or ``None`` when there is none
#: (then the attachment is named in the text instead).
MediaUrl = Callable[[MediaRef], str | None]


def build_requests(
    message: OutboundMessage, *, sender_name: str, media_url: MediaUrl | None = None
) -> list[dict[str, Any]]:
    """The ``send_message`` bodies for ``message``, to post in this order.

    Text parts (and what has no native form) are joined into one text message, sent last
    and split at :data:`MAX_TEXT_CHARS`; buttons become its keyboard. Locations, contacts,
    stickers and attachments with a public URL go first as messages of their own. Viber
    takes media only by URL (no upload), so an attachment without one is named in the text
    as ``[attachment: name]``. Raises :class:`Unsendable`.
    """
    texts: list[str] = []
    buttons: list[Button] = []
    media: list[dict[str, Any]] = []
    for part in message.parts:
        match part:
            case Text(text=text):
                texts.append(text)
            case Buttons(text=text, buttons=pressed):
                texts.append(text)
                buttons.extend(pressed)
            case Image() | File() | Video() | Audio():
                url = media_url(part.media) if media_url is not None else None
                if url:
                    media.append(_media_body(part, url))
                else:
                    texts.append(_attachment_line(part))
            case Location(latitude=lat, longitude=lon):
                media.append({"type": "location", "location": {"lat": lat, "lon": lon}})
            case ContactCard(name=name, phone=phone) if phone:
                card = {"name": name or phone, "phone_number": phone}
                media.append({"type": "contact", "contact": card})
            case Sticker(media=ref) if (ref.provider_ref or "").startswith(STICKER_REF_PREFIX):
                sticker_id = (ref.provider_ref or "").removeprefix(STICKER_REF_PREFIX)
                if sticker_id.isdigit():
                    media.append({"type": "sticker", "sticker_id": int(sticker_id)})
                else:
                    texts.append(plain_text([part]))
            case ContactCard() | Sticker() | Template() | ButtonReply():
                texts.append(plain_text([part]))
            case Reaction():
                raise Unsendable("Viber bots cannot send reactions.")
            case Unsupported(kind=kind):
                raise Unsendable(f"This message cannot be sent on Viber ({kind}).")
    bodies = media + _text_bodies(texts, buttons)
    if not bodies:
        raise Unsendable("The message is empty.")
    name = (sender_name.strip() or "Support")[:MAX_SENDER_NAME]
    return [
        {"receiver": message.recipient, "min_api_version": 1, "sender": {"name": name}, **b}
        for b in bodies
    ]


def _text_bodies(texts: Sequence[str], buttons: Sequence[Button]) -> list[dict[str, Any]]:
    native, overflow = list(buttons[:MAX_BUTTONS]), list(buttons[MAX_BUTTONS:])
    lines = [t for t in texts if t.strip()]
    if overflow or (native and not lines):
        listed = overflow if lines else native + overflow
        start = len(buttons) - len(listed) + 1
        lines.extend(_numbered(listed, start))
    text = "\n".join(lines)
    if not text:
        return []
    chunks = [text[i : i + MAX_TEXT_CHARS] for i in range(0, len(text), MAX_TEXT_CHARS)]
    bodies: list[dict[str, Any]] = [{"type": "text", "text": chunk} for chunk in chunks]
    if native:
        bodies[-1]["keyboard"] = _keyboard(native)
        tracking = _tracking_data(native)
        if tracking is not None:
            bodies[-1]["tracking_data"] = tracking
    return bodies


def _numbered(buttons: Sequence[Button], start: int) -> list[str]:
    return [
        f"{n}. {b.title}" + (f" {b.url}" if b.kind == "url" and b.url else "")
        for n, b in enumerate(buttons, start)
    ]


def _keyboard(buttons: Sequence[Button]) -> dict[str, Any]:
    rendered = []
    for b in buttons:
        is_url = b.kind == "url" and bool(b.url)
        rendered.append(
            {
                "Columns": 6,
                "Rows": 1,
                "ActionType": "open-url" if is_url else "reply",
                "ActionBody": b.url if is_url else (b.payload or b.title),
                "Text": b.title,
                "TextSize": "regular",
            }
        )
    return {"Type": "keyboard", "DefaultHeight": False, "Buttons": rendered}


def _tracking_data(buttons: Sequence[Button]) -> str | None:
    replies = {b.payload or b.title: b.title for b in buttons if b.kind != "url" or not b.url}
    if not replies:
        return None
    data = json.dumps({TRACKING_KEY: replies}, ensure_ascii=False, separators=(",", ":"))
    return data if len(data) <= MAX_TRACKING_DATA else None


def _media_body(part: Image | File | Video | Audio, url: str) -> dict[str, Any]:
    ref = part.media
    if isinstance(part, Image):
        # A picture's description is at most 120 characters (picture message).
        return {"type": "picture", "media": url, "text": part.caption[:120]}
    if isinstance(part, Video) and ref.size is not None:
        return {"type": "video", "media": url, "size": ref.size}
    name = ref.filename or "file"
    return {"type": "file", "media": url, "size": ref.size or 0, "file_name": name}


def _attachment_line(part: Image | File | Video | Audio) -> str:
    default = {Image: "image", File: "file", Video: "video", Audio: "audio"}[type(part)]
    line = f"[attachment: {part.media.filename or default}]"
    caption = "" if isinstance(part, Audio) else part.caption
    return f"{caption}\n{line}" if caption.strip() else line
