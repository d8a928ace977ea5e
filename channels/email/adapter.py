"""The e-mail channel: IMAP intake (polled, IDLE while waiting), SMTP delivery, set-up.

Implements :class:`inbox.ports.PollingAdapter`. The core's poller (``inbox/pollers.py``)
calls :meth:`EmailAdapter.poll` with the saved cursor; the loop over the mailbox (cursor,
UIDVALIDITY, batches, IDLE) lives in :mod:`channels.email.poller`, the mailbox and the
SMTP server behind :class:`channels.email.client.EmailClient`, failures are mapped in
:mod:`channels.email.errors`, and conversion in :mod:`channels.email.converter`. This
module wires them: it parses the options, stores attachments, and builds the mails.

Attachments are stored while polling (``deps.media.put``): IMAP has no stable per-file URL
to fetch later, so :meth:`fetch_media` has nothing to do.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from functools import partial

from channels.email.client import EmailClient
from channels.email.converter import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    OutboundFile,
    bounce_status,
    build_mail,
    headers_only,
    media_parts,
    parse_mail,
    to_inbound,
)
from channels.email.errors import ImapError, settings_error, setup_error
from channels.email.ids import our_message_ids
from channels.email.imap import FetchedMail
from channels.email.options import EmailOptions
from channels.email.poller import BATCH, DEFAULT_MAX_MESSAGE_BYTES, ClientFactory, MailboxPoller
from inbox.domain.channel_errors import PermanentFailure
from inbox.domain.channel_io import (
    MediaBlob,
    PollResult,
    StatusUpdate,
    WebhookBatch,
    WebhookRejected,
    WebhookRequest,
)
from inbox.domain.channels import Channel
from inbox.domain.content import MediaRef
from inbox.domain.errors import InvalidInput, NotFound
from inbox.domain.messages import InboundMessage, OutboundMessage
from inbox.ports import AdapterDeps, SendReceipt

__all__ = ["EmailAdapter"]

logger = logging.getLogger(__name__)


class EmailAdapter:
    """One adapter serves every e-mail channel; one IMAP connection per channel is kept
    open between polls and re-opened when it drops (the poller backs off on
    ``RetryLater``). ``await close()`` logs out of every mailbox."""

    kind = "email"

    def __init__(
        self,
        deps: AdapterDeps,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        batch: int = BATCH,
        client: ClientFactory | None = None,
    ) -> None:
        """``ssl_context`` verifies the IMAP/SMTP servers' certificates (default: the
        system's trust store); the limits are per attachment and per mail. ``client``
        builds a channel's :class:`EmailClient` (default: one with ``ssl_context``)."""
        self._deps = deps
        self._max_attachment = max_attachment_bytes
        self._max_message = max_message_bytes
        self._connect: ClientFactory = client or (
            lambda options: EmailClient(options, ssl_context=ssl_context)
        )
        self._poller = MailboxPoller(
            self._connect, batch=batch, max_message_bytes=max_message_bytes
        )

    # ------------------------------------------------------------------ set-up

    async def setup(self, channel: Channel, public_url: str | None) -> Mapping[str, str]:
        """Checks the options and logs in to IMAP once. Raises :class:`InvalidInput`
        naming the bad option, or quoting the server's refusal (never the password).
        Returns ``{}``: e-mail needs no generated options."""
        options = EmailOptions.parse(channel.options)
        client = self._connect(options)
        try:
            await client.open()
        except ImapError as exc:
            raise setup_error(exc, options) from exc
        finally:
            await client.close()
        return {}

    def wants_polling(self, channel: Channel) -> bool:
        return True

    async def handle_webhook(self, channel: Channel, request: WebhookRequest) -> WebhookBatch:
        raise WebhookRejected(
            404, "not_found", "e-mail channels read their mailbox over IMAP; no webhooks"
        )

    async def fetch_media(self, channel: Channel, ref: MediaRef) -> MediaBlob:
        raise PermanentFailure(
            "E-mail attachments are stored when the mail arrives; this one is not stored."
        )

    # ------------------------------------------------------------------ intake

    async def poll(self, channel: Channel, cursor: str | None, wait_seconds: int) -> PollResult:
        """New mail after ``cursor``; when there is none, IDLE up to ``wait_seconds`` and
        return as soon as the server reports new mail. Raises :class:`RetryLater` when
        the server cannot be reached (the next poll reconnects) and
        :class:`PermanentFailure` when it refuses the login or the options are bad."""
        try:
            options = EmailOptions.parse(channel.options)
        except InvalidInput as exc:
            raise settings_error(exc) from exc
        return await self._poller.poll(
            channel, options, cursor, wait_seconds, partial(self._convert, channel, options)
        )

    async def _convert(
        self, channel: Channel, options: EmailOptions, fetched: FetchedMail
    ) -> tuple[InboundMessage | None, StatusUpdate | None]:
        """One mail → a customer message, a bounce status, or nothing (loop protection)."""
        secret = options.password
        try:
            mail = parse_mail(
                fetched.raw, own_address=options.address, max_attachment_bytes=self._max_attachment
            )
        except Exception:  # parse_mail is total; this guards the mailbox against a bug
            logger.exception("channel %s: parsing mail UID %s failed", channel.id, fetched.uid)
            mail = parse_mail(b"")
        if mail.kind == "bounce":
            return None, bounce_status(mail, secret)
        if mail.kind != "customer":
            logger.info("channel %s: mail UID %s skipped (%s)", channel.id, fetched.uid, mail.kind)
            return None, None
        if our_message_ids(secret, [mail.external_id]):
            return None, None  # one of our own replies, copied back into the mailbox
        if fetched.headers_only:
            mail = headers_only(mail, fetched.size, self._max_message)
        stored: list[MediaRef | None] = []
        for attachment in mail.attachments:
            stored.append(
                await self._deps.media.put(
                    attachment.data, mime_type=attachment.mime_type, filename=attachment.filename
                )
            )
        original = await self._deps.media.put(
            fetched.raw, mime_type="message/rfc822", filename="original.eml"
        )
        return (
            to_inbound(channel.id, mail, secret=secret, stored=stored, original=original),
            None,
        )

    async def close(self) -> None:
        """Log out of every mailbox."""
        await self._poller.close()

    # ------------------------------------------------------------------ delivery

    async def send(self, channel: Channel, message: OutboundMessage) -> SendReceipt:
        """Build the mail (threading headers, text + HTML, attachments read from the media
        store) and hand it to the SMTP server. The receipt's ``external_id`` is our
        Message-ID, which the customer's reply quotes in In-Reply-To."""
        try:
            options = EmailOptions.parse(channel.options)
        except InvalidInput as exc:
            raise settings_error(exc) from exc
        files: list[OutboundFile] = []
        for part in media_parts(message.parts):
            media = part.media
            if not media.key:
                raise PermanentFailure(
                    "An attachment is not stored on this server, so it cannot be mailed."
                )
            try:
                data = await self._deps.media.get(media.key)
            except NotFound as exc:
                raise PermanentFailure("An attachment of this message is missing.") from exc
            files.append(
                OutboundFile(data, media.mime_type, media.filename or _default_name(media))
            )
        mail = build_mail(
            message,
            address=options.address,
            channel_name=channel.name,
            secret=options.password,
            files=files,
            now=self._deps.clock.now(),
            automatic=bool(getattr(message, "automatic", False)),
        )
        await self._connect(options).send(mail)
        return SendReceipt(external_id=str(mail["Message-ID"]))


def _default_name(media: MediaRef) -> str:
    subtype = media.mime_type.partition("/")[2] or "bin"
    return f"attachment.{subtype.split('+')[0]}"
