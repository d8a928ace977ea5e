"""Row ⇄ dataclass mapping, in one place.

``*_values`` turn a domain object into the column values of its table; ``*_from_row`` turn
a result row back (routing's records: :mod:`storage.routing_rows`). Enums go in as their
string values and come back as enum members; JSON columns hold plain dicts and lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inbox.domain.channels import Channel, ChannelKind
from inbox.domain.contacts import ChannelIdentity, Contact
from inbox.domain.content import parts_from_json, parts_to_json
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import (
    ChannelId,
    ContactId,
    ConversationId,
    MessageId,
    OperatorId,
    OutboxId,
)
from inbox.domain.messages import AuthorKind, DeliveryStatus, Direction, Message, MessageKind
from inbox.domain.operators import Operator, Presence, Role
from inbox.ports import AuthSession, OutboxItem

__all__ = [
    "Row",
    "channel_from_row",
    "channel_values",
    "contact_from_row",
    "contact_values",
    "conversation_from_row",
    "conversation_values",
    "identity_from_row",
    "identity_values",
    "message_from_row",
    "message_values",
    "operator_from_row",
    "operator_values",
    "outbox_from_row",
    "outbox_values",
    "session_from_row",
    "session_values",
]

#: A result row by column name (``Result.mappings()``).
Row = Mapping[Any, Any]


def channel_values(channel: Channel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "kind": str(channel.kind),
        "name": channel.name,
        "created_at": channel.created_at,
        "options": dict(channel.options),
        "enabled": channel.enabled,
    }


def channel_from_row(row: Row) -> Channel:
    return Channel(
        id=ChannelId(row["id"]),
        kind=ChannelKind(row["kind"]),
        name=row["name"],
        created_at=row["created_at"],
        options=dict(row["options"]),
        enabled=bool(row["enabled"]),
    )


def contact_values(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "display_name": contact.display_name,
        "created_at": contact.created_at,
        "phone": contact.phone,
        "email": contact.email,
        "tags": sorted(contact.tags),
        "extra_phones": list(contact.extra_phones),
        "extra_emails": list(contact.extra_emails),
        "notes": contact.notes,
        "external_id": contact.external_id or None,
    }


def contact_from_row(row: Row) -> Contact:
    return Contact(
        id=ContactId(row["id"]),
        display_name=row["display_name"],
        created_at=row["created_at"],
        phone=row["phone"],
        email=row["email"],
        tags=frozenset(row["tags"] or ()),
        extra_phones=tuple(row["extra_phones"] or ()),
        extra_emails=tuple(row["extra_emails"] or ()),
        notes=row["notes"],
        external_id=row["external_id"] or "",
    )


def identity_values(identity: ChannelIdentity) -> dict[str, Any]:
    return {
        "contact_id": identity.contact_id,
        "channel_id": identity.channel_id,
        "external_user_id": identity.external_user_id,
        "display_name": identity.display_name,
        "username": identity.username,
        "phone": identity.phone,
        "email": identity.email,
    }


def identity_from_row(row: Row) -> ChannelIdentity:
    return ChannelIdentity(
        contact_id=ContactId(row["contact_id"]),
        channel_id=ChannelId(row["channel_id"]),
        external_user_id=row["external_user_id"],
        display_name=row["display_name"],
        username=row["username"],
        phone=row["phone"],
        email=row["email"],
    )


def conversation_values(conversation: Conversation) -> dict[str, Any]:
    c = conversation
    return {
        "id": c.id,
        "channel_id": c.channel_id,
        "contact_id": c.contact_id,
        "status": str(c.status),
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "assignee_id": c.assignee_id,
        "last_message_seq": c.last_message_seq,
        "last_message_at": c.last_message_at,
        "last_inbound_at": c.last_inbound_at,
        "reply_window_ends_at": c.reply_window_ends_at,
        "unread_count": c.unread_count,
        "queued_at": c.queued_at,
        "resolved_at": c.resolved_at,
        "subject": c.subject,
        "preview": c.preview,
        "contact_name": c.contact_name,
        "channel_kind": c.channel_kind,
        "thread_key": c.thread_key,
        "close_reason": c.close_reason,
        "queue_id": c.queue_id,
    }


def conversation_from_row(row: Row) -> Conversation:
    assignee = row["assignee_id"]
    return Conversation(
        id=ConversationId(row["id"]),
        channel_id=ChannelId(row["channel_id"]),
        contact_id=ContactId(row["contact_id"]),
        status=ConversationStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        assignee_id=OperatorId(assignee) if assignee is not None else None,
        last_message_seq=row["last_message_seq"],
        last_message_at=row["last_message_at"],
        last_inbound_at=row["last_inbound_at"],
        reply_window_ends_at=row["reply_window_ends_at"],
        unread_count=row["unread_count"],
        queued_at=row["queued_at"],
        resolved_at=row["resolved_at"],
        subject=row["subject"],
        preview=row["preview"],
        contact_name=row["contact_name"],
        channel_kind=row["channel_kind"],
        thread_key=row["thread_key"],
        close_reason=row["close_reason"],
        queue_id=row["queue_id"],
    )


def message_values(message: Message) -> dict[str, Any]:
    m = message
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "channel_id": m.channel_id,
        "seq": m.seq,
        "kind": str(m.kind),
        "direction": str(m.direction),
        "author_kind": str(m.author_kind),
        "author_id": m.author_id,
        "parts": parts_to_json(m.parts),
        "status": str(m.status),
        "created_at": m.created_at,
        "client_id": m.client_id,
        "external_id": m.external_id,
        "error": m.error,
        "author_name": m.author_name,
        "meta": dict(m.meta),
    }


def message_from_row(row: Row) -> Message:
    return Message(
        id=MessageId(row["id"]),
        conversation_id=ConversationId(row["conversation_id"]),
        channel_id=ChannelId(row["channel_id"]),
        seq=row["seq"],
        kind=MessageKind(row["kind"]),
        direction=Direction(row["direction"]),
        author_kind=AuthorKind(row["author_kind"]),
        author_id=row["author_id"],
        parts=parts_from_json(row["parts"]),
        status=DeliveryStatus(row["status"]),
        created_at=row["created_at"],
        client_id=row["client_id"],
        external_id=row["external_id"],
        error=row["error"],
        author_name=row["author_name"],
        meta=dict(row["meta"]),
    )


def operator_values(operator: Operator) -> dict[str, Any]:
    o = operator
    return {
        "id": o.id,
        "login": o.login,
        "display_name": o.display_name,
        "role": str(o.role),
        "password_hash": o.password_hash,
        "created_at": o.created_at,
        "skills": dict(o.skills),
        "capacity": o.capacity,
        "presence": str(o.presence),
        "presence_changed_at": o.presence_changed_at,
        "last_assigned_at": o.last_assigned_at,
        "disabled": o.disabled,
        "last_seen_at": o.last_seen_at,
    }


def operator_from_row(row: Row) -> Operator:
    return Operator(
        id=OperatorId(row["id"]),
        login=row["login"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        password_hash=row["password_hash"],
        created_at=row["created_at"],
        skills={str(k): int(v) for k, v in row["skills"].items()},
        capacity=row["capacity"],
        presence=Presence(row["presence"]),
        presence_changed_at=row["presence_changed_at"],
        last_assigned_at=row["last_assigned_at"],
        disabled=bool(row["disabled"]),
        last_seen_at=row["last_seen_at"],
    )


def outbox_values(item: OutboxItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "message_id": item.message_id,
        "conversation_id": item.conversation_id,
        "channel_id": item.channel_id,
        "created_at": item.created_at,
        "available_at": item.available_at,
        "attempts": item.attempts,
        "last_error": item.last_error,
        "lease_owner": None,
        "lease_until": None,
        "seq": item.seq,
    }


def outbox_from_row(row: Row) -> OutboxItem:
    return OutboxItem(
        id=OutboxId(row["id"]),
        message_id=MessageId(row["message_id"]),
        conversation_id=ConversationId(row["conversation_id"]),
        channel_id=ChannelId(row["channel_id"]),
        created_at=row["created_at"],
        available_at=row["available_at"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        seq=row["seq"],
    )


def session_values(session: AuthSession) -> dict[str, Any]:
    return {
        "token_hash": session.token_hash,
        "operator_id": session.operator_id,
        "created_at": session.created_at,
        "expires_at": session.expires_at,
        "revoked_at": session.revoked_at,
    }


def session_from_row(row: Row) -> AuthSession:
    return AuthSession(
        token_hash=row["token_hash"],
        operator_id=OperatorId(row["operator_id"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )
