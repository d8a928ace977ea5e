"""Row ⇄ record mapping for routing's tables (queues, tasks, offers, decisions), beside
:mod:`storage.rows` for the core's."""

from __future__ import annotations

from typing import Any

from inbox.domain.ids import ConversationId, OperatorId
from routing.records import (
    DecisionRecord,
    OfferRecord,
    QueueId,
    QueueRecord,
    RoutingTask,
    TaskStatus,
)
from storage.rows import Row

__all__ = [
    "decision_from_row",
    "decision_values",
    "offer_from_row",
    "offer_values",
    "queue_from_row",
    "queue_values",
    "task_from_row",
    "task_values",
]


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
