"""The events the bots feature declares, for the root's event registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inbox.domain.event_registry import EventSpec
from inbox.domain.events import Event

__all__ = ["EVENTS", "BotSettingsChanged"]


@dataclass(frozen=True, slots=True)
class BotSettingsChanged(Event):
    """A scope's business hours or bot flow were saved: every process reloads its copy
    (the intake policy and the bot read them from memory, never per message)."""

    scope: str


EVENTS: tuple[EventSpec[Any], ...] = (EventSpec("bot_settings_changed", BotSettingsChanged),)
