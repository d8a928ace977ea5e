"""Routing's events: offers made and ended, deadline alerts. Declared here, where they
belong; the composition root adds :data:`EVENTS` to the event registry, which gives them
their codec between processes and their operator frames (docs/operator-protocol.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from inbox.domain.conversations import Conversation
from inbox.domain.event_registry import EventSpec, OperatorFrame
from inbox.domain.events import Event
from inbox.domain.ids import OperatorId
from inbox.domain.operators import Role
from inbox.domain.views import conversation_view
from routing.records import AlertKind, QueueId
from routing.views import offer_view

__all__ = ["EVENTS", "OfferChanged", "OfferState", "RoutingAlert"]

OfferState = Literal["created", "accepted", "declined", "expired", "withdrawn"]


@dataclass(frozen=True, slots=True)
class OfferChanged(Event):
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
class RoutingAlert(Event):
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


def _offer_frames(event: OfferChanged) -> Sequence[OperatorFrame]:
    """Only the offered operator hears of an offer."""
    frame: dict[str, Any]
    if event.state == "created":
        frame = {
            "type": "offer.created",
            "offer": offer_view(
                event.conversation,
                event.queue_id,
                event.queue_name,
                event.offered_at,
                event.expires_at,
            ),
            "conversation": conversation_view(event.conversation),
        }
    else:
        frame = {
            "type": "offer.ended",
            "conversation_id": event.conversation.id,
            "state": event.state,
            "reason": event.reason,
        }
    return (OperatorFrame(lambda v: v.operator.id == event.operator_id, frame),)


def _alert_frames(event: RoutingAlert) -> Sequence[OperatorFrame]:
    """A warning goes to the assignee; a breach or an overdue response to supervisors."""
    frame = {
        "type": "routing.alert",
        "alert": {
            "kind": event.kind,
            "target": event.target,
            "conversation_id": event.conversation.id,
            "queue_id": event.queue_id,
            "queue_name": event.queue_name,
            "due_at": event.due_at.isoformat(),
            "at": event.at.isoformat(),
            "operator_id": event.operator_id,
        },
        "conversation": conversation_view(event.conversation),
    }
    if event.kind == "sla_warning":
        return (OperatorFrame(lambda v: v.operator.id == event.operator_id, frame),)
    return (OperatorFrame(lambda v: v.operator.role in (Role.SUPERVISOR, Role.ADMIN), frame),)


#: Routing's event declarations, for the composition root's registry.
EVENTS: tuple[EventSpec[Any], ...] = (
    EventSpec("offer_changed", OfferChanged, _offer_frames),
    EventSpec("routing_alert", RoutingAlert, _alert_frames),
)
