"""Sending one mail with aiosmtplib, and SMTP errors → the core's channel errors.

RFC 5321 §4.2.1: 4yz replies are transient (retry), 5yz permanent. Connection problems
and timeouts are transient. The reason shown to the operator quotes the server's reply
(it names the problem, e.g. "550 5.1.1 User unknown"), never our password.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from typing import Final

import aiosmtplib

from channels.email.options import EmailOptions
from inbox.domain.channel_errors import PermanentFailure, RetryLater

__all__ = ["SMTP_TIMEOUT", "send_mail"]

#: Seconds for connecting and for each SMTP reply; a big attachment over a slow link
#: still fits (aiosmtplib applies it per read, not to the whole transfer).
SMTP_TIMEOUT: Final = 30.0


async def send_mail(
    options: EmailOptions,
    mail: EmailMessage,
    *,
    tls_context: ssl.SSLContext | None = None,
    limit_s: float = SMTP_TIMEOUT,
) -> None:
    """Deliver ``mail`` to the channel's SMTP server (envelope from ``options.address``).

    Raises :class:`RetryLater` (refused/dropped connection, timeout, 4xx) or
    :class:`PermanentFailure` (5xx, authentication refused, TLS unavailable)."""
    client = aiosmtplib.SMTP(
        hostname=options.smtp_host,
        port=options.smtp_port,
        use_tls=options.smtp_tls == "ssl",
        start_tls=options.smtp_tls == "starttls",
        tls_context=tls_context,
        timeout=limit_s,
    )
    try:
        async with client:
            # Log in where the server offers AUTH (after STARTTLS); a relay that trusts
            # our IP offers none, and a server that needs it answers 530 to MAIL FROM.
            if client.is_ehlo_or_helo_needed:  # STARTTLS forgets the first EHLO's answer
                await client.ehlo()
            if options.username and client.supports_extension("auth"):
                await client.login(options.username, options.password)
            await client.send_message(mail, sender=options.address)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        if codes and all(400 <= c < 500 for c in codes):
            raise RetryLater(f"The mail server deferred the recipient: {text}") from exc
        raise PermanentFailure(f"The mail server refused the recipient: {text}") from exc
    except aiosmtplib.SMTPAuthenticationError as exc:
        if 400 <= exc.code < 500:
            raise RetryLater(f"The mail server could not log in now: {_reply(exc)}") from exc
        raise PermanentFailure(
            f"The mail server refused the SMTP login (check username and password): {_reply(exc)}"
        ) from exc
    except aiosmtplib.SMTPResponseException as exc:
        if 400 <= exc.code < 500:
            raise RetryLater(f"The mail server deferred the mail: {_reply(exc)}") from exc
        raise PermanentFailure(f"The mail server refused the mail: {_reply(exc)}") from exc
    except aiosmtplib.SMTPNotSupported as exc:
        raise PermanentFailure(
            f"The mail server does not support what the channel needs ({exc}); check "
            "smtp_tls and smtp_port."
        ) from exc
    except ssl.SSLError as exc:
        raise PermanentFailure(
            f"TLS with the mail server failed ({exc.reason or type(exc).__name__}); check "
            "smtp_tls and smtp_port."
        ) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise RetryLater(
            f"Could not reach the mail server {options.smtp_host}:{options.smtp_port} "
            f"({type(exc).__name__})."
        ) from exc


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {' '.join(str(exc.message).split())}"[:300]
