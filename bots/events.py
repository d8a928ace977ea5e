"""The events this feature declares, for the root's event registry (none yet: the
feature's issue adds them here, and nothing else has to change to carry them)."""

from __future__ import annotations

from typing import Any

from inbox.domain.event_registry import EventSpec

__all__ = ["EVENTS"]

EVENTS: tuple[EventSpec[Any], ...] = ()
