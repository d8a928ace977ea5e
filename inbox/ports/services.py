"""The event bus and the password hasher the core is handed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from inbox.domain.events import Event

__all__ = ["EventBus", "EventHandler", "PasswordHasher"]


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
