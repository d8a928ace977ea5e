"""What routing stores: queues, the routing state of each open conversation (its task),
pending offers and the log of decisions.

Routing owns these records: :mod:`routing.queues` validates and reads a queue's
``settings`` document, the service decides what the rest mean, and ``storage`` persists
them through :class:`routing.ports.RoutingRepo`. Times are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, NewType

from inbox.domain.ids import ConversationId, OperatorId

__all__ = [
    "AlertKind",
    "DecisionRecord",
    "OfferRecord",
    "QueueId",
    "QueueRecord",
    "RoutingTask",
    "TaskStatus",
]


QueueId = NewType("QueueId", str)

#: What a routing alert is about (``routing.events.RoutingAlert``).
AlertKind = Literal["sla_warning", "sla_breach", "response_overdue"]


@dataclass(frozen=True, slots=True)
class QueueRecord:
    """A queue as stored. ``settings`` is its configuration as a JSON document (channels,
    members, skills, strategy, timeouts, escalation, SLA, texts; ``docs/routing.md``);
    ``state`` is what routing keeps between passes (round-robin turns, the recent
    handling time)."""

    id: QueueId
    name: str
    settings: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    is_default: bool = False
    state: Mapping[str, Any] = field(default_factory=dict)


class TaskStatus(StrEnum):
    #: In the queue (the conversation is ``queued``), possibly with offers pending.
    WAITING = "waiting"
    #: With an operator (the conversation is ``assigned``): response and SLA timers run.
    ASSIGNED = "assigned"
    #: The conversation was resolved (or handed to the bot); ``sla_met`` is final.
    DONE = "done"


@dataclass(frozen=True, slots=True)
class RoutingTask:
    """The routing state of one conversation for one episode (from entering the queue to
    resolution; a reopened conversation starts a new episode).

    ``entered_queue_at`` starts the escalation clock (an overflow, a transfer or a
    requeue restarts it); ``started_at`` starts the SLA clock (it does not restart).
    ``awaiting_reply_since`` is when the customer started waiting for an operator's
    answer (``None`` once answered): the response timer and "unanswered" are read from it.
    ``extra_skills`` narrow the queue's members (a transfer to a skill).
    """

    conversation_id: ConversationId
    queue_id: QueueId
    status: TaskStatus
    channel_kind: str
    started_at: datetime
    entered_queue_at: datetime
    updated_at: datetime
    priority: int = 0
    last_operator_id: OperatorId | None = None
    declined_by: frozenset[OperatorId] = frozenset()
    extra_skills: Mapping[str, int] = field(default_factory=dict)
    assignee_id: OperatorId | None = None
    assigned_at: datetime | None = None
    awaiting_reply_since: datetime | None = None
    first_response_at: datetime | None = None
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    sla_warned_at: datetime | None = None
    first_response_breached_at: datetime | None = None
    resolution_breached_at: datetime | None = None
    sla_met: bool | None = None
    response_alerted_at: datetime | None = None
    position_sent_at: datetime | None = None
    position_sent: int | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OfferRecord:
    """A pending offer of a conversation to an operator; ``weight`` is the capacity it
    reserves until it is accepted, declined, withdrawn or expires."""

    conversation_id: ConversationId
    operator_id: OperatorId
    queue_id: QueueId
    offered_at: datetime
    expires_at: datetime
    weight: float


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One routing decision about a conversation and why (``explanation`` is JSON:
    the step in force, the candidates considered, the winner's score, or who acted)."""

    id: str
    conversation_id: ConversationId
    queue_id: QueueId
    decided_at: datetime
    outcome: str
    explanation: Mapping[str, Any]
