"""Outbound: an :class:`OutboundMessage` → the ``messages.send`` calls that deliver it.

Pure: :func:`build_sends` plans the calls (texts, keyboards, which parts to upload and
how), :func:`send_params` renders one call's form fields once the uploads are done. The
adapter does the I/O in between.

One VK message carries text, up to 10 attachments, one keyboard and one location
(dev.vk.com/method/messages.send), so the parts of one of our messages usually become one
VK message; a second keyboard or location, an 11th attachment or text past
:data:`MAX_TEXT_CHARS` starts another. Parts VK cannot show (a contact card, a template, a
button reply, an unsupported part, a file we hold no bytes of) are written as text with
:func:`inbox.domain.content.plain_text`, the core's one rendering of them.

Idempotency: ``random_id`` is derived from our message id (and the call's index), so a
retry after a timeout carries the same ``random_id`` and VK does not send it twice
(channel-contracts.md §2.2: "persist the random_id with the outgoing message").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from inbox.domain.channel_errors import PermanentFailure
from inbox.domain.content import (
    Audio,
    Button,
    Buttons,
    File,
    Image,
    Location,
    MediaRef,
    Part,
    Sticker,
    Text,
    Video,
    plain_text,
)
from inbox.domain.messages import OutboundMessage

__all__ = [
    "BUTTON_PAYLOAD_KEY",
    "MAX_ATTACHMENTS",
    "MAX_INLINE_BUTTONS",
    "MAX_TEXT_CHARS",
    "PHOTO_MIME_TYPES",
    "SendPlan",
    "Upload",
    "UploadKind",
    "VkSend",
    "build_sends",
    "keyboard_json",
    "random_id_for",
    "send_params",
    "split_text",
]

#: VK refuses longer texts with error 914 "Message is too long". The schema allows 9000
#: characters, VK's own clients split at 4096; we split at the lower number.
MAX_TEXT_CHARS = 4096
#: Attachments per message (messages.send ``attachment``: "up to 10").
MAX_ATTACHMENTS = 10
#: An inline keyboard holds at most 10 buttons in at most 6 rows
#: (dev.vk.com/api/bots/development/keyboard); further buttons are listed as text.
MAX_INLINE_BUTTONS = 10
_MAX_ROWS = 6
#: Button labels are cut by VK at 40 characters; payloads may be 255 characters of JSON.
_MAX_LABEL = 40
_MAX_PAYLOAD = 255
#: Our reply buttons carry ``{"button": <payload>}``: VK wants a JSON payload, and the key
#: tells a press of our button (payload given back as is) from anyone else's.
BUTTON_PAYLOAD_KEY = "button"

UploadKind = Literal["photo", "doc", "audio_message"]

#: What photos.getMessagesUploadServer accepts (dev.vk.com/api/upload/photo-in-message).
PHOTO_MIME_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/gif"})


@dataclass(frozen=True, slots=True)
class Upload:
    """A file to upload before the send: ``photo`` (photos.getMessagesUploadServer →
    saveMessagesPhoto), ``doc`` or ``audio_message`` (docs.getMessagesUploadServer with
    that type → docs.save)."""

    kind: UploadKind
    media: MediaRef


@dataclass(frozen=True, slots=True)
class VkSend:
    """One ``messages.send`` call."""

    random_id: int
    text: str = ""
    keyboard: str | None = None
    uploads: tuple[Upload, ...] = ()
    location: tuple[float, float] | None = None
    #: ``(peer_id, conversation_message_id)`` of the message this one answers.
    reply_to: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class SendPlan:
    peer_id: int
    sends: tuple[VkSend, ...]


def random_id_for(key: str) -> int:
    """A deterministic ``random_id`` for ``key`` in 1..2**31-1 (a signed int32 that is
    never 0: VK skips deduplication for 0)."""
    value = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") & 0x7FFFFFFF
    return value or 1


def _button(button: Button) -> dict[str, Any]:
    label = button.title[:_MAX_LABEL]
    if button.kind == "url":
        return {"action": {"type": "open_link", "link": button.url, "label": label}}
    action: dict[str, Any] = {"type": "text", "label": label}
    payload = json.dumps({BUTTON_PAYLOAD_KEY: button.payload or button.title}, ensure_ascii=False)
    # Too long a payload: the press still arrives, as the label's text.
    if len(payload) <= _MAX_PAYLOAD:
        action["payload"] = payload
    return {"action": action}


def keyboard_json(buttons: Sequence[Button]) -> str:
    """An inline keyboard (shown under the message): ``open_link`` for URL buttons,
    ``text`` with a payload for reply buttons (their press arrives as a ``message_new``
    with the label as text and our payload; a ``text`` button needs no
    ``sendMessageEventAnswer``, unlike a ``callback`` one). One button per row, two per row
    past six buttons. At most :data:`MAX_INLINE_BUTTONS`."""
    chosen = list(buttons[:MAX_INLINE_BUTTONS])
    per_row = 1 if len(chosen) <= _MAX_ROWS else 2
    rows = [[_button(b) for b in chosen[i : i + per_row]] for i in range(0, len(chosen), per_row)]
    keyboard = {"one_time": False, "inline": True, "buttons": rows}
    return json.dumps(keyboard, ensure_ascii=False, separators=(",", ":"))


def split_text(text: str, limit: int = MAX_TEXT_CHARS) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at a line break or a space
    when there is one in the second half of a piece."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        if cut < limit // 2:
            cut = limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n ")
    pieces.append(text)
    return [p for p in pieces if p]


@dataclass
class _Draft:
    texts: list[str] = field(default_factory=list)
    keyboard: str | None = None
    uploads: list[Upload] = field(default_factory=list)
    location: tuple[float, float] | None = None

    def empty(self) -> bool:
        return not (self.texts or self.keyboard or self.uploads or self.location)


def _upload_kind(part: Part) -> UploadKind | None:
    match part:
        case Image(media=media) | Sticker(media=media):
            # The photo upload server takes JPG, PNG and GIF; other images go as documents.
            return "photo" if media.mime_type.lower() in PHOTO_MIME_TYPES else "doc"
        case Audio(voice=True):
            return "audio_message"
        case File() | Video() | Audio():
            # A community cannot upload videos or music to a message (video.save and
            # audio uploads need a user token): they go as documents.
            return "doc"
    return None


def _caption(part: Part) -> str:
    match part:
        case Image(caption=caption) | File(caption=caption) | Video(caption=caption):
            return caption
    return ""


class _Planner:
    def __init__(self) -> None:
        self.drafts: list[_Draft] = [_Draft()]

    @property
    def cur(self) -> _Draft:
        return self.drafts[-1]

    def flush(self) -> None:
        if not self.cur.empty():
            self.drafts.append(_Draft())

    def add(self, part: Part) -> None:
        match part:
            case Text(text=text):
                self.cur.texts.append(text)
            case Buttons(text=text, buttons=buttons):
                if self.cur.keyboard is not None:
                    self.flush()
                extra = buttons[MAX_INLINE_BUTTONS:]
                lines = [text] if text.strip() else []
                # What the keyboard cannot hold is listed, numbered, after the text.
                lines += [
                    f"{n}. {b.title}" + (f" {b.url}" if b.url else "")
                    for n, b in enumerate(extra, MAX_INLINE_BUTTONS + 1)
                ]
                if not lines and not self.cur.texts:
                    lines = [f"{n}. {b.title}" for n, b in enumerate(buttons, 1)]
                self.cur.texts.extend(lines)
                if buttons:
                    self.cur.keyboard = keyboard_json(buttons)
            case Location(latitude=lat, longitude=lon):
                if self.cur.location is not None:
                    self.flush()
                self.cur.location = (lat, lon)
                # VK wants a text or an attachment with lat/long: the place's name does.
                self.cur.texts.append(plain_text([part]))
            case _:
                kind = _upload_kind(part)
                media: MediaRef | None = getattr(part, "media", None)
                if kind is None or media is None or not media.key:
                    # Nothing VK can carry natively, or a file whose bytes we do not hold
                    # (never sent as a URL): the core's plain rendering.
                    self.cur.texts.append(plain_text([part]))
                    return
                if len(self.cur.uploads) == MAX_ATTACHMENTS:
                    self.flush()
                self.cur.uploads.append(Upload(kind, media))
                if caption := _caption(part):
                    self.cur.texts.append(caption)


def _reply_target(external_id: str | None) -> tuple[int, int] | None:
    """``"peer:cmid"`` (see :mod:`channels.vk.converter`) → ``(peer, cmid)``; other ids
    (edits, reactions) cannot be quoted."""
    if not external_id:
        return None
    peer, _, cmid = external_id.partition(":")
    if not (peer.lstrip("-").isdigit() and cmid.isdigit()):
        return None
    return int(peer), int(cmid)


def build_sends(message: OutboundMessage) -> SendPlan:
    """Plan the ``messages.send`` calls. Raises :class:`PermanentFailure` when the
    recipient is not a VK peer id or there is nothing to send."""
    recipient = message.recipient.strip()
    if not recipient.lstrip("-").isdigit():
        raise PermanentFailure("The conversation has no VK dialog to answer to.")
    planner = _Planner()
    for part in message.parts:
        planner.add(part)
    drafts = [d for d in planner.drafts if not d.empty()]
    if not drafts:
        raise PermanentFailure("The message is empty: there is nothing to send.")
    sends: list[VkSend] = []
    for draft in drafts:
        pieces = split_text("\n".join(draft.texts)) or [""]
        for n, piece in enumerate(pieces):
            last = n == len(pieces) - 1
            index = len(sends)
            sends.append(
                VkSend(
                    random_id=random_id_for(
                        message.message_id if index == 0 else f"{message.message_id}:{index}"
                    ),
                    text=piece,
                    keyboard=draft.keyboard if last else None,
                    uploads=tuple(draft.uploads) if last else (),
                    location=draft.location if last else None,
                )
            )
    reply_to = _reply_target(message.reply_to_external_id)
    if reply_to is not None:
        first = sends[0]
        sends[0] = VkSend(
            first.random_id, first.text, first.keyboard, first.uploads, first.location, reply_to
        )
    return SendPlan(peer_id=int(recipient), sends=tuple(sends))


def send_params(plan: SendPlan, send: VkSend, attachments: Sequence[str]) -> dict[str, str]:
    """The form fields of one ``messages.send`` (``v`` and ``access_token`` are added by
    the client). ``peer_ids`` rather than ``peer_id``: only then does VK answer with the
    message's ``conversation_message_id`` (``[{"peer_id", "message_id",
    "conversation_message_id"}]``, vk-api-schema ``messages_send_user_ids_response``)."""
    params: dict[str, str] = {"peer_ids": str(plan.peer_id), "random_id": str(send.random_id)}
    if send.text:
        params["message"] = send.text
    if attachments:
        params["attachment"] = ",".join(attachments)
    if send.keyboard is not None:
        params["keyboard"] = send.keyboard
    if send.location is not None:
        params["lat"], params["long"] = (f"{v:.6f}" for v in send.location)
    if send.reply_to is not None:
        peer, cmid = send.reply_to
        params["forward"] = json.dumps(
            {"peer_id": peer, "conversation_message_ids": [cmid], "is_reply": True},
            separators=(",", ":"),
        )
    return params
