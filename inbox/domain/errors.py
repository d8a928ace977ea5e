"""Errors the core raises to its callers. Each carries a stable machine-readable code."""

from __future__ import annotations

import math

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidInput",
    "InvalidTransition",
    "NotFound",
    "Overloaded",
    "RepliesUnsupported",
    "TooLarge",
    "TooManyAttempts",
    "Unauthorized",
    "Unavailable",
    "WindowClosed",
]


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    code = "invalid_input"


class TooLarge(InvalidInput):
    code = "too_large"


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Unauthorized(DomainError):
    code = "unauthorized"


class Conflict(DomainError):
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class WindowClosed(Conflict):
    """The channel does not accept free text now (WhatsApp: 24 hours after the customer's
    last message); an approved template still goes."""

    code = "window_closed"


class RepliesUnsupported(Conflict):
    """The conversation's channel delivers nothing (the API's forms and calls): the
    operator answers on another of the customer's channels."""

    code = "replies_unsupported"


class TooManyAttempts(DomainError):
    """Too many failed log-ins for a login or an address: try again in ``retry_after``
    whole seconds (HTTP 429 with ``Retry-After``)."""

    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """Something outside the server (a provider) could not do it now; the message says why."""

    code = "unavailable"


class Overloaded(DomainError):
    """Too much inbound is waiting for the durable write: nothing was stored; send it again
    in ``retry_after`` seconds (HTTP 503 with ``Retry-After``; the web chat's ``slow_down``
    frame). See docs/reliability.md."""

    code = "overloaded"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds for ``Retry-After`` (at least 1)."""
        return max(1, math.ceil(self.retry_after))
