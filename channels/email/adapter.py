"""The e-mail channel: IMAP intake (polled, IDLE while waiting), SMTP delivery, set-up.

Implements :class:`inbox.ports.PollingAdapter`. The core's poller (``inbox/pollers.py``)
holds a database lease per channel, so one process reads a mailbox; it calls
:meth:`EmailAdapter.poll` with the saved cursor and saves the returned cursor only after
the batch is stored. Nothing read twice, nothing missed (channel-contracts.md §4.2):

* cursor ``"<uidvalidity>:<last uid>"``; a different UIDVALIDITY at SELECT means every
  stored UID is void, so reading starts over at UID 1 and the core's
  ``(channel, Message-ID)`` key drops what was stored already;
* at most :data:`BATCH` mails per poll, oldest first; a crash before the cursor is saved
  re-reads the batch, deduplicated the same way;
* a mail that cannot be parsed still becomes a message (an ``Unsupported`` part and the
  original) and advances the cursor: one bad mail never blocks the mailbox.

Conversion lives in :mod:`channels.email.converter` (inbound) and
:mod:`channels.email.outbound`; the wire in :mod:`channels.email.imap` and
:mod:`channels.email.smtp`. Attachments are stored while polling (``deps.media.put``):
IMAP has no stable per-file URL to fetch later, so :meth:`fetch_media` has nothing to do.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Mapping
from typing import Final

from channels.email.converter import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    ParsedMail,
    bounce_status,
    parse_mail,
    to_inbound,
)
from channels.email.ids import our_message_ids
from channels.email.imap import FetchedMail, ImapError, ImapLoginRefused, ImapSession
from channels.email.options import EmailOptions
from channels.email.outbound import OutboundFile, build_mail, media_parts
from channels.email.smtp import send_mail
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channel_io import (
    MediaBlob,
    PollResult,
    StatusUpdate,
    WebhookBatch,
    WebhookRejected,
    WebhookRequest,
)
from inbox.domain.channels import Channel
from inbox.domain.content import MediaRef, Unsupported
from inbox.domain.errors import InvalidInput, NotFound
from inbox.domain.ids import ChannelId
from inbox.domain.messages import InboundMessage, OutboundMessage
from inbox.ports import AdapterDeps, SendReceipt

__all__ = ["BATCH", "EmailAdapter"]

logger = logging.getLogger(__name__)

#: Mails per poll: small enough that a batch is stored quickly (the lease is 60 s), big
#: enough to catch up a backlog fast.
BATCH: Final = 50
#: A whole mail above this is read as headers only (the body would not fit our limits
#: anyway): 4 x the per-attachment limit, base64 adding a third.
DEFAULT_MAX_MESSAGE_BYTES: Final = 4 * DEFAULT_MAX_ATTACHMENT_BYTES


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
    ) -> None:
        """``ssl_context`` verifies the IMAP/SMTP servers' certificates (default: the
        system's trust store); the limits are per attachment and per mail."""
        self._deps = deps
        self._ssl_context = ssl_context
        self._max_attachment = max_attachment_bytes
        self._max_message = max_message_bytes
        self._batch = batch
        self._sessions: dict[ChannelId, ImapSession] = {}
        self._locks: dict[ChannelId, asyncio.Lock] = {}

    # ------------------------------------------------------------------ set-up

    async def setup(self, channel: Channel, public_url: str | None) -> Mapping[str, str]:
        """Checks the options and logs in to IMAP once. Raises :class:`InvalidInput`
        naming the bad option, or quoting the server's refusal (never the password).
        Returns ``{}``: e-mail needs no generated options."""
        options = EmailOptions.parse(channel.options)
        session = ImapSession(options, ssl_context=self._ssl_context)
        try:
            await session.open()
        except ImapLoginRefused as exc:
            raise InvalidInput(f"the IMAP server refused the login: {exc}") from exc
        except ImapError as exc:
            raise InvalidInput(
                f"could not open {options.folder} on {options.imap_host}:{options.imap_port}: {exc}"
            ) from exc
        finally:
            await session.close()
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
            raise PermanentFailure(f"The channel's settings are wrong: {exc}") from exc
        lock = self._locks.setdefault(channel.id, asyncio.Lock())
        async with lock:
            try:
                return await self._poll(channel, options, cursor, wait_seconds)
            except ImapLoginRefused as exc:
                await self._drop(channel.id)
                raise PermanentFailure(f"The IMAP server refused the login: {exc}") from exc
            except ImapError as exc:
                await self._drop(channel.id)
                raise RetryLater(f"The IMAP connection failed: {exc}") from exc

    async def _poll(
        self, channel: Channel, options: EmailOptions, cursor: str | None, wait_seconds: int
    ) -> PollResult:
        session = await self._session(channel, options)
        uidvalidity, last = _parse_cursor(cursor)
        current = await session.select()
        if current != uidvalidity:
            if uidvalidity:
                logger.warning(
                    "channel %s: UIDVALIDITY changed (%s → %s); re-reading %s, duplicates "
                    "are dropped by Message-ID",
                    channel.id,
                    uidvalidity,
                    current,
                    options.folder,
                )
            last = 0
        uids = await session.new_uids(last)
        # Stay below the 29-minute IDLE limit of RFC 2177 whatever the caller asks.
        if (
            not uids
            and wait_seconds > 0
            and await session.idle(min(float(wait_seconds), 25 * 60.0))
        ):
            uids = await session.new_uids(last)
        uids = uids[: self._batch]
        fetched = await session.fetch(uids, self._max_message)
        messages: list[InboundMessage] = []
        statuses: list[StatusUpdate] = []
        for mail in fetched:
            inbound, status = await self._convert(channel, options, mail)
            if inbound is not None:
                messages.append(inbound)
            if status is not None:
                statuses.append(status)
        if uids:
            last = max(last, uids[-1])
        return PollResult(
            WebhookBatch(messages=tuple(messages), statuses=tuple(statuses)), f"{current}:{last}"
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
            mail = _headers_only(mail, fetched.size, self._max_message)
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

    async def _session(self, channel: Channel, options: EmailOptions) -> ImapSession:
        session = self._sessions.get(channel.id)
        if session is not None and session.alive and session.options == options:
            return session
        if session is not None:
            await session.close()
        session = ImapSession(options, ssl_context=self._ssl_context)
        self._sessions[channel.id] = session
        await session.open()
        return session

    async def _drop(self, channel_id: ChannelId) -> None:
        session = self._sessions.pop(channel_id, None)
        if session is not None:
            await session.close()

    async def close(self) -> None:
        """Log out of every mailbox."""
        for channel_id in list(self._sessions):
            await self._drop(channel_id)

    # ------------------------------------------------------------------ delivery

    async def send(self, channel: Channel, message: OutboundMessage) -> SendReceipt:
        """Build the mail (threading headers, text + HTML, attachments read from the media
        store) and hand it to the SMTP server. The receipt's ``external_id`` is our
        Message-ID, which the customer's reply quotes in In-Reply-To."""
        try:
            options = EmailOptions.parse(channel.options)
        except InvalidInput as exc:
            raise PermanentFailure(f"The channel's settings are wrong: {exc}") from exc
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
        await send_mail(options, mail, tls_context=self._ssl_context)
        return SendReceipt(external_id=str(mail["Message-ID"]))


def _parse_cursor(cursor: str | None) -> tuple[int, int]:
    """``"<uidvalidity>:<last uid>"`` → ints; anything else → ``(0, 0)`` (start over;
    dedup by Message-ID makes that safe)."""
    if not cursor:
        return 0, 0
    validity, _, last = cursor.partition(":")
    if validity.isdigit() and last.isdigit():
        return int(validity), int(last)
    return 0, 0


def _headers_only(mail: ParsedMail, size: int, limit: int) -> ParsedMail:
    import dataclasses

    note = Unsupported(
        "oversize_mail",
        f"The mail is {size / 2**20:.1f} MiB, over the {limit / 2**20:.0f} MiB limit: only "
        "its headers were read. Open it in the mailbox itself.",
    )
    return dataclasses.replace(mail, text="", attachments=(), notes=(*mail.notes, note))


def _default_name(media: MediaRef) -> str:
    subtype = media.mime_type.partition("/")[2] or "bin"
    return f"attachment.{subtype.split('+')[0]}"
