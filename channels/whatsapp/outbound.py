"""Our outbound message → the Cloud API requests that deliver it (channel-contracts.md §3.3).
Pure: the adapter does the uploads and the POSTs.

One WhatsApp message carries one thing, so a message with several parts may take several
requests. Adjacent text parts are joined; text right before a :class:`Buttons` part becomes
the buttons' body, and text right before an image, video or file without a caption becomes
its caption (up to 1024 characters); every other part is a request of its own.
``context.message_id`` (the quoted customer message) goes on the first request.

Buttons, natively where WhatsApp can show them:
    * a URL button → ``interactive`` ``cta_url`` (WhatsApp allows one per message: further
      URL buttons and any reply buttons become numbered lines of the body);
    * 1 to 3 reply buttons → ``interactive`` ``button`` (id = the payload, title ≤ 20 chars,
      longer titles are shortened with "…"; the payload still identifies the choice);
    * otherwise (4+ reply buttons, an over-long body) → numbered plain text, like
      :func:`inbox.domain.content.plain_text`.

Attachments are uploaded (``POST /{phone_number_id}/media``) and sent by media id, never by
URL. WhatsApp accepts few formats per type, so an image, video, audio or sticker in
another format or over its size limit goes as a document (Meta's "Supported media types").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from inbox.domain.channel_errors import PermanentFailure
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
    Part,
    Reaction,
    Sticker,
    Template,
    Text,
    Unsupported,
    Video,
    plain_text,
)

__all__ = [
    "BUTTON_TITLE_LIMIT",
    "TEXT_LIMIT",
    "PlannedSend",
    "plan_messages",
    "recipient_fields",
    "render_buttons",
    "render_template",
    "split_text",
]

#: Meta's limits: text body 4096 characters, media caption and interactive body 1024,
#: button title and cta_url display_text 20, reply button id 256, at most 3 reply buttons.
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
INTERACTIVE_BODY_LIMIT = 1024
BUTTON_TITLE_LIMIT = 20
REPLY_ID_LIMIT = 256
MAX_REPLY_BUTTONS = 3

MediaKind = Literal["image", "document", "audio", "video", "sticker"]

_MB = 1024 * 1024
#: Accepted MIME types and size limits per media type (Meta, "Supported media types").
_ACCEPTED: dict[MediaKind, tuple[frozenset[str], int]] = {
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * _MB),
    "video": (frozenset({"video/mp4", "video/3gpp"}), 16 * _MB),
    "audio": (
        frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
        16 * _MB,
    ),
    "sticker": (frozenset({"image/webp"}), 500 * 1024),
}
DOCUMENT_LIMIT = 100 * _MB


@dataclass(frozen=True, slots=True)
class PlannedSend:
    """The JSON of one ``POST /{phone_number_id}/messages``. With ``upload`` set, the file
    must be uploaded first and its media id put into the payload (:meth:`with_media_id`)."""

    payload: dict[str, Any]
    upload: MediaRef | None = None
    media_kind: MediaKind | None = None

    def with_media_id(self, media_id: str) -> dict[str, Any]:
        assert self.media_kind is not None
        payload = dict(self.payload)
        payload[self.media_kind] = {**payload[self.media_kind], "id": media_id}
        return payload


def recipient_fields(thread_key: str) -> dict[str, str]:
    """``to`` and ``recipient_type`` for a conversation's thread key (a ``wa_id``, a
    business-scoped user id, or ``group:<id>``)."""
    if thread_key.startswith("group:"):
        return {"recipient_type": "group", "to": thread_key.removeprefix("group:")}
    return {"recipient_type": "individual", "to": thread_key}


def plan_messages(
    recipient: str, parts: Sequence[Part], reply_to_external_id: str | None = None
) -> list[PlannedSend]:
    """The requests, in order, that deliver ``parts`` to ``recipient`` (a thread key).
    Raises :class:`PermanentFailure` for content WhatsApp can never take (a file over
    100 MB, an attachment that is not in our media store)."""
    bodies: list[PlannedSend] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            text = "\n".join(pending)
            pending.clear()
            bodies.extend(PlannedSend(body) for body in _text_bodies(text))

    for part in parts:
        match part:
            case Text(text=text):
                pending.append(text)
            case Buttons(text=text, buttons=buttons):
                prefix = "\n".join(pending)
                pending.clear()
                body = f"{prefix}\n\n{text}" if prefix and text else prefix or text
                bodies.extend(PlannedSend(b) for b in render_buttons(Buttons(body, buttons)))
            case Image(caption="") | Video(caption="") | File(caption="") if (
                pending and len("\n".join(pending)) <= CAPTION_LIMIT
            ):
                # The text the operator wrote above the file becomes its caption.
                caption = "\n".join(pending)
                pending.clear()
                bodies.extend(_media_sends(dataclasses.replace(part, caption=caption)))
            case Image() | File() | Video() | Audio() | Sticker():
                flush()
                bodies.extend(_media_sends(part))
            case Template():
                flush()
                bodies.append(PlannedSend(render_template(part)))
            case Location(latitude=lat, longitude=lon, name=name, address=address):
                flush()
                location: dict[str, Any] = {"latitude": lat, "longitude": lon}
                if name:
                    location["name"] = name
                if address:
                    location["address"] = address
                bodies.append(PlannedSend({"type": "location", "location": location}))
            case ContactCard():
                flush()
                bodies.append(PlannedSend(_contact_body(part)))
            case Reaction(emoji=emoji, target_external_id=target) if target:
                flush()
                reaction = {"message_id": target, "emoji": emoji}
                bodies.append(PlannedSend({"type": "reaction", "reaction": reaction}))
            case Reaction() | ButtonReply() | Unsupported():
                pending.append(plain_text([part]))
    flush()

    head = {"messaging_product": "whatsapp", **recipient_fields(recipient)}
    planned: list[PlannedSend] = []
    for index, send in enumerate(bodies):
        payload = {**head, **send.payload}
        if index == 0 and reply_to_external_id and payload.get("type") != "reaction":
            payload["context"] = {"message_id": reply_to_external_id}
        planned.append(PlannedSend(payload, send.upload, send.media_kind))
    return planned


# --------------------------------------------------------------------------- text


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at a line break or space when one is
    near the end, so that no word is split unless it is longer than the limit."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = max(rest.rfind("\n", 0, limit), rest.rfind(" ", 0, limit))
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest.strip() or not pieces:
        pieces.append(rest)
    return pieces


def _text_bodies(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "text", "text": {"preview_url": False, "body": piece}}
        for piece in split_text(text)
    ]


# --------------------------------------------------------------------------- buttons


_WEB = ("https://", "http://")


def _title(title: str) -> str:
    title = title.strip() or "…"
    if len(title) <= BUTTON_TITLE_LIMIT:
        return title
    return title[: BUTTON_TITLE_LIMIT - 1].rstrip() + "…"


def _numbered(buttons: Sequence[Button], start: int = 1) -> list[str]:
    return [
        f"{n}. {b.title}" + (f" {b.url}" if b.kind == "url" and b.url else "")
        for n, b in enumerate(buttons, start)
    ]


def render_buttons(part: Buttons) -> list[dict[str, Any]]:
    """The message bodies (without recipient) for a text with buttons; see the module
    docstring for which form is chosen."""
    urls = [b for b in part.buttons if b.kind == "url" and b.url.startswith(_WEB)]
    replies = [b for b in part.buttons if b.kind == "reply"]
    text = part.text.strip()
    if urls:
        first, others = urls[0], [b for b in part.buttons if b is not urls[0]]
        body = "\n".join([text, "", *_numbered(others)]).strip() if others else text
        if len(body) <= INTERACTIVE_BODY_LIMIT:
            action = {
                "name": "cta_url",
                "parameters": {"display_text": _title(first.title), "url": first.url},
            }
            interactive = {"type": "cta_url", "body": {"text": body or "👇"}, "action": action}
            return [{"type": "interactive", "interactive": interactive}]
    elif (
        replies
        and len(replies) == len(part.buttons) <= MAX_REPLY_BUTTONS
        and len(text) <= INTERACTIVE_BODY_LIMIT
    ):
        ids = [(b.payload or b.title)[:REPLY_ID_LIMIT] for b in replies]
        if len(set(ids)) == len(ids) and all(ids):
            buttons = [
                {"type": "reply", "reply": {"id": id_, "title": _title(b.title)}}
                for id_, b in zip(ids, replies, strict=True)
            ]
            interactive = {
                "type": "button",
                "body": {"text": text or "👇"},
                "action": {"buttons": buttons},
            }
            return [{"type": "interactive", "interactive": interactive}]
    lines = [text, "", *_numbered(part.buttons)] if part.buttons else [text]
    return _text_bodies("\n".join(lines).strip() or "…")


# --------------------------------------------------------------------------- other parts


def render_template(part: Template) -> dict[str, Any]:
    """``template`` with the body parameters in order (``{{1}}``, ``{{2}}``, …)."""
    template: dict[str, Any] = {"name": part.name, "language": {"code": part.language}}
    if part.params:
        parameters = [{"type": "text", "text": p} for p in part.params]
        template["components"] = [{"type": "body", "parameters": parameters}]
    return {"type": "template", "template": template}


def _contact_body(part: ContactCard) -> dict[str, Any]:
    contact: dict[str, Any] = {"name": {"formatted_name": part.name, "first_name": part.name}}
    if part.phone:
        contact["phones"] = [{"phone": p.strip()} for p in part.phone.split(",") if p.strip()]
    if part.email:
        contact["emails"] = [{"email": e.strip()} for e in part.email.split(",") if e.strip()]
    return {"type": "contacts", "contacts": [contact]}


def _media_kind(wanted: MediaKind, media: MediaRef) -> MediaKind:
    """``wanted`` if WhatsApp takes this file as such, else ``document``."""
    accepted = _ACCEPTED.get(wanted)
    if accepted is None:
        return wanted
    mime = media.mime_type.split(";", 1)[0].strip().lower()
    types, limit = accepted
    if mime in types and (media.size is None or media.size <= limit):
        return wanted
    return "document"


def _media_sends(part: Image | File | Video | Audio | Sticker) -> list[PlannedSend]:
    media = part.media
    if media.key is None:
        raise PermanentFailure("The attachment is not stored on this server, so it cannot be sent.")
    if media.size is not None and media.size > DOCUMENT_LIMIT:
        raise PermanentFailure("The file is larger than WhatsApp's 100 MB limit.")
    wanted: MediaKind
    caption = ""
    match part:
        case Image(caption=caption):
            wanted = "image"
        case Video(caption=caption):
            wanted = "video"
        case Audio():
            wanted = "audio"
        case Sticker():
            wanted = "sticker"
        case File(caption=caption):
            wanted = "document"
    kind = _media_kind(wanted, media)
    body: dict[str, Any] = {}
    if kind == "document":
        body["filename"] = media.filename or "file"
    extra_text: list[str] = []
    if caption and kind in ("image", "video", "document"):
        if len(caption) <= CAPTION_LIMIT:
            body["caption"] = caption
        else:
            extra_text.append(caption)
    elif caption:
        extra_text.append(caption)
    sends = [PlannedSend({"type": kind, kind: body}, upload=media, media_kind=kind)]
    sends.extend(PlannedSend(b) for text in extra_text for b in _text_bodies(text))
    return sends
