"""Row ⇄ dataclass mapping, in one place.

``*_values`` turn a domain object into the column values of its table; ``*_from_row`` turn
a result row back. Enums go in as their string values and come back as enum members;
JSON columns hold plain dicts and lists.
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
from routing.records import (
    DecisionRecord,
    OfferRecord,
    QueueId,
    QueueRecord,
    RoutingTask,
    TaskStatus,
)

__all__ = [
    "Row",
    "channel_from_row",
    "channel_values",
    "contact_from_row",
    "contact_values",
    "conversation_from_row",
    "conversation_values",
    "decision_from_row",
    "decision_values",
    "identity_from_row",
    "identity_values",
    "message_from_row",
    "message_values",
    "offer_from_row",
    "offer_values",
    "operator_from_row",
    "operator_values",
    "outbox_from_row",
    "outbox_values",
    "queue_from_row",
    "queue_values",
    "session_from_row",
    "session_values",
    "task_from_row",
    "task_values",
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
    }


def contact_from_row(row: Row) -> Contact:
    return Contact(
        id=ContactId(row["id"]),
        display_name=row["display_name"],
        created_at=row["created_at"],
        phone=row["phone"],
        email=row["email"],
        tags=frozenset(row["tags"] or ()),
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
        "unread_count": c.unread_count,
        "queued_at": c.queued_at,
        "resolved_at": c.resolved_at,
        "subject": c.subject,
        "preview": c.preview,
        "contact_name": c.contact_name,
        "channel_kind": c.channel_kind,
        "thread_key": c.thread_key,
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
        unread_count=row["unread_count"],
        queued_at=row["queued_at"],
        resolved_at=row["resolved_at"],
        subject=row["subject"],
        preview=row["preview"],
        contact_name=row["contact_name"],
        channel_kind=row["channel_kind"],
        thread_key=row["thread_key"],
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


def queue_values(queue: QueueRecord) -> dict[str, Any]:
    return {
        "id": queue.id,
        "name": queue.name,
        "settings": dict(queue.settings),
        "state": dict(queue.state),
        "is_default": queue.is_default,
        "created_at": queue.created_at,
        "updated_at": queue.updated_at,
    }


def queue_from_row(row: Row) -> QueueRecord:
    return QueueRecord(
        id=QueueId(row["id"]),
        name=row["name"],
        settings=dict(row["settings"]),
        state=dict(row["state"]),
        is_default=bool(row["is_default"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def task_values(task: RoutingTask) -> dict[str, Any]:
    t = task
    return {
        "conversation_id": t.conversation_id,
        "queue_id": t.queue_id,
        "status": str(t.status),
        "channel_kind": t.channel_kind,
        "started_at": t.started_at,
        "entered_queue_at": t.entered_queue_at,
        "updated_at": t.updated_at,
        "priority": t.priority,
        "last_operator_id": t.last_operator_id,
        # Sorted, so that equal sets store equal documents.
        "declined_by": sorted(t.declined_by),
        "extra_skills": dict(t.extra_skills),
        "assignee_id": t.assignee_id,
        "assigned_at": t.assigned_at,
        "awaiting_reply_since": t.awaiting_reply_since,
        "first_response_at": t.first_response_at,
        "first_response_due": t.first_response_due,
        "resolution_due": t.resolution_due,
        "sla_warned_at": t.sla_warned_at,
        "first_response_breached_at": t.first_response_breached_at,
        "resolution_breached_at": t.resolution_breached_at,
        "sla_met": t.sla_met,
        "response_alerted_at": t.response_alerted_at,
        "position_sent_at": t.position_sent_at,
        "position_sent": t.position_sent,
        "resolved_at": t.resolved_at,
    }


def _operator_id_or_none(value: Any) -> OperatorId | None:
    return OperatorId(value) if value is not None else None


def task_from_row(row: Row) -> RoutingTask:
    sla_met = row["sla_met"]
    return RoutingTask(
        conversation_id=ConversationId(row["conversation_id"]),
        queue_id=QueueId(row["queue_id"]),
        status=TaskStatus(row["status"]),
        channel_kind=row["channel_kind"],
        started_at=row["started_at"],
        entered_queue_at=row["entered_queue_at"],
        updated_at=row["updated_at"],
        priority=row["priority"],
        last_operator_id=_operator_id_or_none(row["last_operator_id"]),
        declined_by=frozenset(OperatorId(str(o)) for o in row["declined_by"]),
        extra_skills={str(k): int(v) for k, v in row["extra_skills"].items()},
        assignee_id=_operator_id_or_none(row["assignee_id"]),
        assigned_at=row["assigned_at"],
        awaiting_reply_since=row["awaiting_reply_since"],
        first_response_at=row["first_response_at"],
        first_response_due=row["first_response_due"],
        resolution_due=row["resolution_due"],
        sla_warned_at=row["sla_warned_at"],
        first_response_breached_at=row["first_response_breached_at"],
        resolution_breached_at=row["resolution_breached_at"],
        sla_met=bool(sla_met) if sla_met is not None else None,
        response_alerted_at=row["response_alerted_at"],
        position_sent_at=row["position_sent_at"],
        position_sent=row["position_sent"],
        resolved_at=row["resolved_at"],
    )


def offer_values(offer: OfferRecord) -> dict[str, Any]:
    return {
        "conversation_id": offer.conversation_id,
        "operator_id": offer.operator_id,
        "queue_id": offer.queue_id,
        "offered_at": offer.offered_at,
        "expires_at": offer.expires_at,
        "weight": offer.weight,
    }


def offer_from_row(row: Row) -> OfferRecord:
    return OfferRecord(
        conversation_id=ConversationId(row["conversation_id"]),
        operator_id=OperatorId(row["operator_id"]),
        queue_id=QueueId(row["queue_id"]),
        offered_at=row["offered_at"],
        expires_at=row["expires_at"],
        weight=float(row["weight"]),
    )


def decision_values(decision: DecisionRecord) -> dict[str, Any]:
    return {
        "id": decision.id,
        "conversation_id": decision.conversation_id,
        "queue_id": decision.queue_id,
        "decided_at": decision.decided_at,
        "outcome": decision.outcome,
        "explanation": dict(decision.explanation),
    }


def decision_from_row(row: Row) -> DecisionRecord:
    return DecisionRecord(
        id=row["id"],
        conversation_id=ConversationId(row["conversation_id"]),
        queue_id=QueueId(row["queue_id"]),
        decided_at=row["decided_at"],
        outcome=row["outcome"],
        explanation=dict(row["explanation"]),
    )
