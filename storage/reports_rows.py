"""Row ⇄ record mapping of the reports' facts (``report_facts``), and routing's share of
them: the statement the routing repository runs with every task it writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, String, bindparam, or_, update

from inbox.domain.ids import ChannelId, ContactId, ConversationId, OperatorId
from reports.records import EpisodeFacts, bucket_of
from routing.records import RoutingTask
from storage.rows import Row
from storage.tables_reports import report_facts
from storage.types import UtcDateTime

__all__ = ["ROUTING_INTO_FACTS", "facts_from_row", "facts_values", "routing_facts"]

_f = report_facts

#: Routing's queue and SLA outcome into the episode the task belongs to (the one whose
#: time span holds the task's start), run by the routing repository with every task it
#: writes: routing's part of the facts changes in the transaction that changes the task.
ROUTING_INTO_FACTS = (
    update(_f)
    .where(
        _f.c.conversation_id == bindparam("b_cid"),
        _f.c.received_at <= bindparam("b_started", type_=UtcDateTime),
        or_(
            _f.c.next_received_at.is_(None),
            _f.c.next_received_at > bindparam("b_started", type_=UtcDateTime),
        ),
        or_(
            _f.c.queue_id.is_distinct_from(bindparam("b_queue", type_=String)),
            _f.c.sla_met.is_distinct_from(bindparam("b_sla", type_=Boolean)),
        ),
    )
    .values(queue_id=bindparam("queue_id"), sla_met=bindparam("sla_met"))
)


def routing_facts(task: RoutingTask) -> dict[str, Any]:
    """The parameters of :data:`ROUTING_INTO_FACTS` for a task."""
    return {
        "b_cid": task.conversation_id,
        "b_started": task.started_at,
        "b_queue": task.queue_id,
        "b_sla": task.sla_met,
        "queue_id": task.queue_id,
        "sla_met": task.sla_met,
    }


def facts_values(f: EpisodeFacts) -> dict[str, Any]:
    """The row of an episode's facts (migration 0012 builds the same rows by itself)."""
    return {
        "conversation_id": f.conversation_id,
        "episode": f.episode,
        "current": f.current,
        "contact_id": f.contact_id,
        "channel_id": f.channel_id,
        "channel_kind": f.channel_kind,
        "received_at": f.received_at,
        "received_bucket": bucket_of(f.received_at),
        "new_customer": f.new_customer,
        "queued_at": f.queued_at,
        "first_response_at": f.first_response_at,
        "first_response_seconds": f.first_response_seconds,
        "first_response_business_seconds": f.first_response_business_seconds,
        "responder_id": f.responder_id,
        "operator_id": f.operator_id,
        "queue_id": f.queue_id,
        "sla_met": f.sla_met,
        "resolved_at": f.resolved_at,
        "resolution_seconds": f.resolution_seconds,
        "close_reason": f.close_reason,
        "bot_resolved": f.bot_resolved,
        "csat_rating": f.csat_rating,
        "csat_at": f.csat_at,
        "next_received_at": f.next_received_at,
    }


def facts_from_row(row: Row) -> EpisodeFacts:
    sla = row["sla_met"]
    return EpisodeFacts(
        conversation_id=ConversationId(row["conversation_id"]),
        episode=row["episode"],
        contact_id=ContactId(row["contact_id"]),
        channel_id=ChannelId(row["channel_id"]),
        channel_kind=row["channel_kind"],
        received_at=row["received_at"],
        new_customer=bool(row["new_customer"]),
        current=bool(row["current"]),
        queued_at=row["queued_at"],
        first_response_at=row["first_response_at"],
        first_response_seconds=row["first_response_seconds"],
        first_response_business_seconds=row["first_response_business_seconds"],
        responder_id=OperatorId(row["responder_id"]) if row["responder_id"] else None,
        operator_id=OperatorId(row["operator_id"]) if row["operator_id"] else None,
        queue_id=row["queue_id"],
        sla_met=bool(sla) if sla is not None else None,
        resolved_at=row["resolved_at"],
        resolution_seconds=row["resolution_seconds"],
        close_reason=row["close_reason"],
        bot_resolved=bool(row["bot_resolved"]),
        csat_rating=row["csat_rating"],
        csat_at=row["csat_at"],
        next_received_at=row["next_received_at"],
    )
