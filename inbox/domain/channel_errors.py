"""Errors a channel raises when it cannot deliver. The core records them on the message."""

from __future__ import annotations

__all__ = ["ChannelError", "PermanentFailure", "RetryLater"]


class ChannelError(Exception):
    """Base class. ``reason`` is a human-readable sentence shown to the operator."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryLater(ChannelError):
    """A transient failure (rate limit, timeout, 5xx). ``retry_after`` in seconds if known."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentFailure(ChannelError):
    """Retrying will not help (blocked by the user, outside the window, bad token)."""
