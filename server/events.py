"""The root collects every package's event declarations into one registry."""

from __future__ import annotations

from bots.events import EVENTS as BOT_EVENTS
from inbox.core_events import CORE_EVENTS
from inbox.domain.event_registry import EventRegistry
from payments.events import EVENTS as PAYMENT_EVENTS
from routing.events import EVENTS as ROUTING_EVENTS
from webhooks.events import EVENTS as WEBHOOK_EVENTS

__all__ = ["event_registry"]


def event_registry() -> EventRegistry:
    """A registry of every event this server knows: the core's, then each feature's."""
    return EventRegistry(
        [*CORE_EVENTS, *ROUTING_EVENTS, *BOT_EVENTS, *PAYMENT_EVENTS, *WEBHOOK_EVENTS]
    )
