"""WhatsApp Cloud API webhook JSON → customer messages and delivery statuses. Pure.

Shape (channel-contracts.md §3.2): ``{"object": "whatsapp_business_account", "entry":
[{"changes": [{"field": "messages", "value": {"metadata", "contacts", "messages" |
"statuses"}}]}]}``; every entry, change, message and status is converted (Meta batches).

Ids and keys
    * ``external_id`` is the message's ``id`` (the ``wamid.…``): unique per phone number and
      the same on every redelivery, so Meta's retries are stored once. An edit arrives as a
      message of its own (``type: "edit"``) with its own ``id``, so it is stored as a new
      message with ``edit_of_external_id`` = ``edit.original_message_id``; were an edit ever
      to reuse the original's id, ``"<id>:edit:<timestamp>"`` keeps it distinct and stable.
    * ``thread_key`` (where replies go) is the customer's ``wa_id``; for a username-only user
      without a phone number (the 2026 business-scoped ids) it is their ``user_id``; for a
      group message it is ``group:<group_id>``.
    * ``SenderProfile``: ``external_user_id`` = ``wa_id`` (else ``user_id``),
      ``display_name`` = ``contacts[].profile.name``, ``username`` =
      ``profile.username``, ``phone`` = ``wa_id``.

What is dropped, on purpose
    * changes of another phone number of the same Meta app (one app has one callback URL),
      changes of other fields (template reviews, account updates), and the business's own
      messages: ``smb_message_echoes`` (sent from the WhatsApp Business app) and any message
      ``from`` our own number. Our API sends are never echoed as ``messages``.
    * statuses other than sent/delivered/read/played/failed (``deleted`` and future ones).

Content (a dispatch table; anything else becomes :class:`Unsupported`, never dropped):
text, image, document, audio (``voice``), video, sticker, location, contacts, interactive
``button_reply``/``list_reply`` and template quick-reply ``button`` → :class:`ButtonReply`,
reaction → :class:`Reaction` (empty emoji: removed), ``edit``, ``revoke`` (a deletion: an
Unsupported notice naming it), and a click-to-WhatsApp ad ``referral`` keeps the message's
own content plus an ``Unsupported("referral", <headline and link>)`` note for the operator.
``context.id`` (a quoted message) becomes ``reply_to_external_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from channels.whatsapp.errors import GraphError, reason_for_code
from channels.whatsapp.wire import (
    WebhookShapeError,
    digits,
    int_or_none,
    list_of,
    mapping,
    mappings,
    timestamp,
)
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
from inbox.domain.messages import DeliveryStatus, InboundMessage, SenderProfile

__all__ = ["ParsedWebhook", "parse_webhook"]


@dataclass(frozen=True, slots=True)
class ParsedWebhook:
    messages: tuple[InboundMessage, ...] = ()
    statuses: tuple[StatusUpdate, ...] = ()
    #: Why parts of the payload were skipped (for a debug log; never contains content).
    skipped: tuple[str, ...] = ()


_STATUS: Mapping[str, DeliveryStatus] = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    # A voice message of ours was played: it was certainly read.
    "played": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}


def parse_webhook(
    payload: Any, channel_id: ChannelId, *, phone_number_id: str = ""
) -> ParsedWebhook:
    """Convert a parsed webhook body. ``phone_number_id`` (the channel's) filters out
    changes addressed to other numbers; empty accepts all. Raises
    :class:`WebhookShapeError` when the envelope is not WhatsApp's."""
    if not isinstance(payload, Mapping) or payload.get("object") != "whatsapp_business_account":
        raise WebhookShapeError("not a WhatsApp Business Account webhook")
    messages: list[InboundMessage] = []
    statuses: list[StatusUpdate] = []
    skipped: list[str] = []
    for field, value in _changes(payload):
        if field != "messages":
            skipped.append(f"field {field[:40]}")
            continue
        # Meta sends the receiving number's metadata with every "messages" change; a
        # change without it is not one of theirs, and could not be told apart from
        # another number's.
        metadata = mapping(value.get("metadata"), "metadata")
        addressed_to = metadata.get("phone_number_id")
        if not isinstance(addressed_to, str) or not addressed_to:
            raise WebhookShapeError("a messages change without metadata.phone_number_id")
        if phone_number_id and addressed_to and addressed_to != phone_number_id:
            skipped.append("another phone number")
            continue
        ours = {addressed_to, digits(str(metadata.get("display_phone_number") or ""))} - {""}
        contacts = list_of(value.get("contacts"), "contacts")
        for raw in list_of(value.get("messages"), "messages"):
            message = mapping(raw, "message")
            if str(message.get("from") or "") in ours:
                skipped.append("own message")
                continue
            messages.append(_message(message, contacts, channel_id))
        for raw in list_of(value.get("statuses"), "statuses"):
            status = _status(mapping(raw, "status"))
            if status is None:
                skipped.append("status")
            else:
                statuses.append(status)
    return ParsedWebhook(tuple(messages), tuple(statuses), tuple(skipped))


def _changes(payload: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for entry in list_of(payload.get("entry"), "entry", required=True):
        for change in list_of(mapping(entry, "entry").get("changes"), "changes", required=True):
            change = mapping(change, "change")
            field = change.get("field")
            if not isinstance(field, str):
                raise WebhookShapeError("a change has no field name")
            yield field, mapping(change.get("value"), "change value")


# --------------------------------------------------------------------------- messages


def _message(
    message: Mapping[str, Any], contacts: Sequence[Any], channel_id: ChannelId
) -> InboundMessage:
    message_id = message.get("id")
    if not isinstance(message_id, str) or not message_id:
        raise WebhookShapeError("a message has no id")
    sender = _sender(message, contacts)
    kind = str(message.get("type") or "unknown")
    edit_of: str | None = None
    external_id = message_id
    content = message
    if kind == "edit":
        edit = mapping(message.get("edit"))
        original = edit.get("original_message_id")
        inner = edit.get("message")
        if isinstance(original, str) and original and isinstance(inner, Mapping):
            edit_of, content = original, inner
            kind = str(inner.get("type") or "unknown")
            if external_id == original:
                external_id = f"{message_id}:edit:{message.get('timestamp', '')}"
    parts = _content(kind, content)
    referral = message.get("referral")
    if isinstance(referral, Mapping):
        parts += (_referral(referral),)
    context = mapping(content.get("context") or message.get("context"))
    reply_to = context.get("id")
    group = message.get("group_id")
    thread_key = f"group:{group}" if isinstance(group, str) and group else sender.external_user_id
    return InboundMessage(
        channel_id=channel_id,
        external_id=external_id,
        sender=sender,
        parts=parts,
        sent_at=timestamp(message.get("timestamp")),
        thread_key=thread_key,
        reply_to_external_id=reply_to if isinstance(reply_to, str) and reply_to else None,
        edit_of_external_id=edit_of,
    )


def _sender(message: Mapping[str, Any], contacts: Sequence[Any]) -> SenderProfile:
    sender_id = str(message.get("from") or "")
    contact: Mapping[str, Any] = {}
    for raw in contacts:
        candidate = mapping(raw)
        if sender_id and sender_id in (candidate.get("wa_id"), candidate.get("user_id")):
            contact = candidate
            break
    else:
        if len(contacts) == 1:
            contact = mapping(contacts[0])
    wa_id = str(contact.get("wa_id") or "") or (sender_id if sender_id.isdigit() else "")
    user_id = str(contact.get("user_id") or message.get("from_user_id") or "")
    external = wa_id or user_id or sender_id
    if not external:
        raise WebhookShapeError("a message has no sender")
    profile = mapping(contact.get("profile"))
    return SenderProfile(
        external_user_id=external,
        display_name=str(profile.get("name") or ""),
        username=str(profile.get("username") or ""),
        phone=wa_id,
    )


def _content(kind: str, message: Mapping[str, Any]) -> tuple[Part, ...]:
    convert = _CONVERTERS.get(kind)
    if convert is None:
        return (Unsupported(kind[:40], _unsupported_description(message)),)
    body = message.get(kind)
    if not isinstance(body, Mapping) and kind != "contacts":
        return (Unsupported(kind, "the message arrived without its content"),)
    return convert(message)


def _unsupported_description(message: Mapping[str, Any]) -> str:
    """Meta's words for content it could not pass on (``type: "unsupported"``, 131051)."""
    for holder in (message, mapping(message.get("unsupported"))):
        errors = holder.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            return reason_for_code(GraphError.from_item(errors[0]))
    inner = mapping(message.get("unsupported")).get("type")
    if isinstance(inner, str) and inner:
        return f"WhatsApp did not pass on this {inner[:40]} message"
    return "WhatsApp did not pass on this kind of message"


def _text(message: Mapping[str, Any]) -> tuple[Part, ...]:
    body = mapping(message.get("text"), "text").get("body")
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise WebhookShapeError("text.body is not a string")
    return (Text(body),) if body.strip() else (Unsupported("text", "an empty message"),)


def _media(message: Mapping[str, Any], kind: str) -> MediaRef:
    body = mapping(message.get(kind))
    media_id = body.get("id")
    return MediaRef(
        mime_type=str(body.get("mime_type") or "application/octet-stream"),
        key=None,
        provider_ref=str(media_id) if media_id else None,
        filename=str(body["filename"]) if body.get("filename") else None,
        size=int_or_none(body.get("file_size")),
    )


def _caption(message: Mapping[str, Any], kind: str) -> str:
    return str(mapping(message.get(kind)).get("caption") or "")


def _image(message: Mapping[str, Any]) -> tuple[Part, ...]:
    return (Image(_media(message, "image"), _caption(message, "image")),)


def _document(message: Mapping[str, Any]) -> tuple[Part, ...]:
    return (File(_media(message, "document"), _caption(message, "document")),)


def _video(message: Mapping[str, Any]) -> tuple[Part, ...]:
    return (Video(_media(message, "video"), _caption(message, "video")),)


def _sticker(message: Mapping[str, Any]) -> tuple[Part, ...]:
    return (Sticker(_media(message, "sticker")),)


def _audio(message: Mapping[str, Any]) -> tuple[Part, ...]:
    voice = mapping(message.get("audio")).get("voice") is True
    return (Audio(_media(message, "audio"), voice=voice),)


def _location(message: Mapping[str, Any]) -> tuple[Part, ...]:
    body = mapping(message.get("location"))
    try:
        latitude, longitude = float(body["latitude"]), float(body["longitude"])
    except (KeyError, TypeError, ValueError):
        return (Unsupported("location", "a location without coordinates"),)
    name = str(body.get("name") or "")
    address = str(body.get("address") or "")
    return (Location(latitude, longitude, name, address),)


def _contacts(message: Mapping[str, Any]) -> tuple[Part, ...]:
    cards: list[Part] = []
    for raw in list_of(message.get("contacts"), "contacts"):
        contact = mapping(raw)
        name = mapping(contact.get("name"))
        phones = [str(p.get("phone")) for p in mappings(contact.get("phones")) if p.get("phone")]
        emails = [str(e.get("email")) for e in mappings(contact.get("emails")) if e.get("email")]
        title = str(name.get("formatted_name") or name.get("first_name") or "")
        # ContactCard holds one phone and one e-mail; the rest are kept, comma separated.
        name_or_phone = title or (phones[0] if phones else "")
        cards.append(ContactCard(name_or_phone, ", ".join(phones), ", ".join(emails)))
    return tuple(cards) or (Unsupported("contacts", "an empty contact card"),)


def _interactive(message: Mapping[str, Any]) -> tuple[Part, ...]:
    body = mapping(message.get("interactive"))
    kind = str(body.get("type") or "")
    if kind in ("button_reply", "list_reply"):
        reply = mapping(body.get(kind))
        return (ButtonReply(str(reply.get("title") or ""), str(reply.get("id") or "")),)
    if kind == "nfm_reply":
        return (Unsupported("flow_reply", "the customer completed a WhatsApp Flow form"),)
    return (Unsupported(f"interactive {kind[:30]}".strip(), "an interactive reply"),)


def _button(message: Mapping[str, Any]) -> tuple[Part, ...]:
    body = mapping(message.get("button"))
    title = str(body.get("text") or "")
    return (ButtonReply(title, str(body.get("payload") or title)),)


def _reaction(message: Mapping[str, Any]) -> tuple[Part, ...]:
    body = mapping(message.get("reaction"))
    return (Reaction(str(body.get("emoji") or ""), str(body.get("message_id") or "")),)


def _revoke(message: Mapping[str, Any]) -> tuple[Part, ...]:
    return (Unsupported("deleted", "The customer deleted one of their messages."),)


def _order(message: Mapping[str, Any]) -> tuple[Part, ...]:
    items = list_of(mapping(message.get("order")).get("product_items"), "product_items")
    return (Unsupported("order", f"a catalog order of {len(items)} item(s)"),)


def _system(message: Mapping[str, Any]) -> tuple[Part, ...]:
    body = mapping(message.get("system"))
    kind = str(body.get("type") or "system")
    return (Unsupported("system", f"WhatsApp system notice: {kind[:40]}"),)


_CONVERTERS: Mapping[str, Callable[[Mapping[str, Any]], tuple[Part, ...]]] = {
    "text": _text,
    "image": _image,
    "document": _document,
    "video": _video,
    "sticker": _sticker,
    "audio": _audio,
    "location": _location,
    "contacts": _contacts,
    "interactive": _interactive,
    "button": _button,
    "reaction": _reaction,
    "revoke": _revoke,
    "order": _order,
    "system": _system,
}


def _referral(referral: Mapping[str, Any]) -> Unsupported:
    headline = str(referral.get("headline") or "").strip()
    source = str(referral.get("source_url") or "").strip()
    where = " — ".join(x for x in (headline, source) if x)
    text = f"The customer came from an ad: {where}" if where else "The customer came from an ad."
    return Unsupported("referral", text)


# --------------------------------------------------------------------------- statuses


def _status(status: Mapping[str, Any]) -> StatusUpdate | None:
    message_id = status.get("id")
    mapped = _STATUS.get(str(status.get("status") or ""))
    if not isinstance(message_id, str) or not message_id or mapped is None:
        return None
    error: str | None = None
    if mapped is DeliveryStatus.FAILED:
        errors = mappings(status.get("errors"))
        error = (
            reason_for_code(GraphError.from_item(errors[0]))
            if errors
            else "WhatsApp could not deliver the message."
        )
    return StatusUpdate(external_id=message_id, status=mapped, error=error)
