"""The webhooks feature's events, for the root's registry: a changed subscription list
(every process reloads its copy) and the alert of a webhook the server disabled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbox.domain.event_registry import EventSpec, OperatorFrame
from inbox.domain.events import Event
from inbox.domain.operators import Role

__all__ = ["EVENTS", "WebhookDisabled", "WebhooksChanged"]


@dataclass(frozen=True, slots=True)
class WebhooksChanged(Event):
    """A webhook was added, edited, disabled or deleted: each process reloads which events
    have subscribers (the recorder reads that from memory, never per transaction)."""

    webhook_id: str


@dataclass(frozen=True, slots=True)
class WebhookDisabled(Event):
    """The server disabled a webhook after persistent failure (docs/webhooks.md). Only the
    URL's host travels: a path or query may hold the receiver's own token."""

    webhook_id: str
    host: str
    failures: int
    failing_since: datetime
    at: datetime
    last_error: str


def _disabled_frames(event: WebhookDisabled) -> Sequence[OperatorFrame]:
    """Supervisors and admins get ``webhook.disabled`` live (docs/webhooks.md)."""
    frame = {
        "type": "webhook.disabled",
        "webhook": {
            "id": event.webhook_id,
            "host": event.host,
            "failures": event.failures,
            "failing_since": event.failing_since.isoformat(),
            "at": event.at.isoformat(),
            "last_error": event.last_error,
        },
    }
    return (OperatorFrame(lambda v: v.operator.role in (Role.SUPERVISOR, Role.ADMIN), frame),)


EVENTS: tuple[EventSpec[Any], ...] = (
    EventSpec("webhooks_changed", WebhooksChanged),
    EventSpec("webhook_disabled", WebhookDisabled, _disabled_frames),
)
