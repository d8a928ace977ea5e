"""Sending one mail with aiosmtplib; its failures are mapped in :mod:`channels.email.errors`.

:func:`smtp_connection` builds the (not yet connected) aiosmtplib client for a channel's
options; :func:`send_mail` holds one SMTP conversation on it: connect, EHLO (again after
STARTTLS), AUTH where offered, MAIL/RCPT/DATA, QUIT.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from typing import Final

import aiosmtplib

from channels.email.errors import SMTP_FAILURES, smtp_error
from channels.email.options import EmailOptions

__all__ = ["SMTP_TIMEOUT", "send_mail", "smtp_connection"]

#: Seconds for connecting and for each SMTP reply; a big attachment over a slow link
#: still fits (aiosmtplib applies it per read, not to the whole transfer).
SMTP_TIMEOUT: Final = 30.0


def smtp_connection(
    options: EmailOptions,
    *,
    tls_context: ssl.SSLContext | None = None,
    limit_s: float = SMTP_TIMEOUT,
) -> aiosmtplib.SMTP:
    """An unconnected client for the channel's SMTP server (``ssl``: implicit TLS,
    ``starttls``: upgraded after EHLO, ``none``: plain)."""
    return aiosmtplib.SMTP(
        hostname=options.smtp_host,
        port=options.smtp_port,
        use_tls=options.smtp_tls == "ssl",
        start_tls=options.smtp_tls == "starttls",
        tls_context=tls_context,
        timeout=limit_s,
    )


async def send_mail(
    options: EmailOptions,
    mail: EmailMessage,
    *,
    connection: aiosmtplib.SMTP | None = None,
    tls_context: ssl.SSLContext | None = None,
    limit_s: float = SMTP_TIMEOUT,
) -> None:
    """Deliver ``mail`` to the channel's SMTP server (envelope from ``options.address``)
    over ``connection`` (default: :func:`smtp_connection` with ``tls_context``/``limit_s``).

    Raises :class:`RetryLater` (refused/dropped connection, timeout, 4xx) or
    :class:`PermanentFailure` (5xx, authentication refused, TLS unavailable)."""
    client = connection
    if client is None:
        client = smtp_connection(options, tls_context=tls_context, limit_s=limit_s)
    try:
        async with client:
            # Log in where the server offers AUTH (after STARTTLS); a relay that trusts
            # our IP offers none, and a server that needs it answers 530 to MAIL FROM.
            if client.is_ehlo_or_helo_needed:  # STARTTLS forgets the first EHLO's answer
                await client.ehlo()
            if options.username and client.supports_extension("auth"):
                await client.login(options.username, options.password)
            await client.send_message(mail, sender=options.address)
    except SMTP_FAILURES as exc:
        raise smtp_error(exc, options) from exc
