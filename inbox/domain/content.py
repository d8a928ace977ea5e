"""Content parts: the normalised shape of everything a message can carry.

Channels convert their wire formats to and from these parts. Anything a channel cannot
express becomes an explicit :class:`Unsupported` part, never silently dropped text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from inbox.domain.errors import InvalidInput, TooLarge

__all__ = [
    "MAX_TEXT_BYTES",
    "Audio",
    "Button",
    "Buttons",
    "ContactCard",
    "File",
    "Image",
    "Location",
    "MediaRef",
    "Part",
    "Text",
    "Unsupported",
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
class Unsupported:
    """Content the channel sent that we cannot represent; ``kind`` names it for the operator."""

    kind: str
    description: str = ""
    type: Literal["unsupported"] = "unsupported"


Part = Text | Image | File | Audio | Location | ContactCard | Buttons | Unsupported


def validate_text(text: str) -> str:
    """Return ``text`` if it is acceptable message text, else raise :class:`InvalidInput`."""
    if not text.strip():
        raise InvalidInput("text is empty")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise TooLarge(f"text is longer than {MAX_TEXT_BYTES} bytes")
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
            case Audio(voice=voice):
                lines.append("[voice message]" if voice else "[audio]")
            case Location(latitude=lat, longitude=lon, name=name):
                lines.append(f"[location {name} {lat:.5f},{lon:.5f}]".replace("  ", " "))
            case ContactCard(name=name, phone=phone):
                lines.append(f"[contact {name} {phone}]".strip())
            case Buttons(text=text, buttons=buttons):
                lines.append(text)
                for n, b in enumerate(buttons, 1):
                    lines.append(f"{n}. {b.title}" + (f" {b.url}" if b.url else ""))
            case Unsupported(kind=kind):
                lines.append(f"[unsupported: {kind}]")
    return "\n".join(lines)
