"""The in-process event bus (the embedded default; a Redis bus replaces it across processes)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from inbox.domain.events import Event
from inbox.ports import EventHandler

__all__ = ["InProcessEventBus"]

logger = logging.getLogger(__name__)


class InProcessEventBus:
    """Calls every subscriber for every event, in order, in the publisher's task.

    Handlers must be quick (push to a queue, wake a worker): the publisher awaits them. A
    failing handler is logged and the others still run -- an event handler never fails the
    command that caused the event (STYLE.md #6).
    """

    def __init__(self) -> None:
        self._handlers: list[EventHandler] = []

    def subscribe(self, handler: EventHandler) -> None:
        self._handlers.append(handler)

    async def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            for handler in self._handlers:
                try:
                    await handler(event)
                except Exception:
                    logger.exception("event handler %r failed on %s", handler, type(event).__name__)
