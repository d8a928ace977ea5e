"""The IMAP polling loop: one kept-open mailbox per channel, read by UID after a cursor,
IDLE while there is nothing new. E-mail has no webhook; this is its intake.

The core's poller (``inbox/pollers.py``) holds a database lease per channel, so one
process reads a mailbox; the adapter hands each poll here with the saved cursor, and the
core saves the returned cursor only after the batch is stored. Nothing read twice,
nothing missed (channel-contracts.md §4.2):

* cursor ``"<uidvalidity>:<last uid>"``; a different UIDVALIDITY at SELECT means every
  stored UID is void, so reading starts over at UID 1 and the core's
  ``(channel, Message-ID)`` key drops what was stored already;
* at most :data:`BATCH` mails per poll, oldest first; a crash before the cursor is saved
  re-reads the batch, deduplicated the same way;
* a mail that cannot be parsed still becomes a message (the adapter's conversion is
  total) and advances the cursor: one bad mail never blocks the mailbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from channels.email.client import EmailClient
from channels.email.converter import DEFAULT_MAX_ATTACHMENT_BYTES
from channels.email.errors import ImapError, poll_error
from channels.email.imap import FetchedMail
from channels.email.options import EmailOptions
from inbox.domain.channel_io import PollResult, StatusUpdate, WebhookBatch
from inbox.domain.channels import Channel
from inbox.domain.ids import ChannelId
from inbox.domain.messages import InboundMessage

__all__ = [
    "BATCH",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "ClientFactory",
    "Convert",
    "MailboxPoller",
    "parse_cursor",
]

logger = logging.getLogger(__name__)

#: Mails per poll: small enough that a batch is stored quickly (the lease is 60 s), big
#: enough to catch up a backlog fast.
BATCH: Final = 50
#: A whole mail above this is read as headers only (the body would not fit our limits
#: anyway): 4 x the per-attachment limit, base64 adding a third.
DEFAULT_MAX_MESSAGE_BYTES: Final = 4 * DEFAULT_MAX_ATTACHMENT_BYTES
#: RFC 2177 asks to renew IDLE within 29 minutes; we stay below whatever the caller asks.
_MAX_IDLE_SECONDS: Final = 25 * 60.0

#: Builds the (unopened) client for a channel's options.
ClientFactory = Callable[[EmailOptions], EmailClient]
#: One fetched mail → a customer message, a bounce status, or neither.
Convert = Callable[[FetchedMail], Awaitable[tuple[InboundMessage | None, StatusUpdate | None]]]


class MailboxPoller:
    """Keeps one open :class:`EmailClient` per channel between polls and re-opens it when
    it drops or the options change (the core's poller backs off on ``RetryLater``).
    ``await close()`` logs out of every mailbox."""

    def __init__(
        self,
        connect: ClientFactory,
        *,
        batch: int = BATCH,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self._connect = connect
        self._batch = batch
        self._max_message = max_message_bytes
        self._clients: dict[ChannelId, EmailClient] = {}
        self._locks: dict[ChannelId, asyncio.Lock] = {}

    async def poll(
        self,
        channel: Channel,
        options: EmailOptions,
        cursor: str | None,
        wait_seconds: int,
        convert: Convert,
    ) -> PollResult:
        """New mail after ``cursor``, each passed through ``convert``; when there is none,
        IDLE up to ``wait_seconds`` and return as soon as the server reports new mail.
        Raises :class:`RetryLater` when the server cannot be reached (the next poll
        reconnects) and :class:`PermanentFailure` when it refuses the login."""
        lock = self._locks.setdefault(channel.id, asyncio.Lock())
        async with lock:
            try:
                return await self._poll(channel, options, cursor, wait_seconds, convert)
            except ImapError as exc:
                await self._drop(channel.id)
                raise poll_error(exc) from exc

    async def _poll(
        self,
        channel: Channel,
        options: EmailOptions,
        cursor: str | None,
        wait_seconds: int,
        convert: Convert,
    ) -> PollResult:
        client = await self._client(channel, options)
        uidvalidity, last = parse_cursor(cursor)
        current = await client.select()
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
        uids = await client.new_uids(last)
        if (
            not uids
            and wait_seconds > 0
            and await client.wait_for_mail(min(float(wait_seconds), _MAX_IDLE_SECONDS))
        ):
            uids = await client.new_uids(last)
        uids = uids[: self._batch]
        fetched = await client.fetch(uids, self._max_message)
        messages: list[InboundMessage] = []
        statuses: list[StatusUpdate] = []
        for mail in fetched:
            inbound, status = await convert(mail)
            if inbound is not None:
                messages.append(inbound)
            if status is not None:
                statuses.append(status)
        if uids:
            last = max(last, uids[-1])
        return PollResult(
            WebhookBatch(messages=tuple(messages), statuses=tuple(statuses)), f"{current}:{last}"
        )

    async def _client(self, channel: Channel, options: EmailOptions) -> EmailClient:
        client = self._clients.get(channel.id)
        if client is not None and client.alive and client.options == options:
            return client
        if client is not None:
            await client.close()
        client = self._connect(options)
        self._clients[channel.id] = client
        await client.open()
        return client

    async def _drop(self, channel_id: ChannelId) -> None:
        client = self._clients.pop(channel_id, None)
        if client is not None:
            await client.close()

    async def close(self) -> None:
        """Log out of every mailbox."""
        for channel_id in list(self._clients):
            await self._drop(channel_id)


def parse_cursor(cursor: str | None) -> tuple[int, int]:
    """``"<uidvalidity>:<last uid>"`` → ints; anything else → ``(0, 0)`` (start over;
    dedup by Message-ID makes that safe)."""
    if not cursor:
        return 0, 0
    validity, _, last = cursor.partition(":")
    if validity.isdigit() and last.isdigit():
        return int(validity), int(last)
    return 0, 0
