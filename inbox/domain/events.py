"""Domain events. Published on the event bus only after the transaction that caused them
committed (ARCHITECTURE.md, "Persist before acknowledging; publish events only after commit").

Ephemeral signals (typing) travel on the same bus but are never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import ChannelId, ConversationId, OperatorId
from inbox.domain.messages import Message
from inbox.domain.operators import Presence
from inbox.domain.routing import AlertKind, QueueId

__all__ = [
    "ConversationChangeReason",
    "ConversationChanged",
    "Event",
    "MessageCreated",
    "MessageUpdated",
    "OfferChanged",
    "OfferState",
    "OperatorPresenceChanged",
    "OutboxReady",
    "RoutingAlert",
    "Typing",
]

ConversationChangeReason = Literal[
    "created", "assigned", "unassigned", "resolved", "reopened", "read", "updated"
]


@dataclass(frozen=True, slots=True)
class MessageCreated:
    message: Message
    conversation: Conversation


@dataclass(frozen=True, slots=True)
class MessageUpdated:
    """A message's delivery status (or error) changed."""

    message: Message
    conversation: Conversation


@dataclass(frozen=True, slots=True)
class ConversationChanged:
    """``previous_*`` tell who could see the conversation before the change (an operator
    who watched it in the queue must learn that it left the queue)."""

    conversation: Conversation
    reason: ConversationChangeReason
    previous_assignee_id: OperatorId | None = None
    previous_status: ConversationStatus | None = None


@dataclass(frozen=True, slots=True)
class OperatorPresenceChanged:
    operator_id: OperatorId
    presence: Presence
    at: datetime


@dataclass(frozen=True, slots=True)
class Typing:
    """Someone is typing in a conversation. Ephemeral: never stored, never replayed."""

    conversation_id: ConversationId
    channel_id: ChannelId
    assignee_id: OperatorId | None
    by: Literal["customer", "operator"]
    operator_id: OperatorId | None = None
    operator_name: str = ""


@dataclass(frozen=True, slots=True)
class OutboxReady:
    """Outbound work was committed to the outbox; a delivery worker should look now."""

    channel_id: ChannelId


OfferState = Literal["created", "accepted", "declined", "expired", "withdrawn"]


@dataclass(frozen=True, slots=True)
class OfferChanged:
    """An offer of ``conversation`` to ``operator_id`` was made or ended. ``reason`` says
    why a withdrawn offer ended (``taken``: another operator accepted; ``overflow``,
    ``resolved``, ``away``, ``transferred``)."""

    conversation: Conversation
    operator_id: OperatorId
    state: OfferState
    queue_id: QueueId
    queue_name: str
    offered_at: datetime
    expires_at: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RoutingAlert:
    """A deadline is near or missed: ``sla_warning`` goes to the assignee,
    ``sla_breach`` and ``response_overdue`` to supervisors (live). ``target`` is
    ``first_response`` or ``resolution`` (``response`` for the response timer)."""

    kind: AlertKind
    conversation: Conversation
    queue_id: QueueId
    queue_name: str
    target: str
    due_at: datetime
    at: datetime
    operator_id: OperatorId | None = None


Event = (
    MessageCreated
    | MessageUpdated
    | ConversationChanged
    | OperatorPresenceChanged
    | Typing
    | OutboxReady
    | OfferChanged
    | RoutingAlert
)
