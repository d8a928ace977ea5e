"""Outgoing webhooks' records: a subscription, one delivery of one event to it, and the
attempts that delivery took (docs/webhooks.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NewType

__all__ = [
    "EVENT_NAMES",
    "Attempt",
    "Delivery",
    "DeliveryId",
    "DeliveryState",
    "DueDelivery",
    "Webhook",
    "WebhookId",
]

WebhookId = NewType("WebhookId", str)
DeliveryId = NewType("DeliveryId", str)

#: The event names a webhook can subscribe to (CONTRACT.md, "Accounts, tokens, reports and
#: integrations"), in the order the docs list them.
EVENT_NAMES: tuple[str, ...] = (
    "conversation.created",
    "conversation.assigned",
    "conversation.resolved",
    "message.created",
    "order.paid",
    "csat.received",
)


@dataclass(frozen=True, slots=True)
class Webhook:
    """A URL that gets the ``events`` it subscribed to, signed with ``secret``.

    ``failing_since`` and ``consecutive_failures`` describe the current run of failed
    attempts (reset by a success); ``disabled_reason`` says why the server disabled it
    ("" when an admin did, or when it is enabled)."""

    id: WebhookId
    url: str
    events: tuple[str, ...]
    secret: str
    enabled: bool
    created_at: datetime
    updated_at: datetime
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    disabled_reason: str = ""


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    #: Every attempt failed; the server gave up on this delivery.
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one webhook. ``body`` is the exact JSON document sent (built when the
    change committed, so a retry sends the same bytes); ``event_id`` is its ``"id"``."""

    id: DeliveryId
    webhook_id: WebhookId
    event_id: str
    event: str
    body: str
    created_at: datetime
    next_attempt_at: datetime
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    last_status: int | None = None
    last_error: str = ""
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A claimed delivery with what sending it needs from its webhook."""

    delivery: Delivery
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """One POST of a delivery: the receiver's status code, or the error (never a body)."""

    delivery_id: DeliveryId
    number: int
    at: datetime
    status: int | None
    error: str
    duration_ms: int
