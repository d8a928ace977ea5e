"""Viber's errors → the core's channel errors, and the channel's own exception types.

The REST API answers HTTP 200 even for errors, with ``status`` (0 = ok) and
``status_message`` in the JSON (the "Error codes" table; docs/channels/viber.md, "What we
relied on"); proxies and outages answer with HTTP errors instead (429, 5xx, …), which are
mapped here too. Every failure leaves as :class:`RetryLater` or :class:`PermanentFailure`,
with a sentence the operator can act on.

Pure: no I/O, no logging.
"""

from __future__ import annotations

from collections.abc import Mapping

from inbox.domain.channel_errors import PermanentFailure, RetryLater

__all__ = [
    "DEFAULT_RATE_LIMIT_SECONDS",
    "PayloadError",
    "Unsendable",
    "check_http",
    "error_for_status",
    "retry_after_seconds",
]

#: Viber's "tooManyRequests" (status 12) names no wait; the delivery worker waits at least
#: this long before the next attempt (and backs off further on repeats).
DEFAULT_RATE_LIMIT_SECONDS = 2.0

#: Status codes of the REST API ("Error codes" table) that a retry cannot fix, with the
#: sentence the operator sees. Anything not listed and not rate limiting is permanent too,
#: with Viber's own ``status_message``.
_PERMANENT: Mapping[int, str] = {
    1: (
        "Viber could not use the webhook URL: it must be public HTTPS with a trusted "
        "certificate, and the server must be running and answering there."
    ),
    2: "Viber refused the bot token; check the channel's token.",
    3: "Viber refused the message as malformed.",
    4: "Viber refused the message: some required data is missing.",
    5: "The customer's Viber account no longer exists.",
    6: "The customer has not subscribed to the bot or has unsubscribed.",
    7: "The Viber bot account is blocked.",
    8: "The Viber bot account was not found for this token.",
    9: "The Viber bot account is suspended.",
    10: "No webhook is set for the Viber bot; set the channel up again.",
    11: "The customer's Viber app does not support bot messages.",
    13: "The customer's Viber app is too old for this message.",
    14: "The message uses features the customer's Viber app does not support.",
    15: "The Viber bot account is not authorized to send messages.",
}
#: "tooManyRequests": rate control breach.
_RATE_LIMITED = 12


class PayloadError(ValueError):
    """The callback is not in Viber's shape. The message never quotes the body."""


class Unsendable(ValueError):
    """The message cannot be expressed on Viber; ``reason`` is shown to the operator."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def error_for_status(
    status: int, status_message: str, retry_after: float | None = None
) -> RetryLater | PermanentFailure:
    """The core's channel error for a non-zero Viber ``status``."""
    if status == _RATE_LIMITED:
        return RetryLater(
            "Viber is rate limiting the bot; will try again.",
            retry_after if retry_after is not None else DEFAULT_RATE_LIMIT_SECONDS,
        )
    reason = _PERMANENT.get(status)
    if reason is None:
        detail = " ".join(status_message.split())[:200] or "no reason given"
        reason = f"Viber refused the request (status {status}: {detail})."
    return PermanentFailure(reason)


def check_http(status: int, retry_after: float | None) -> None:
    """Raises the core's channel error for an HTTP error status (a proxy or an outage in
    front of Viber); returns for anything below 400."""
    if status == 429:
        raise RetryLater("Viber is rate limiting the bot; will try again.", retry_after)
    if status >= 500:
        raise RetryLater(f"Viber is unavailable (HTTP {status}).", retry_after)
    if status in (401, 403):
        raise PermanentFailure("Viber refused the bot token; check the channel's token.")
    if status >= 400:
        raise PermanentFailure(f"Viber refused the request (HTTP {status}).")


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds; ``None`` when absent or not a number (Viber documents no
    such header; proxies in front of it may send one)."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return None if seconds is None or seconds != seconds else min(max(0.0, seconds), 3600.0)
