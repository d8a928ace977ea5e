"""The events the payments feature declares, for the root's event registry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from inbox.domain.conversations import Conversation
from inbox.domain.event_registry import EventSpec, OperatorFrame
from inbox.domain.events import Event
from inbox.domain.visibility import Viewer, can_see
from payments.records import Order
from payments.views import order_view

__all__ = ["EVENTS", "OrderChanged"]


@dataclass(frozen=True, slots=True)
class OrderChanged(Event):
    """An order was created, edited, got its payment link, was paid, shipped... ``reason``
    is ``created``, ``updated``, ``link_sent``, ``paid``, ``status`` or ``refunded``.
    ``previous_status`` is the order's status before a change of status ("" when the
    status did not change or is not known): outgoing webhooks tell ``order.paid`` by it."""

    order: Order
    conversation: Conversation
    reason: str
    previous_status: str = ""


def _frames(event: OrderChanged) -> Sequence[OperatorFrame]:
    conversation, order = event.conversation, event.order

    def audience(viewer: Viewer) -> bool:
        # Those who may see the conversation, and the order's manager.
        return can_see(viewer, conversation) or viewer.operator.id == order.manager_id

    frame = {
        "type": "order.updated",
        "reason": event.reason,
        "conversation_id": conversation.id,
        "order": order_view(order),
    }
    return (OperatorFrame(audience, frame),)


EVENTS: tuple[EventSpec[Any], ...] = (EventSpec("order_changed", OrderChanged, _frames),)
