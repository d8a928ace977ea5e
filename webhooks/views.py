"""The JSON of webhooks and their delivery log (docs/webhooks.md). A webhook's secret is
in no view: it is shown once, in the answer that created it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from webhooks.records import Attempt, Delivery, DeliveryState, Webhook

__all__ = ["delivery_view", "webhook_view"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def webhook_view(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "url": webhook.url,
        "events": list(webhook.events),
        "enabled": webhook.enabled,
        "disabled_reason": webhook.disabled_reason or None,
        "consecutive_failures": webhook.consecutive_failures,
        "failing_since": _iso(webhook.failing_since),
        "created_at": _iso(webhook.created_at),
        "updated_at": _iso(webhook.updated_at),
    }


def delivery_view(delivery: Delivery, attempts: Sequence[Attempt]) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "event": delivery.event,
        "state": str(delivery.state),
        "attempts": delivery.attempts,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error or None,
        "next_attempt_at": _iso(delivery.next_attempt_at)
        if delivery.state is DeliveryState.PENDING
        else None,
        "delivered_at": _iso(delivery.delivered_at),
        "created_at": _iso(delivery.created_at),
        "log": [
            {
                "attempt": a.number,
                "at": _iso(a.at),
                "status": a.status,
                "error": a.error or None,
                "duration_ms": a.duration_ms,
            }
            for a in attempts
        ],
    }
