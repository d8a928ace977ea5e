"""Domain events. Published on the event bus only after the transaction that caused them
committed (ARCHITECTURE.md, "Persist before acknowledging; publish events only after commit").

Ephemeral signals (typing) travel on the same bus but are never stored.

:class:`Event` is open: an event is a frozen dataclass that subclasses it, declared in the
package it belongs to (these are the core's; routing declares its offers and alerts in
``routing.events``). Its wire name, codec and operator frames come from one
:class:`~inbox.domain.event_registry.EventSpec` (the core's are in :mod:`inbox.core_events`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import ChannelId, ConversationId, OperatorId
from inbox.domain.messages import Message
from inbox.domain.operators import Presence

__all__ = [
    "AudienceChanged",
    "ConversationChangeReason",
    "ConversationChanged",
    "Event",
    "MessageCreated",
    "MessageUpdated",
    "OperatorPresenceChanged",
    "OutboxReady",
    "Typing",
]


@dataclass(frozen=True, slots=True)
class Event:
    """The base of every domain event. Subclasses are ``@dataclass(frozen=True, slots=True)``
    with fields of types the registry's codec carries (:mod:`inbox.domain.typed_codec`)."""


ConversationChangeReason = Literal[
    "created", "assigned", "unassigned", "resolved", "reopened", "read", "updated", "queue"
]


@dataclass(frozen=True, slots=True)
class MessageCreated(Event):
    message: Message
    conversation: Conversation


@dataclass(frozen=True, slots=True)
class MessageUpdated(Event):
    """A message's delivery status (or error) changed."""

    message: Message
    conversation: Conversation


@dataclass(frozen=True, slots=True)
class ConversationChanged(Event):
    """``previous_*`` tell who could see the conversation before the change (an operator
    who watched it in the queue must learn that it left the queue). ``previous_queue_id``
    is set when the change moved it to another queue (reason ``queue``); ``None``: the
    queue did not change (``conversation.queue_id`` is also the previous one)."""

    conversation: Conversation
    reason: ConversationChangeReason
    previous_assignee_id: OperatorId | None = None
    previous_status: ConversationStatus | None = None
    previous_queue_id: str | None = None


@dataclass(frozen=True, slots=True)
class OperatorPresenceChanged(Event):
    operator_id: OperatorId
    presence: Presence
    at: datetime


@dataclass(frozen=True, slots=True)
class Typing(Event):
    """Someone is typing in a conversation. Ephemeral: never stored, never replayed."""

    conversation_id: ConversationId
    channel_id: ChannelId
    assignee_id: OperatorId | None
    by: Literal["customer", "operator"]
    operator_id: OperatorId | None = None
    operator_name: str = ""
    #: The conversation's queue (``Conversation.queue_id``), for the visibility rule.
    queue_id: str | None = None


@dataclass(frozen=True, slots=True)
class AudienceChanged(Event):
    """Who may see which conversations changed without a conversation changing: a queue's
    visibility setting or its members (routing publishes it). Every process's operator hub
    recomputes its sessions' :class:`~inbox.domain.visibility.Visibility`."""

    at: datetime


@dataclass(frozen=True, slots=True)
class OutboxReady(Event):
    """Outbound work was committed to the outbox; a delivery worker should look now."""

    channel_id: ChannelId
