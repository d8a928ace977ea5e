"""The e-mail channel's one client face: a mailbox over IMAP (aioimaplib, in
:mod:`channels.email.imap`) and submission over SMTP (aiosmtplib, in
:mod:`channels.email.smtp`).

An :class:`EmailClient` is built from one channel's options. Its connections come from
injected factories (defaults: :class:`ImapSession` and :func:`smtp_connection` with the
given TLS context), so a test or a tool can hand it other transports. The IMAP session is
opened by :meth:`EmailClient.open` and kept until :meth:`EmailClient.close`; every mail
sent is one SMTP conversation of its own.

Mail is read with ``BODY.PEEK[]`` and never marked ``\\Seen`` or moved: the shop's own mail
client keeps working next to the inbox (docs/channels/email.md, "Known limits").

Failures leave as :class:`ImapError`/:class:`ImapLoginRefused` (IMAP) and
:class:`RetryLater`/:class:`PermanentFailure` (SMTP), see :mod:`channels.email.errors`.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from email.message import EmailMessage

import aiosmtplib

from channels.email.errors import ImapError
from channels.email.imap import FetchedMail, ImapSession
from channels.email.options import EmailOptions
from channels.email.smtp import send_mail, smtp_connection

__all__ = ["EmailClient", "ImapFactory", "SmtpFactory"]

#: Builds the (unopened) IMAP session for a channel's options.
ImapFactory = Callable[[EmailOptions], ImapSession]
#: Builds the (unconnected) aiosmtplib client for a channel's options.
SmtpFactory = Callable[[EmailOptions], aiosmtplib.SMTP]


class EmailClient:
    """One channel's mailbox and outgoing mail. Not safe for concurrent use of the IMAP
    half: the poller serialises calls per channel (sending opens its own connection)."""

    def __init__(
        self,
        options: EmailOptions,
        *,
        ssl_context: ssl.SSLContext | None = None,
        imap: ImapFactory | None = None,
        smtp: SmtpFactory | None = None,
    ) -> None:
        """``ssl_context`` verifies the IMAP/SMTP servers' certificates (default: the
        system's trust store) for the default factories; ``imap``/``smtp`` replace them."""
        self.options = options
        self._imap: ImapFactory = imap or (lambda o: ImapSession(o, ssl_context=ssl_context))
        self._smtp: SmtpFactory = smtp or (lambda o: smtp_connection(o, tls_context=ssl_context))
        self._session: ImapSession | None = None

    @property
    def alive(self) -> bool:
        """True while the IMAP session is open and its connection up."""
        return self._session is not None and self._session.alive

    # ------------------------------------------------------------------ IMAP

    async def open(self) -> None:
        """Connect, log in and SELECT the folder (closing a previous session first).
        Raises :class:`ImapLoginRefused` or :class:`ImapError`."""
        await self.close()
        self._session = self._imap(self.options)
        await self._session.open()

    async def select(self) -> int:
        """SELECT the folder again; returns its UIDVALIDITY."""
        return await self._live().select()

    async def new_uids(self, after: int) -> list[int]:
        """UIDs above ``after``, ascending."""
        return await self._live().new_uids(after)

    async def wait_for_mail(self, seconds: float) -> bool:
        """IDLE (or NOOP-poll) up to ``seconds``; True when the server reported new mail."""
        return await self._live().idle(seconds)

    async def fetch(self, uids: list[int], max_bytes: int) -> list[FetchedMail]:
        """The raw mails with these UIDs, unread flags untouched; mails over
        ``max_bytes`` come as headers only."""
        return await self._live().fetch(uids, max_bytes)

    async def close(self) -> None:
        """LOGOUT if connected; never raises."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _live(self) -> ImapSession:
        if self._session is None:
            raise ImapError("the IMAP session is not open")
        return self._session

    # ------------------------------------------------------------------ SMTP

    async def send(self, mail: EmailMessage) -> None:
        """Deliver ``mail`` (envelope from the channel's address) in one SMTP conversation.
        Raises :class:`RetryLater` or :class:`PermanentFailure`."""
        await send_mail(self.options, mail, connection=self._smtp(self.options))
