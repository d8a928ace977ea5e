"""The events the bots feature declares, for the root's event registry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbox.domain.conversations import Conversation
from inbox.domain.event_registry import EventSpec, OperatorFrame
from inbox.domain.events import Event
from inbox.domain.visibility import Viewer, can_see

__all__ = ["EVENTS", "BotSettingsChanged", "CsatReceived", "CsatRequested", "csat_view"]


@dataclass(frozen=True, slots=True)
class BotSettingsChanged(Event):
    """A scope's business hours or bot flow were saved: every process reloads its copy
    (the intake policy and the bot read them from memory, never per message)."""

    scope: str


@dataclass(frozen=True, slots=True)
class CsatRequested(Event):
    """The bot asked the customer of a resolved ``conversation`` for a rating (the web
    chat turns it into its ``csat.request`` frame)."""

    conversation: Conversation


@dataclass(frozen=True, slots=True)
class CsatReceived(Event):
    """The customer rated ``conversation`` (1..5) with an optional comment."""

    conversation: Conversation
    rating: int
    comment: str
    at: datetime


def csat_view(rating: int | None, comment: str, at: datetime | None) -> dict[str, Any] | None:
    """The conversation JSON's ``csat`` (CONTRACT.md): ``null`` or the rating."""
    if rating is None or at is None:
        return None
    return {"rating": rating, "comment": comment, "at": at.isoformat()}


def _csat_frames(event: CsatReceived) -> Sequence[OperatorFrame]:
    conversation = event.conversation

    def audience(viewer: Viewer) -> bool:
        return can_see(viewer, conversation)

    frame = {
        "type": "csat.received",
        "conversation_id": conversation.id,
        "csat": csat_view(event.rating, event.comment, event.at),
    }
    return (OperatorFrame(audience, frame),)


EVENTS: tuple[EventSpec[Any], ...] = (
    EventSpec("bot_settings_changed", BotSettingsChanged),
    EventSpec("csat_requested", CsatRequested),
    EventSpec("csat_received", CsatReceived, _csat_frames),
)
