"""python-telegram-bot's errors → the core's delivery errors; the channel's own exception.

Transient failures (``RetryAfter``, ``TimedOut``, a ``NetworkError``, Telegram's 5xx, a
second poller's ``Conflict``) become :class:`RetryLater`; the rest (``Forbidden``,
``BadRequest``, ``InvalidToken``, a webhook ``Conflict``) :class:`PermanentFailure`.
:class:`~channels.telegram.client.TelegramClient` applies :func:`translate_error` to every
``TelegramError`` a call raises, with a sentence for the operator; reasons built here never
contain the bot token. :class:`MalformedUpdate` is what a webhook body that is not an
``Update`` raises (:func:`channels.telegram.webhook.parse_update`).

Pure: no I/O, no logging.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from typing import Final

from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from inbox.domain.channel_errors import ChannelError, PermanentFailure, RetryLater

__all__ = ["MalformedUpdate", "translate_error"]


class MalformedUpdate(ValueError):
    """The JSON is not a Telegram ``Update``. The message never quotes the payload."""


#: Substrings of Telegram's error descriptions (observed strings; channel-contracts.md
#: §1.3 says to match on the status first, so these only choose the sentence).
_FORBIDDEN_REASONS: Final = (
    ("blocked by the user", "The customer blocked the bot."),
    ("user is deactivated", "The customer's Telegram account was deleted."),
    ("kicked from", "The bot was removed from this chat."),
    ("not a member", "The bot is not a member of this chat."),
    ("can't initiate", "The customer has not started a chat with the bot yet."),
    ("not enough rights", "The bot has no permission to post this in the chat."),
)
_BAD_REQUEST_REASONS: Final = (
    ("chat not found", "The chat does not exist or the bot cannot see it."),
    (
        "https url must be provided",
        "Telegram only posts to HTTPS URLs: set INBOX_PUBLIC_URL to an https:// address "
        "(port 443, 80, 88 or 8443), or use mode=polling.",
    ),
    ("bad webhook", "Telegram refused the webhook URL; check INBOX_PUBLIC_URL."),
    ("user not found", "The customer does not exist on Telegram."),
    ("have no rights", "The bot has no permission to post this in the chat."),
    ("not enough rights", "The bot has no permission to post this in the chat."),
    ("button_url_invalid", "Telegram refused a button's link."),
    ("button_data_invalid", "Telegram refused a button's reply payload."),
    ("message is too long", "The text is longer than Telegram allows."),
    ("file is too big", "The file is larger than Telegram allows."),
    ("wrong file", "Telegram does not know this file."),
    ("invalid file", "Telegram does not know this file."),
)


def translate_error(exc: TelegramError, token: str = "") -> ChannelError:
    """The core's error for a PTB error: transient ones (rate limits, timeouts, network
    trouble, Telegram's 5xx) retry, the rest fail the message with a readable reason."""
    description = _safe_description(exc, token)
    lowered = description.lower()
    if isinstance(exc, RetryAfter):
        seconds = _retry_after_seconds(exc)
        return RetryLater(f"Telegram rate limit: retry in {seconds:g} s.", retry_after=seconds)
    if isinstance(exc, Forbidden):
        for needle, reason in _FORBIDDEN_REASONS:
            if needle in lowered:
                return PermanentFailure(reason)
        return PermanentFailure(f"Telegram does not let the bot write here ({description}).")
    if isinstance(exc, InvalidToken):
        return PermanentFailure(
            "Telegram rejected the bot token (or the API address is wrong); check the "
            "channel's token with @BotFather."
        )
    if isinstance(exc, BadRequest):  # a NetworkError subclass in PTB: test it first
        for needle, reason in _BAD_REQUEST_REASONS:
            if needle in lowered:
                return PermanentFailure(reason)
        return PermanentFailure(f"Telegram refused the request ({description}).")
    if isinstance(exc, Conflict):
        if "webhook" in lowered:
            return PermanentFailure(
                "A webhook is set for this bot, so it cannot be polled; run the channel's "
                "setup again in polling mode."
            )
        return RetryLater("Another process is polling this bot.", retry_after=5.0)
    if isinstance(exc, TimedOut):
        return RetryLater("Telegram did not answer in time.")
    if isinstance(exc, NetworkError):
        return RetryLater(f"Could not reach Telegram ({description}).")
    return RetryLater(f"Telegram answered unexpectedly ({description}).")


def _retry_after_seconds(exc: RetryAfter) -> float:
    # PTB 22.2+ warns on this int property unless PTB_TIMEDELTA is set; read it quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def _safe_description(exc: TelegramError, token: str) -> str:
    text = exc.message.removeprefix("Bad Request: ").removeprefix("Forbidden: ")
    if token:
        text = text.replace(token, "<token>")
    text = " ".join(text.split())
    return text[:200] + ("…" if len(text) > 200 else "")
