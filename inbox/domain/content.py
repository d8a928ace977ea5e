"""Content parts: the normalised shape of everything a message can carry.

Channels convert their wire formats to and from these parts. Anything a channel cannot
express becomes an explicit :class:`Unsupported` part, never silently dropped text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from inbox.domain.errors import InvalidInput, TooLarge

__all__ = [
    "MAX_TEXT_BYTES",
    "Audio",
    "Button",
    "ButtonReply",
    "Buttons",
    "ContactCard",
    "File",
    "Image",
    "Location",
    "MediaRef",
    "Part",
    "Reaction",
    "Sticker",
    "Template",
    "Text",
    "Unsupported",
    "Video",
    "part_from_dict",
    "part_to_dict",
    "parts_from_json",
    "parts_to_json",
    "plain_text",
    "validate_text",
]

#: The largest text we accept in one message (64 KiB of UTF-8). Telegram caps a message at
#: 4096 characters and WhatsApp at 4096, so anything larger is a client bug or abuse.
MAX_TEXT_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class MediaRef:
    """Where a file lives: ``key`` in our media store, or the provider's own reference."""

    mime_type: str
    key: str | None = None
    provider_ref: str | None = None
    filename: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class Image:
    media: MediaRef
    caption: str = ""
    type: Literal["image"] = "image"


@dataclass(frozen=True, slots=True)
class File:
    media: MediaRef
    caption: str = ""
    type: Literal["file"] = "file"


@dataclass(frozen=True, slots=True)
class Video:
    media: MediaRef
    caption: str = ""
    type: Literal["video"] = "video"


@dataclass(frozen=True, slots=True)
class Sticker:
    media: MediaRef
    emoji: str = ""
    type: Literal["sticker"] = "sticker"


@dataclass(frozen=True, slots=True)
class Audio:
    media: MediaRef
    voice: bool = False
    duration_s: float | None = None
    type: Literal["audio"] = "audio"


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float
    name: str = ""
    address: str = ""
    type: Literal["location"] = "location"


@dataclass(frozen=True, slots=True)
class ContactCard:
    name: str
    phone: str = ""
    email: str = ""
    type: Literal["contact"] = "contact"


@dataclass(frozen=True, slots=True)
class Button:
    """A URL button opens ``url``; a reply button sends ``payload`` back as the customer."""

    title: str
    kind: Literal["url", "reply"] = "reply"
    url: str = ""
    payload: str = ""


@dataclass(frozen=True, slots=True)
class Buttons:
    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    type: Literal["buttons"] = "buttons"


@dataclass(frozen=True, slots=True)
class ButtonReply:
    """The customer pressed a reply button (or a quick reply): its title and payload."""

    title: str
    payload: str = ""
    type: Literal["button_reply"] = "button_reply"


@dataclass(frozen=True, slots=True)
class Reaction:
    """The customer reacted to a message (``emoji`` empty: the reaction was removed).
    ``target_external_id`` is the provider's id of the message reacted to."""

    emoji: str
    target_external_id: str = ""
    type: Literal["reaction"] = "reaction"


@dataclass(frozen=True, slots=True)
class Template:
    """An approved message template (WhatsApp, outside the 24-hour window)."""

    name: str
    language: str
    params: tuple[str, ...] = ()
    type: Literal["template"] = "template"


@dataclass(frozen=True, slots=True)
class Unsupported:
    """Content the channel sent that we cannot represent; ``kind`` names it for the operator."""

    kind: str
    description: str = ""
    type: Literal["unsupported"] = "unsupported"


Part = (
    Text
    | Image
    | File
    | Video
    | Sticker
    | Audio
    | Location
    | ContactCard
    | Buttons
    | ButtonReply
    | Reaction
    | Template
    | Unsupported
)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def validate_text(text: str) -> str:
    """Return ``text`` if it is acceptable message text, else raise :class:`InvalidInput`."""
    if not text.strip():
        raise InvalidInput("text is empty")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise TooLarge(f"text is longer than {MAX_TEXT_BYTES} bytes")
    if not text.isascii() and _LONE_SURROGATE.search(text):
        # No UTF-8 store can keep it; the edges replace them (inbox.domain.untrusted).
        raise InvalidInput("text holds a lone surrogate (not a Unicode character)")
    return text


def _media_to_dict(media: MediaRef) -> dict[str, Any]:
    return {
        "mime_type": media.mime_type,
        "key": media.key,
        "provider_ref": media.provider_ref,
        "filename": media.filename,
        "size": media.size,
    }


def _media_from_dict(raw: Mapping[str, Any]) -> MediaRef:
    return MediaRef(
        mime_type=str(raw.get("mime_type") or "application/octet-stream"),
        key=raw.get("key"),
        provider_ref=raw.get("provider_ref"),
        filename=raw.get("filename"),
        size=raw.get("size"),
    )


def part_to_dict(part: Part) -> dict[str, Any]:
    """The JSON shape of a part, as stored and as sent to the console."""
    match part:
        case Text(text=text):
            return {"type": "text", "text": text}
        case Image(media=media, caption=caption):
            return {"type": "image", "media": _media_to_dict(media), "caption": caption}
        case File(media=media, caption=caption):
            return {"type": "file", "media": _media_to_dict(media), "caption": caption}
        case Video(media=media, caption=caption):
            return {"type": "video", "media": _media_to_dict(media), "caption": caption}
        case Sticker(media=media, emoji=emoji):
            return {"type": "sticker", "media": _media_to_dict(media), "emoji": emoji}
        case ButtonReply(title=title, payload=payload):
            return {"type": "button_reply", "title": title, "payload": payload}
        case Reaction(emoji=emoji, target_external_id=target):
            return {"type": "reaction", "emoji": emoji, "target_external_id": target}
        case Template(name=name, language=language, params=params):
            return {"type": "template", "name": name, "language": language, "params": list(params)}
        case Audio(media=media, voice=voice, duration_s=duration):
            return {
                "type": "audio",
                "media": _media_to_dict(media),
                "voice": voice,
                "duration_s": duration,
            }
        case Location(latitude=lat, longitude=lon, name=name, address=address):
            return {
                "type": "location",
                "latitude": lat,
                "longitude": lon,
                "name": name,
                "address": address,
            }
        case ContactCard(name=name, phone=phone, email=email):
            return {"type": "contact", "name": name, "phone": phone, "email": email}
        case Buttons(text=text, buttons=buttons):
            return {
                "type": "buttons",
                "text": text,
                "buttons": [
                    {"title": b.title, "kind": b.kind, "url": b.url, "payload": b.payload}
                    for b in buttons
                ],
            }
        case Unsupported(kind=kind, description=description):
            return {"type": "unsupported", "kind": kind, "description": description}


def part_from_dict(raw: Mapping[str, Any]) -> Part:
    """Inverse of :func:`part_to_dict`. An unknown type becomes :class:`Unsupported`."""
    kind = raw.get("type")
    if kind == "text":
        return Text(str(raw.get("text", "")))
    if kind == "image":
        return Image(_media_from_dict(raw.get("media") or {}), str(raw.get("caption", "")))
    if kind == "file":
        return File(_media_from_dict(raw.get("media") or {}), str(raw.get("caption", "")))
    if kind == "video":
        return Video(_media_from_dict(raw.get("media") or {}), str(raw.get("caption", "")))
    if kind == "sticker":
        return Sticker(_media_from_dict(raw.get("media") or {}), str(raw.get("emoji", "")))
    if kind == "button_reply":
        return ButtonReply(str(raw.get("title", "")), str(raw.get("payload", "")))
    if kind == "reaction":
        return Reaction(str(raw.get("emoji", "")), str(raw.get("target_external_id", "")))
    if kind == "template":
        return Template(
            str(raw.get("name", "")),
            str(raw.get("language", "")),
            tuple(str(p) for p in raw.get("params") or ()),
        )
    if kind == "audio":
        return Audio(
            _media_from_dict(raw.get("media") or {}),
            bool(raw.get("voice", False)),
            raw.get("duration_s"),
        )
    if kind == "location":
        return Location(
            float(raw["latitude"]),
            float(raw["longitude"]),
            str(raw.get("name", "")),
            str(raw.get("address", "")),
        )
    if kind == "contact":
        return ContactCard(
            str(raw.get("name", "")), str(raw.get("phone", "")), str(raw.get("email", ""))
        )
    if kind == "buttons":
        return Buttons(
            str(raw.get("text", "")),
            tuple(
                Button(
                    title=str(b.get("title", "")),
                    kind="url" if b.get("kind") == "url" else "reply",
                    url=str(b.get("url", "")),
                    payload=str(b.get("payload", "")),
                )
                for b in raw.get("buttons") or ()
            ),
        )
    if kind == "unsupported":
        return Unsupported(str(raw.get("kind", "unknown")), str(raw.get("description", "")))
    return Unsupported(str(kind), "unknown content type")


def parts_to_json(parts: Sequence[Part]) -> list[dict[str, Any]]:
    return [part_to_dict(p) for p in parts]


def parts_from_json(raw: Sequence[Mapping[str, Any]]) -> tuple[Part, ...]:
    return tuple(part_from_dict(p) for p in raw)


def plain_text(parts: Sequence[Part]) -> str:
    """A one-line-per-part text rendering, for previews and for channels without rich parts."""
    lines: list[str] = []
    for part in parts:
        match part:
            case Text(text=text):
                lines.append(text)
            case Image(caption=caption):
                lines.append(caption or "[image]")
            case File(media=media, caption=caption):
                lines.append(caption or f"[file {media.filename or ''}]".replace(" ]", "]"))
            case Video(caption=caption):
                lines.append(caption or "[video]")
            case Sticker(emoji=emoji):
                lines.append(f"[sticker {emoji}]".replace(" ]", "]"))
            case ButtonReply(title=title):
                lines.append(title)
            case Reaction(emoji=emoji):
                lines.append(f"[reaction {emoji}]" if emoji else "[reaction removed]")
            case Template(name=name, params=params):
                lines.append(
                    f"[template {name}" + (": " + ", ".join(params) if params else "") + "]"
                )
            case Audio(voice=voice):
                lines.append("[voice message]" if voice else "[audio]")
            case Location(latitude=lat, longitude=lon, name=name):
                lines.append(f"[location {name} {lat:.5f},{lon:.5f}]".replace("  ", " "))
            case ContactCard(name=name, phone=phone):
                lines.append("[contact " + " ".join(x for x in (name, phone) if x) + "]")
            case Buttons(text=text, buttons=buttons):
                lines.append(text)
                for n, b in enumerate(buttons, 1):
                    lines.append(f"{n}. {b.title}" + (f" {b.url}" if b.url else ""))
            case Unsupported(kind=kind):
                lines.append(f"[unsupported: {kind}]")
    return "\n".join(lines)
