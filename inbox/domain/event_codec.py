"""Domain events as JSON, for carrying them between server processes (docs/scaling.md).

Pure standard library. Every event type and every field round-trips:
``event_from_json(event_to_json(e)) == e``. Datetimes travel as ISO 8601 with their UTC
offset, enums as their values, ids as plain strings, content parts in the shape of
:func:`inbox.domain.content.part_to_dict`.

The document carries a version ``"v"``. A reader refuses a version it does not know and an
event type it does not know with :class:`EventDecodeError` (during a rolling deploy an older
process skips what a newer one sends, instead of guessing).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal, cast, get_args

from inbox.domain.content import part_from_dict, part_to_dict
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.events import (
    ConversationChanged,
    ConversationChangeReason,
    Event,
    MessageCreated,
    MessageUpdated,
    OfferChanged,
    OfferState,
    OperatorPresenceChanged,
    OutboxReady,
    RoutingAlert,
    Typing,
)
from inbox.domain.ids import ChannelId, ContactId, ConversationId, MessageId, OperatorId
from inbox.domain.messages import AuthorKind, DeliveryStatus, Direction, Message, MessageKind
from inbox.domain.operators import Presence
from inbox.domain.routing import AlertKind, QueueId

__all__ = [
    "CODEC_VERSION",
    "EventDecodeError",
    "event_from_dict",
    "event_from_json",
    "event_to_dict",
    "event_to_json",
]

#: Bump when a change is not backwards compatible (a field renamed or its meaning changed);
#: adding an optional field with a default needs no bump.
CODEC_VERSION = 1

_REASONS: frozenset[str] = frozenset(get_args(ConversationChangeReason))
_TYPING_BY: frozenset[str] = frozenset(("customer", "operator"))


class EventDecodeError(ValueError):
    """The text is not an event this version understands: not JSON, another codec version,
    an unknown event type, or a field missing or of the wrong kind. The message names the
    event type and the problem, never field values (they may hold message text)."""


# --------------------------------------------------------------------------- encoding


def _dt(value: datetime) -> str:
    return value.isoformat()


def _opt_dt(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _message(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "channel_id": message.channel_id,
        "seq": message.seq,
        "kind": message.kind.value,
        "direction": message.direction.value,
        "author_kind": message.author_kind.value,
        "author_id": message.author_id,
        "parts": [part_to_dict(p) for p in message.parts],
        "status": message.status.value,
        "created_at": _dt(message.created_at),
        "client_id": message.client_id,
        "external_id": message.external_id,
        "error": message.error,
        "author_name": message.author_name,
        "meta": dict(message.meta),
    }


def _conversation(conversation: Conversation) -> dict[str, Any]:
    c = conversation
    return {
        "id": c.id,
        "channel_id": c.channel_id,
        "contact_id": c.contact_id,
        "status": c.status.value,
        "created_at": _dt(c.created_at),
        "updated_at": _dt(c.updated_at),
        "assignee_id": c.assignee_id,
        "last_message_seq": c.last_message_seq,
        "last_message_at": _opt_dt(c.last_message_at),
        "last_inbound_at": _opt_dt(c.last_inbound_at),
        "unread_count": c.unread_count,
        "queued_at": _opt_dt(c.queued_at),
        "resolved_at": _opt_dt(c.resolved_at),
        "subject": c.subject,
        "preview": c.preview,
        "contact_name": c.contact_name,
        "channel_kind": c.channel_kind,
        "thread_key": c.thread_key,
    }


def event_to_dict(event: Event) -> dict[str, Any]:
    """The JSON-ready document of ``event``: ``{"v": 1, "type": ..., <fields>}``."""
    body: dict[str, Any]
    match event:
        case MessageCreated(message=message, conversation=conversation):
            body = {
                "type": "message_created",
                "message": _message(message),
                "conversation": _conversation(conversation),
            }
        case MessageUpdated(message=message, conversation=conversation):
            body = {
                "type": "message_updated",
                "message": _message(message),
                "conversation": _conversation(conversation),
            }
        case ConversationChanged():
            body = {
                "type": "conversation_changed",
                "conversation": _conversation(event.conversation),
                "reason": event.reason,
                "previous_assignee_id": event.previous_assignee_id,
                "previous_status": (
                    None if event.previous_status is None else event.previous_status.value
                ),
            }
        case OperatorPresenceChanged(operator_id=operator_id, presence=presence, at=at):
            body = {
                "type": "operator_presence_changed",
                "operator_id": operator_id,
                "presence": presence.value,
                "at": _dt(at),
            }
        case Typing():
            body = {
                "type": "typing",
                "conversation_id": event.conversation_id,
                "channel_id": event.channel_id,
                "assignee_id": event.assignee_id,
                "by": event.by,
                "operator_id": event.operator_id,
                "operator_name": event.operator_name,
            }
        case OutboxReady(channel_id=channel_id):
            body = {"type": "outbox_ready", "channel_id": channel_id}
        case OfferChanged():
            body = {
                "type": "offer_changed",
                "conversation": _conversation(event.conversation),
                "operator_id": event.operator_id,
                "state": event.state,
                "queue_id": event.queue_id,
                "queue_name": event.queue_name,
                "offered_at": _dt(event.offered_at),
                "expires_at": _dt(event.expires_at),
                "reason": event.reason,
            }
        case RoutingAlert():
            body = {
                "type": "routing_alert",
                "kind": event.kind,
                "conversation": _conversation(event.conversation),
                "queue_id": event.queue_id,
                "queue_name": event.queue_name,
                "target": event.target,
                "due_at": _dt(event.due_at),
                "at": _dt(event.at),
                "operator_id": event.operator_id,
            }
        case _:
            raise TypeError(f"not a domain event: {type(event).__name__}")
    return {"v": CODEC_VERSION, **body}


def event_to_json(event: Event) -> str:
    """``event`` as compact ASCII JSON (non-ASCII text escaped, so any transport that moves
    bytes moves it unchanged, lone surrogates included)."""
    return json.dumps(event_to_dict(event), separators=(",", ":"))


# --------------------------------------------------------------------------- decoding


def _obj(raw: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise EventDecodeError(f"{name} is not an object")
    return raw


def _str(raw: Mapping[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str):
        raise EventDecodeError(f"{key} is not a string")
    return value


def _opt_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventDecodeError(f"{key} is not a string")
    return value


def _int(raw: Mapping[str, Any], key: str) -> int:
    value = raw[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise EventDecodeError(f"{key} is not an integer")
    return value


def _parse_dt(raw: Mapping[str, Any], key: str) -> datetime:
    return datetime.fromisoformat(_str(raw, key))


def _parse_opt_dt(raw: Mapping[str, Any], key: str) -> datetime | None:
    value = _opt_str(raw, key)
    return None if value is None else datetime.fromisoformat(value)


def _parse_message(raw: Any) -> Message:
    m = _obj(raw, "message")
    parts = m["parts"]
    if not isinstance(parts, list):
        raise EventDecodeError("parts is not a list")
    meta = _obj(m.get("meta") or {}, "meta")
    return Message(
        id=MessageId(_str(m, "id")),
        conversation_id=ConversationId(_str(m, "conversation_id")),
        channel_id=ChannelId(_str(m, "channel_id")),
        seq=_int(m, "seq"),
        kind=MessageKind(_str(m, "kind")),
        direction=Direction(_str(m, "direction")),
        author_kind=AuthorKind(_str(m, "author_kind")),
        author_id=_opt_str(m, "author_id"),
        parts=tuple(part_from_dict(_obj(p, "part")) for p in parts),
        status=DeliveryStatus(_str(m, "status")),
        created_at=_parse_dt(m, "created_at"),
        client_id=_opt_str(m, "client_id"),
        external_id=_opt_str(m, "external_id"),
        error=_opt_str(m, "error"),
        author_name=_str(m, "author_name"),
        meta={str(k): str(v) for k, v in meta.items()},
    )


def _parse_conversation(raw: Any) -> Conversation:
    c = _obj(raw, "conversation")
    assignee = _opt_str(c, "assignee_id")
    return Conversation(
        id=ConversationId(_str(c, "id")),
        channel_id=ChannelId(_str(c, "channel_id")),
        contact_id=ContactId(_str(c, "contact_id")),
        status=ConversationStatus(_str(c, "status")),
        created_at=_parse_dt(c, "created_at"),
        updated_at=_parse_dt(c, "updated_at"),
        assignee_id=None if assignee is None else OperatorId(assignee),
        last_message_seq=_int(c, "last_message_seq"),
        last_message_at=_parse_opt_dt(c, "last_message_at"),
        last_inbound_at=_parse_opt_dt(c, "last_inbound_at"),
        unread_count=_int(c, "unread_count"),
        queued_at=_parse_opt_dt(c, "queued_at"),
        resolved_at=_parse_opt_dt(c, "resolved_at"),
        subject=_str(c, "subject"),
        preview=_str(c, "preview"),
        contact_name=_str(c, "contact_name"),
        channel_kind=_str(c, "channel_kind"),
        thread_key=_str(c, "thread_key"),
    )


def _opt_operator(raw: Mapping[str, Any], key: str) -> OperatorId | None:
    value = _opt_str(raw, key)
    return None if value is None else OperatorId(value)


def _message_created(raw: Mapping[str, Any]) -> Event:
    return MessageCreated(_parse_message(raw["message"]), _parse_conversation(raw["conversation"]))


def _message_updated(raw: Mapping[str, Any]) -> Event:
    return MessageUpdated(_parse_message(raw["message"]), _parse_conversation(raw["conversation"]))


def _conversation_changed(raw: Mapping[str, Any]) -> Event:
    reason = _str(raw, "reason")
    if reason not in _REASONS:
        raise EventDecodeError("unknown conversation change reason")
    previous_status = _opt_str(raw, "previous_status")
    return ConversationChanged(
        conversation=_parse_conversation(raw["conversation"]),
        reason=cast(ConversationChangeReason, reason),
        previous_assignee_id=_opt_operator(raw, "previous_assignee_id"),
        previous_status=None if previous_status is None else ConversationStatus(previous_status),
    )


def _presence_changed(raw: Mapping[str, Any]) -> Event:
    return OperatorPresenceChanged(
        operator_id=OperatorId(_str(raw, "operator_id")),
        presence=Presence(_str(raw, "presence")),
        at=_parse_dt(raw, "at"),
    )


def _typing(raw: Mapping[str, Any]) -> Event:
    by = _str(raw, "by")
    if by not in _TYPING_BY:
        raise EventDecodeError("typing.by is neither customer nor operator")
    return Typing(
        conversation_id=ConversationId(_str(raw, "conversation_id")),
        channel_id=ChannelId(_str(raw, "channel_id")),
        assignee_id=_opt_operator(raw, "assignee_id"),
        by=cast(Literal["customer", "operator"], by),
        operator_id=_opt_operator(raw, "operator_id"),
        operator_name=_str(raw, "operator_name"),
    )


def _outbox_ready(raw: Mapping[str, Any]) -> Event:
    return OutboxReady(channel_id=ChannelId(_str(raw, "channel_id")))


_OFFER_STATES = frozenset(get_args(OfferState))
_ALERT_KINDS = frozenset(get_args(AlertKind))


def _offer_changed(raw: Mapping[str, Any]) -> Event:
    state = _str(raw, "state")
    if state not in _OFFER_STATES:
        raise EventDecodeError("unknown offer state")
    return OfferChanged(
        conversation=_parse_conversation(raw["conversation"]),
        operator_id=OperatorId(_str(raw, "operator_id")),
        state=cast(OfferState, state),
        queue_id=QueueId(_str(raw, "queue_id")),
        queue_name=_str(raw, "queue_name"),
        offered_at=_parse_dt(raw, "offered_at"),
        expires_at=_parse_dt(raw, "expires_at"),
        reason=_str(raw, "reason"),
    )


def _routing_alert(raw: Mapping[str, Any]) -> Event:
    kind = _str(raw, "kind")
    if kind not in _ALERT_KINDS:
        raise EventDecodeError("unknown alert kind")
    return RoutingAlert(
        kind=cast(AlertKind, kind),
        conversation=_parse_conversation(raw["conversation"]),
        queue_id=QueueId(_str(raw, "queue_id")),
        queue_name=_str(raw, "queue_name"),
        target=_str(raw, "target"),
        due_at=_parse_dt(raw, "due_at"),
        at=_parse_dt(raw, "at"),
        operator_id=_opt_operator(raw, "operator_id"),
    )


_DECODERS: Mapping[str, Callable[[Mapping[str, Any]], Event]] = {
    "message_created": _message_created,
    "message_updated": _message_updated,
    "conversation_changed": _conversation_changed,
    "operator_presence_changed": _presence_changed,
    "typing": _typing,
    "outbox_ready": _outbox_ready,
    "offer_changed": _offer_changed,
    "routing_alert": _routing_alert,
}


def event_from_dict(raw: Mapping[str, Any]) -> Event:
    """Inverse of :func:`event_to_dict`. Raises :class:`EventDecodeError`."""
    raw = _obj(raw, "event")
    version = raw.get("v")
    if version != CODEC_VERSION:
        raise EventDecodeError(
            f"event codec version {version!r} is not supported (this server reads {CODEC_VERSION})"
        )
    kind = raw.get("type")
    decoder = _DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None:
        shown = kind[:40] if isinstance(kind, str) else type(kind).__name__
        raise EventDecodeError(f"unknown event type {shown!r}")
    try:
        return decoder(raw)
    except EventDecodeError as exc:
        raise EventDecodeError(f"bad {kind} event: {exc}") from exc
    except KeyError as exc:
        raise EventDecodeError(f"bad {kind} event: field {exc} is missing") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        # Enum and datetime errors quote the offending value; say only which kind it was.
        raise EventDecodeError(f"bad {kind} event: {type(exc).__name__}") from exc


def event_from_json(text: str | bytes) -> Event:
    """Inverse of :func:`event_to_json`. Raises :class:`EventDecodeError`."""
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EventDecodeError("not JSON") from exc
    return event_from_dict(_obj(raw, "event"))
