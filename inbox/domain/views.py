"""JSON views of domain objects, shared by the operator and customer protocols."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inbox.domain.content import parts_to_json, plain_text
from inbox.domain.conversations import Conversation
from inbox.domain.messages import Message
from inbox.domain.operators import Operator

__all__ = [
    "conversation_view",
    "customer_message_view",
    "message_view",
    "operator_view",
]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def message_view(message: Message) -> dict[str, Any]:
    """The message as operators see it (notes and delivery errors included)."""
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "kind": str(message.kind),
        "direction": str(message.direction),
        "author": {
            "kind": str(message.author_kind),
            "id": message.author_id,
            "name": message.author_name,
        },
        "parts": parts_to_json(message.parts),
        "text": plain_text(message.parts),
        "status": str(message.status),
        "error": message.error,
        "client_id": message.client_id,
        "meta": dict(message.meta),
        "created_at": _iso(message.created_at),
    }


def customer_message_view(message: Message) -> dict[str, Any]:
    """The message as the customer sees it: no internal ids of operators, no errors."""
    return {
        "id": message.id,
        "seq": message.seq,
        "from": "customer" if message.direction == "inbound" else "agent",
        "author_name": message.author_name if message.direction != "inbound" else "",
        "parts": parts_to_json(message.parts),
        "text": plain_text(message.parts),
        "client_id": message.client_id,
        "status": str(message.status),
        "created_at": _iso(message.created_at),
    }


def conversation_view(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "channel_id": conversation.channel_id,
        "channel_kind": conversation.channel_kind,
        "contact_id": conversation.contact_id,
        "contact_name": conversation.contact_name,
        "status": str(conversation.status),
        "assignee_id": conversation.assignee_id,
        "unread_count": conversation.unread_count,
        "last_message_seq": conversation.last_message_seq,
        "last_message_at": _iso(conversation.last_message_at),
        "preview": conversation.preview,
        "subject": conversation.subject,
        "created_at": _iso(conversation.created_at),
        "updated_at": _iso(conversation.updated_at),
        "queued_at": _iso(conversation.queued_at),
        "resolved_at": _iso(conversation.resolved_at),
        # One of the administrator's close reasons, or null (none given, or still open).
        "close_reason": conversation.close_reason or None,
        # A channel with a reply window (WhatsApp): free text is accepted until then.
        "window_expires_at": _iso(conversation.reply_window_ends_at),
        # The routing queue it waits in (or last waited in); null: never filed in one.
        "queue_id": conversation.queue_id,
    }


def operator_view(operator: Operator) -> dict[str, Any]:
    return {
        "id": operator.id,
        "login": operator.login,
        "name": operator.display_name,
        "role": str(operator.role),
        "skills": dict(operator.skills),
        "capacity": operator.capacity,
        "presence": str(operator.presence),
        "disabled": operator.disabled,
    }
