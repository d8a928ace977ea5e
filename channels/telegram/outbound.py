"""An :class:`OutboundMessage` → the Bot API calls that deliver it. Pure: no I/O.

Each part becomes one call (``sendMessage``, ``sendPhoto``, ...) whose ``params`` are the
logical Bot API request JSON (``telegram_sendMessage_request_payment_url_button.json``
has the shape); adjacent parts that only render as text share one ``sendMessage``.
Telegram has no rich equivalent for stickers we hold, button replies, reactions or
templates: those go as their plain-text rendering (``inbox.domain.content.plain_text``).

Limits (Bot API docs, "sendMessage", "sendPhoto", "InlineKeyboardButton", "Sending files"):
text 1-4096 characters and captions 0-1024, both counted in UTF-16 code units after
entity parsing (we send no entities); ``callback_data`` 1-64 bytes; uploads by multipart
≤10 MB for a photo and ≤50 MB for anything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

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
    Text,
    Video,
    plain_text,
)
from inbox.domain.messages import OutboundMessage

__all__ = [
    "MAX_CAPTION",
    "MAX_TEXT",
    "BotCall",
    "UploadMethod",
    "chat_id_of",
    "fit_upload",
    "keyboard_for",
    "plan_calls",
    "split_text",
]

MAX_TEXT: Final = 4096
MAX_CAPTION: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
#: No documented cap; the Bot API refuses markups far above this, and a customer cannot
#: read more anyway. Buttons beyond it are listed as text.
MAX_INLINE_BUTTONS: Final = 100
MAX_PHOTO_UPLOAD: Final = 10 * 1024 * 1024
MAX_UPLOAD: Final = 50 * 1024 * 1024
#: Telegram refuses a whitespace-only text, so a button list without text gets this.
EMPTY_TEXT_STANDIN: Final = "\u2193"

UploadMethod = Literal["sendPhoto", "sendDocument", "sendAudio", "sendVoice", "sendVideo"]
#: The multipart field that carries the file, per upload method (Bot API docs).
UPLOAD_FIELD: Final[Mapping[str, str]] = {
    "sendPhoto": "photo",
    "sendDocument": "document",
    "sendAudio": "audio",
    "sendVoice": "voice",
    "sendVideo": "video",
}
_PHOTO_MIMES: Final = frozenset({"image/jpeg", "image/png", "image/webp"})
_VOICE_MIMES: Final = frozenset({"audio/ogg", "audio/opus", "audio/mpeg", "audio/mp4"})
_AUDIO_MIMES: Final = frozenset({"audio/mpeg", "audio/mp3", "audio/mp4", "audio/x-m4a"})
_VIDEO_MIMES: Final = frozenset({"video/mp4"})
_URL_SCHEMES: Final = ("https://", "http://", "tg://")


@dataclass(frozen=True, slots=True)
class BotCall:
    """One Bot API call. ``params`` is the request JSON without the file; ``upload`` is
    the stored file to send as ``UPLOAD_FIELD[method]`` in a multipart upload."""

    method: str
    params: Mapping[str, Any]
    upload: MediaRef | None = None


def chat_id_of(recipient: str) -> int | str:
    """A conversation's thread key as a Bot API ``chat_id`` (an integer, or ``@name``)."""
    return int(recipient) if re.fullmatch(r"-?\d+", recipient) else recipient


def plan_calls(message: OutboundMessage) -> list[BotCall]:
    """The calls that deliver ``message``, in order; the first one quotes
    ``reply_to_external_id`` when that is a message of this chat.

    Raises:
        PermanentFailure: nothing to send, or an attachment is not in our media store.
    """
    chat_id = chat_id_of(message.recipient)
    calls: list[BotCall] = []
    pending_text: list[str] = []

    def flush() -> None:
        text = "\n".join(pending_text).strip()
        pending_text.clear()
        for chunk in split_text(text, MAX_TEXT) if text else []:
            calls.append(BotCall("sendMessage", {"chat_id": chat_id, "text": chunk}))

    for part in message.parts:
        match part:
            case Text(text=text):
                pending_text.append(text)
            case Buttons():
                flush()
                calls.extend(_buttons_calls(chat_id, part))
            case Image() | File() | Audio() | Video():
                flush()
                calls.extend(_media_calls(chat_id, part))
            case Location(latitude=lat, longitude=lon, name=name, address=address):
                flush()
                calls.append(_location_call(chat_id, lat, lon, name, address))
            case ContactCard(name=name, phone=phone) if phone:
                flush()
                calls.append(_contact_call(chat_id, name, phone))
            case ContactCard(name=name, email=email):
                pending_text.append(f"{name} {email}".strip())
            case _:
                pending_text.append(plain_text([part]))
    flush()
    if not calls:
        raise PermanentFailure("The message is empty, so there is nothing to send.")
    reply_to = _reply_to_message_id(message.reply_to_external_id, chat_id)
    if reply_to is not None:
        first = calls[0]
        quoted = {"message_id": reply_to, "allow_sending_without_reply": True}
        calls[0] = replace(first, params={**first.params, "reply_parameters": quoted})
    return calls


def fit_upload(call: BotCall, size: int) -> BotCall:
    """The call to make for an upload of ``size`` bytes: a photo above Telegram's photo
    limit goes as a document.

    Raises:
        PermanentFailure: the file is above the 50 MB upload limit.
    """
    if size > MAX_UPLOAD:
        raise PermanentFailure("The attachment is larger than Telegram's 50 MB upload limit.")
    if call.method == "sendPhoto" and size > MAX_PHOTO_UPLOAD:
        return replace(call, method="sendDocument")
    return call


def split_text(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-16 code units, broken after a newline
    or a space where one is near the end of a piece, never inside a surrogate pair."""
    pieces: list[str] = []
    rest = text
    while _utf16_len(rest) > limit:
        cut = _utf16_prefix(rest, limit)
        window = rest[:cut]
        for sep in ("\n", " "):
            at = window.rfind(sep)
            if at >= cut // 2:
                cut = at + 1
                break
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    if rest.strip():
        pieces.append(rest)
    return [p for p in pieces if p.strip()]


def keyboard_for(buttons: Sequence[Button]) -> tuple[dict[str, Any] | None, list[Button]]:
    """An ``InlineKeyboardMarkup`` (one button per row) for the buttons Telegram can show,
    and the buttons it cannot (an URL it refuses, a payload above 64 bytes, past the
    100th), which the caller lists as numbered text."""
    rows: list[list[dict[str, str]]] = []
    left_out: list[Button] = []
    for button in buttons:
        native = _native_button(button) if len(rows) < MAX_INLINE_BUTTONS else None
        if native is None:
            left_out.append(button)
        else:
            rows.append([native])
    return ({"inline_keyboard": rows} if rows else None), left_out


def _native_button(button: Button) -> dict[str, str] | None:
    title = button.title.strip()
    if button.kind == "url":
        if not title or not button.url.startswith(_URL_SCHEMES):
            return None
        return {"text": title, "url": button.url}
    data = button.payload or title
    if not title or not data or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
        return None
    return {"text": title, "callback_data": data}


def _buttons_calls(chat_id: int | str, part: Buttons) -> list[BotCall]:
    markup, left_out = keyboard_for(part.buttons)
    lines = [part.text.strip()] if part.text.strip() else []
    if left_out:
        lines.append("")
        for n, button in enumerate(left_out, 1):
            target = button.url if button.kind == "url" else ""
            lines.append(f"{n}. {button.title}" + (f": {target}" if target else ""))
    text = "\n".join(lines).strip() or EMPTY_TEXT_STANDIN
    chunks = split_text(text, MAX_TEXT)
    calls = [BotCall("sendMessage", {"chat_id": chat_id, "text": c}) for c in chunks]
    if markup is not None:
        # The keyboard goes under the last piece, next to where the customer reads.
        calls[-1] = replace(calls[-1], params={**calls[-1].params, "reply_markup": markup})
    return calls


def _media_calls(chat_id: int | str, part: Image | File | Audio | Video) -> list[BotCall]:
    media = part.media
    if not media.key:
        raise PermanentFailure(
            "An attachment of this message is not in the server's file store, so it "
            "cannot be uploaded to Telegram."
        )
    method = _upload_method(part)
    caption = "" if isinstance(part, Audio) else part.caption.strip()
    params: dict[str, Any] = {"chat_id": chat_id}
    calls = [BotCall(method, params, upload=media)]
    if caption and _utf16_len(caption) <= MAX_CAPTION:
        params["caption"] = caption
    elif caption:
        # Too long for a caption: the file goes bare and the text follows it.
        calls += [
            BotCall("sendMessage", {"chat_id": chat_id, "text": c})
            for c in split_text(caption, MAX_TEXT)
        ]
    return calls


def _upload_method(part: Image | File | Audio | Video) -> UploadMethod:
    mime = part.media.mime_type.lower()
    # Telegram converts only some formats; anything else still arrives, as a document.
    match part:
        case Image() if mime in _PHOTO_MIMES:
            return "sendPhoto"
        case Audio(voice=True) if mime in _VOICE_MIMES:
            return "sendVoice"
        case Audio(voice=False) if mime in _AUDIO_MIMES:
            return "sendAudio"
        case Video() if mime in _VIDEO_MIMES:
            return "sendVideo"
        case _:
            return "sendDocument"


def _location_call(chat_id: int | str, lat: float, lon: float, name: str, address: str) -> BotCall:
    if name and address:
        params = {"chat_id": chat_id, "latitude": lat, "longitude": lon}
        return BotCall("sendVenue", {**params, "title": name, "address": address})
    return BotCall("sendLocation", {"chat_id": chat_id, "latitude": lat, "longitude": lon})


def _contact_call(chat_id: int | str, name: str, phone: str) -> BotCall:
    first, _, last = (name.strip() or phone).partition(" ")
    params: dict[str, Any] = {"chat_id": chat_id, "phone_number": phone, "first_name": first}
    if last.strip():
        params["last_name"] = last.strip()
    return BotCall("sendContact", params)


def _reply_to_message_id(external_id: str | None, chat_id: int | str) -> int | None:
    """The message id inside ``"{chat_id}:{message_id}[:...]"`` when it is of this chat."""
    if not external_id:
        return None
    chat, _, rest = external_id.partition(":")
    message_id = rest.partition(":")[0]
    if chat != str(chat_id) or not message_id.isdigit():
        return None
    return int(message_id)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _utf16_prefix(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 code units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)
