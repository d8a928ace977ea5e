"""Errors the core raises to its callers. Each carries a stable machine-readable code."""

from __future__ import annotations

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidInput",
    "InvalidTransition",
    "NotFound",
    "TooLarge",
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


class Unavailable(DomainError):
    """Something outside the server (a provider) could not do it now; the message says why."""

    code = "unavailable"
