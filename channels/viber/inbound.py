"""Viber callbacks → core types. Pure functions: no I/O, clock or logging.

One callback (``{"event": ..., ...}``) becomes customer messages and delivery statuses,
through a dispatch table per ``event`` and per ``message.type`` (docs/channels/viber.md,
"What comes in"). Content we cannot represent becomes an explicit :class:`Unsupported`
part; nothing is dropped, nothing is smuggled into text. The id scheme, echo guard and
button replies are described in :mod:`channels.viber.converter`.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from channels.viber.errors import PayloadError
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
    Sticker,
    Text,
    Unsupported,
    Video,
)
from inbox.domain.ids import ChannelId
from inbox.domain.messages import DeliveryStatus, InboundMessage, SenderProfile

__all__ = [
    "ACK_ONLY_EVENTS",
    "STICKER_REF_PREFIX",
    "TRACKING_KEY",
    "Converted",
    "convert_callback",
]

#: Events that only need a 200: the ``set_webhook`` check and subscription changes.
ACK_ONLY_EVENTS = frozenset({"webhook", "subscribed", "unsubscribed", "conversation_started"})
#: The key under which our ``tracking_data`` lists the reply buttons we sent.
TRACKING_KEY = "inbox_buttons"
#: ``provider_ref`` of a sticker that came without a picture URL: its Viber sticker id.
STICKER_REF_PREFIX = "viber-sticker:"


@dataclass(frozen=True, slots=True)
class Converted:
    messages: tuple[InboundMessage, ...] = ()
    statuses: tuple[StatusUpdate, ...] = ()


def convert_callback(channel_id: ChannelId, payload: Any) -> Converted:
    """One parsed callback body → messages and statuses. Raises :class:`PayloadError`."""
    if not isinstance(payload, Mapping):
        raise PayloadError("a Viber callback is a JSON object")
    event = payload.get("event")
    if not isinstance(event, str) or not event:
        raise PayloadError("a Viber callback names its event")
    if event in ACK_ONLY_EVENTS:
        return Converted()
    status = _STATUS_EVENTS.get(event)
    if status is not None:
        return Converted(statuses=(_status(payload, status),))
    if event == "message":
        message = _message(channel_id, payload)
        return Converted(messages=(message,) if message is not None else ())
    # A future event: if a customer stands behind it, show the operator that something came.
    sender = payload.get("sender")
    if isinstance(sender, Mapping) and payload.get("message_token") is not None:
        unknown = Unsupported(event, f"Viber event '{event}' is not supported")
        message = _inbound(channel_id, payload, (unknown,))
        return Converted(messages=(message,) if message is not None else ())
    return Converted()


_STATUS_EVENTS: Mapping[str, DeliveryStatus] = {
    "delivered": DeliveryStatus.DELIVERED,
    "seen": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}


def _token(payload: Mapping[str, Any]) -> str:
    token = payload.get("message_token")
    if isinstance(token, bool) or not isinstance(token, int | str) or not str(token).strip():
        raise PayloadError("the callback has no message_token")
    return str(token).strip()


def _status(payload: Mapping[str, Any], status: DeliveryStatus) -> StatusUpdate:
    error = None
    if status is DeliveryStatus.FAILED:
        desc = _str(payload.get("desc")).strip()
        error = f"Viber could not deliver the message: {desc}" if desc else None
        error = error or "Viber could not deliver the message."
    return StatusUpdate(external_id=_token(payload), status=status, error=error)


def _message(channel_id: ChannelId, payload: Mapping[str, Any]) -> InboundMessage | None:
    body = payload.get("message")
    if not isinstance(body, Mapping) or not isinstance(body.get("type"), str):
        raise PayloadError("a message callback carries a message with a type")
    kind = body["type"]
    convert = _MESSAGE_TYPES.get(kind, _unknown_type)
    return _inbound(channel_id, payload, convert(body))


def _inbound(
    channel_id: ChannelId, payload: Mapping[str, Any], parts: tuple[Part, ...]
) -> InboundMessage | None:
    sender = payload.get("sender")
    if not isinstance(sender, Mapping):
        raise PayloadError("a message callback names its sender")
    user_id = sender.get("id")
    if not isinstance(user_id, str) or not user_id.strip():
        raise PayloadError("a message callback names its sender")
    if user_id.startswith("pa:"):
        return None  # a bot account, i.e. us: never a customer message
    return InboundMessage(
        channel_id=channel_id,
        external_id=_token(payload),
        sender=SenderProfile(external_user_id=user_id, display_name=_str(sender.get("name"))),
        parts=parts,
        sent_at=_timestamp(payload.get("timestamp")),
        thread_key=user_id,
    )


def _text(body: Mapping[str, Any]) -> tuple[Part, ...]:
    text = _str(body.get("text"))
    if not text.strip():
        return (Unsupported("empty_text", "Viber delivered a text message without text"),)
    pressed = _button_reply(text, body.get("tracking_data"))
    return (pressed,) if pressed is not None else (Text(text),)


def _picture(body: Mapping[str, Any]) -> tuple[Part, ...]:
    ref = _media_ref(body, "image/jpeg")
    if ref is None:
        return (Unsupported("picture", "a picture without a link to its file"),)
    return (Image(ref, caption=_str(body.get("text"))),)


def _video(body: Mapping[str, Any]) -> tuple[Part, ...]:
    ref = _media_ref(body, "video/mp4")
    if ref is None:
        return (Unsupported("video", "a video without a link to its file"),)
    return (Video(ref, caption=_str(body.get("text"))),)


def _file(body: Mapping[str, Any]) -> tuple[Part, ...]:
    ref = _media_ref(body, "application/octet-stream")
    if ref is None:
        return (Unsupported("file", "a file without a link to its content"),)
    if ref.mime_type.startswith("audio/"):
        # Viber has no audio message type: audio comes as a file (an .mp3, an .m4a).
        return (Audio(ref, voice=False, duration_s=_number(body.get("duration"))),)
    return (File(ref, caption=_str(body.get("text"))),)


def _sticker(body: Mapping[str, Any]) -> tuple[Part, ...]:
    media = _str(body.get("media"))
    sticker_id = body.get("sticker_id")
    if media:
        ref = MediaRef(mime_type=_mime(media, "image/png"), provider_ref=media)
    elif isinstance(sticker_id, int | str) and str(sticker_id).strip():
        ref = MediaRef(mime_type="image/png", provider_ref=f"{STICKER_REF_PREFIX}{sticker_id}")
    else:
        return (Unsupported("sticker", "a sticker without an id"),)
    return (Sticker(ref),)


def _location(body: Mapping[str, Any]) -> tuple[Part, ...]:
    where = body.get("location")
    lat = _number(where.get("lat")) if isinstance(where, Mapping) else None
    lon = _number(where.get("lon")) if isinstance(where, Mapping) else None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return (Unsupported("location", "a location without valid coordinates"),)
    return (Location(lat, lon, address=_str(body.get("text"))),)


def _contact(body: Mapping[str, Any]) -> tuple[Part, ...]:
    card = body.get("contact")
    if not isinstance(card, Mapping):
        return (Unsupported("contact", "a contact without details"),)
    name, phone = _str(card.get("name")), _str(card.get("phone_number"))
    if not (name or phone):
        return (Unsupported("contact", "a contact without a name or phone number"),)
    return (ContactCard(name=name, phone=phone),)


def _url(body: Mapping[str, Any]) -> tuple[Part, ...]:
    url = _str(body.get("media")) or _str(body.get("text"))
    if not url.strip():
        return (Unsupported("url", "a link message without a link"),)
    return (Text(url),)


def _unknown_type(body: Mapping[str, Any]) -> tuple[Part, ...]:
    kind = _str(body.get("type"))[:40] or "unknown"
    return (Unsupported(kind, f"Viber message type '{kind}' is not supported"),)


_MESSAGE_TYPES: Mapping[str, Callable[[Mapping[str, Any]], tuple[Part, ...]]] = {
    "text": _text,
    "picture": _picture,
    "video": _video,
    "file": _file,
    "sticker": _sticker,
    "location": _location,
    "contact": _contact,
    "url": _url,
}


def _button_reply(text: str, tracking_data: Any) -> ButtonReply | None:
    if not isinstance(tracking_data, str) or TRACKING_KEY not in tracking_data:
        return None
    try:
        data = json.loads(tracking_data)
    except ValueError:
        return None
    buttons = data.get(TRACKING_KEY) if isinstance(data, Mapping) else None
    if not isinstance(buttons, Mapping) or text not in buttons:
        return None
    return ButtonReply(title=_str(buttons[text]) or text, payload=text)


def _media_ref(body: Mapping[str, Any], default_mime: str) -> MediaRef | None:
    media = _str(body.get("media")).strip()
    if not media:
        return None
    filename = _str(body.get("file_name")).strip() or None
    size = body.get("size")
    return MediaRef(
        mime_type=_mime(filename or media, default_mime),
        provider_ref=media,
        filename=filename,
        size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
    )


def _mime(name: str, default: str) -> str:
    guessed, _ = mimetypes.guess_type(name.split("?", 1)[0], strict=False)
    return guessed or default


def _timestamp(value: Any) -> datetime | None:
    # Viber's timestamps are epoch milliseconds.
    number = _number(value)
    if number is None or number <= 0:
        return None
    try:
        return datetime.fromtimestamp(number / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
