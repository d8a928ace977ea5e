"""IMAP and SMTP failures → the core's channel errors, and the channel's exception types.

SMTP (RFC 5321 §4.2.1): 4yz replies are transient (retry), 5yz permanent. Connection
problems and timeouts are transient. The reason shown to the operator quotes the
server's reply (it names the problem, e.g. "550 5.1.1 User unknown"), never our password.

IMAP: :class:`ImapLoginRefused` (the server refused the credentials) is permanent, any
other :class:`ImapError` (a dropped connection, a timeout, NO/BAD) is transient for a poll;
when a channel is set up either one refuses the options with the server's words.

Pure: no I/O, no logging.
"""

from __future__ import annotations

import ssl
from typing import Final

import aioimaplib  # type: ignore[import-untyped]  # no type hints; only its exception type
import aiosmtplib

from channels.email.options import EmailOptions
from inbox.domain.channel_errors import ChannelError, PermanentFailure, RetryLater
from inbox.domain.errors import InvalidInput

__all__ = [
    "IMAP_FAILURES",
    "SMTP_FAILURES",
    "ImapError",
    "ImapLoginRefused",
    "imap_error",
    "poll_error",
    "settings_error",
    "setup_error",
    "smtp_error",
]

#: What an aioimaplib call raises when the connection or the protocol fails.
IMAP_FAILURES: Final = (OSError, TimeoutError, aioimaplib.AioImapException)
#: What an aiosmtplib conversation raises (``ssl.SSLError`` is an ``OSError``).
SMTP_FAILURES: Final = (aiosmtplib.SMTPException, OSError, TimeoutError)


class ImapError(Exception):
    """The connection failed or the server said NO/BAD; the session is unusable."""


class ImapLoginRefused(ImapError):
    """The server refused the credentials; ``str(exc)`` is its reply (no password)."""


def imap_error(exc: BaseException) -> ImapError:
    """An :data:`IMAP_FAILURES` exception as an :class:`ImapError` naming its type."""
    return ImapError(f"{type(exc).__name__}: {exc}"[:200])


def poll_error(exc: ImapError) -> ChannelError:
    """A failed poll: :class:`PermanentFailure` when the login is refused, else
    :class:`RetryLater` (the next poll reconnects)."""
    if isinstance(exc, ImapLoginRefused):
        return PermanentFailure(f"The IMAP server refused the login: {exc}")
    return RetryLater(f"The IMAP connection failed: {exc}")


def setup_error(exc: ImapError, options: EmailOptions) -> InvalidInput:
    """The options refused at set-up, quoting the server's refusal (never the password)."""
    if isinstance(exc, ImapLoginRefused):
        return InvalidInput(f"the IMAP server refused the login: {exc}")
    return InvalidInput(
        f"could not open {options.folder} on {options.imap_host}:{options.imap_port}: {exc}"
    )


def settings_error(exc: InvalidInput) -> PermanentFailure:
    """A poll or a send on a channel whose stored options do not parse."""
    return PermanentFailure(f"The channel's settings are wrong: {exc}")


def smtp_error(exc: BaseException, options: EmailOptions) -> ChannelError:
    """An :data:`SMTP_FAILURES` exception → :class:`RetryLater` (refused/dropped
    connection, timeout, 4xx) or :class:`PermanentFailure` (5xx, authentication refused,
    TLS unavailable)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        if codes and all(400 <= c < 500 for c in codes):
            return RetryLater(f"The mail server deferred the recipient: {text}")
        return PermanentFailure(f"The mail server refused the recipient: {text}")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        if 400 <= exc.code < 500:
            return RetryLater(f"The mail server could not log in now: {_reply(exc)}")
        return PermanentFailure(
            f"The mail server refused the SMTP login (check username and password): {_reply(exc)}"
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if 400 <= exc.code < 500:
            return RetryLater(f"The mail server deferred the mail: {_reply(exc)}")
        return PermanentFailure(f"The mail server refused the mail: {_reply(exc)}")
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return PermanentFailure(
            f"The mail server does not support what the channel needs ({exc}); check "
            "smtp_tls and smtp_port."
        )
    if isinstance(exc, ssl.SSLError):
        # The ssl module sets ``reason``; an SSLError built by hand has none.
        reason = getattr(exc, "reason", None) or type(exc).__name__
        return PermanentFailure(
            f"TLS with the mail server failed ({reason}); check smtp_tls and smtp_port."
        )
    return RetryLater(
        f"Could not reach the mail server {options.smtp_host}:{options.smtp_port} "
        f"({type(exc).__name__})."
    )


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {' '.join(str(exc.message).split())}"[:300]
