"""The event bus, the password hasher and the queue restrictions the core is handed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from inbox.domain.events import Event
from inbox.domain.visibility import QueueRestrictions

__all__ = ["EventBus", "EventHandler", "PasswordHasher", "QueueRestrictionSource"]


EventHandler = Callable[[Event], Awaitable[None]]


class EventBus(Protocol):
    """Carries events to every subscriber (in-process, or across processes via Redis).

    ``publish`` is called after commit; it never raises because of a subscriber: each
    handler's failure is logged and the others still run.
    """

    async def publish(self, events: Sequence[Event]) -> None: ...

    def subscribe(self, handler: EventHandler) -> None: ...


class PasswordHasher(Protocol):
    """CPU-bound; callers run it in a thread so the event loop never waits on it."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str | None, password: str) -> bool:
        """False for a wrong password or an unreadable hash; never raises for those.

        ``None`` (an unknown login) verifies against a dummy hash and returns False, taking
        as long as a real check."""


class QueueRestrictionSource(Protocol):
    """Which queues hide their waiting conversations from whom (routing keeps queues and
    their members; the root hands the core routing's implementation). The core asks once
    per request of a plain operator, the operator hub once per change of queue settings
    (``AudienceChanged``), never per event."""

    async def load(self) -> QueueRestrictions:
        """The current restrictions: one read on its own connection (never inside another
        transaction's work)."""
        ...
