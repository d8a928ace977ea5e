"""The Telegram channel: webhook and long-poll intake, delivery, media, set-up.

Implements :class:`inbox.ports.PollingAdapter` (and so ``ChannelAdapter``) by wiring the
package's modules: :mod:`~channels.telegram.webhook` (authenticating and parsing webhook
calls), :mod:`~channels.telegram.poller` (one ``getUpdates`` long poll),
:mod:`~channels.telegram.converter` (inbound) and :mod:`~channels.telegram.outbound`
conversion, :mod:`~channels.telegram.client` (the Bot API client) with
:mod:`~channels.telegram.errors` (its error translation), and
:mod:`~channels.telegram.options`. Nothing here touches storage: the core stores what
``handle_webhook``/``poll`` return and records what ``send`` returns or raises.
"""

from __future__ import annotations

import logging
import mimetypes
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from typing import Final

import httpx
from telegram import Update

from channels.telegram.client import TelegramClient, Timeouts
from channels.telegram.converter import ALLOWED_UPDATES, convert_update, message_external_id
from channels.telegram.fast import convert_plain_text
from channels.telegram.options import TelegramOptions, webhook_url
from channels.telegram.outbound import BotCall, fit_upload, plan_calls
from channels.telegram.poller import poll_updates, wants_polling
from channels.telegram.webhook import check_secret, read_json, update_of, webhook_reply
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channel_io import (
    MediaBlob,
    PollResult,
    WebhookBatch,
    WebhookReply,
    WebhookRequest,
)
from inbox.domain.channels import Channel
from inbox.domain.content import MediaRef
from inbox.domain.errors import InvalidInput, NotFound
from inbox.domain.ids import MessageId
from inbox.domain.messages import InboundMessage, OutboundMessage
from inbox.ports import AdapterDeps, SendReceipt

__all__ = ["TelegramAdapter"]

logger = logging.getLogger(__name__)

#: Messages whose delivery is part-way done (some of their calls made), remembered so a
#: retry does not send those parts again. Telegram has no idempotency key
#: (channel-contracts.md §7); this covers retries within one process.
_PROGRESS_ENTRIES: Final = 1024


class TelegramAdapter:
    """One adapter serves every Telegram channel; one :class:`TelegramClient` per bot
    token and API base is made on first use and kept until :meth:`close`."""

    kind = "telegram"

    def __init__(
        self,
        deps: AdapterDeps,
        *,
        timeouts: Timeouts | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._deps = deps
        self._timeouts = timeouts or Timeouts()
        self._transport = transport
        self._clients: dict[tuple[str, str], TelegramClient] = {}
        self._progress: OrderedDict[MessageId, dict[int, str]] = OrderedDict()

    async def close(self) -> None:
        """Close every client's connections. The adapter may be used again afterwards."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()

    # ----------------------------------------------------------------------- inbound

    async def handle_webhook(self, channel: Channel, request: WebhookRequest) -> WebhookBatch:
        """Check the secret header (403 when it is missing or wrong, or the channel has
        no webhook secret), then parse one ``Update`` (400 when the body is not one).

        A button press is answered in the webhook reply itself (``answerCallbackQuery``
        as the response body, Bot API docs "Making requests when getting updates"), so
        the customer's spinner stops once the press is stored, without a second call.
        """
        check_secret(request.headers, channel.options.get("webhook_secret", ""))
        data = read_json(request)
        # A customer's plain text, the common case, without python-telegram-bot's objects
        # (channels/telegram/fast.py); everything else takes the full path.
        plain = convert_plain_text(channel.id, data)
        if plain is not None:
            return WebhookBatch(messages=plain, reply=WebhookReply())
        update = update_of(data)
        messages = self._convert(channel, update)
        return WebhookBatch(messages=messages, reply=webhook_reply(update))

    def wants_polling(self, channel: Channel) -> bool:
        return wants_polling(channel)

    async def poll(self, channel: Channel, cursor: str | None, wait_seconds: int) -> PollResult:
        """``getUpdates`` from ``cursor`` (Telegram's ``offset``: the last update id
        plus one, which also confirms everything before it). Button presses are answered
        here, before the batch is stored; if storing fails they come again and a second
        answer is refused by Telegram, which is ignored."""
        client = self._client(channel)
        return await poll_updates(
            client, cursor, wait_seconds, lambda update: self._convert(channel, update)
        )

    def _convert(self, channel: Channel, update: Update) -> tuple[InboundMessage, ...]:
        messages = convert_update(channel.id, update)
        if not messages:
            logger.debug("telegram update %s carries no customer message", update.update_id)
        return messages

    # ----------------------------------------------------------------------- outbound

    async def send(self, channel: Channel, message: OutboundMessage) -> SendReceipt:
        """Deliver the message as one Bot API call per part (see ``outbound``); returns
        the first sent message's ``"{chat_id}:{message_id}"``. Attachments are read from
        the media store and uploaded; a retry skips the calls that already succeeded in
        this process."""
        client = self._client(channel)
        calls = plan_calls(message)
        uploads = [await self._read_upload(call) for call in calls]
        done = self._progress.setdefault(message.message_id, {})
        self._progress.move_to_end(message.message_id)
        while len(self._progress) > _PROGRESS_ENTRIES:
            self._progress.popitem(last=False)
        try:
            for index, (call, data) in enumerate(zip(calls, uploads, strict=True)):
                if index in done:
                    continue
                fitted = fit_upload(call, len(data)) if data is not None else call
                sent = await client.send(fitted, data)
                done[index] = message_external_id(sent.chat.id, sent.message_id)
        except RetryLater:
            raise  # keep what was sent for the retry
        except Exception:
            self._progress.pop(message.message_id, None)
            raise
        self._progress.pop(message.message_id, None)
        return SendReceipt(external_id=done[0])

    async def _read_upload(self, call: BotCall) -> bytes | None:
        if call.upload is None or call.upload.key is None:
            return None
        try:
            return await self._deps.media.get(call.upload.key)
        except NotFound:
            raise PermanentFailure(
                "An attachment of this message is missing from the server's file store."
            ) from None

    async def fetch_media(self, channel: Channel, ref: MediaRef) -> MediaBlob:
        """Download an inbound file by its Telegram ``file_id`` (``ref.provider_ref``)."""
        if not ref.provider_ref:
            raise PermanentFailure("This attachment has no Telegram file id to download.")
        data, path = await self._client(channel).download(ref.provider_ref)
        filename = ref.filename or (path.rsplit("/", 1)[-1] if path else None)
        mime = ref.mime_type or (mimetypes.guess_type(filename or "")[0] or "")
        return MediaBlob(data=data, mime_type=mime or "application/octet-stream", filename=filename)

    # ----------------------------------------------------------------------- set-up

    async def setup(self, channel: Channel, public_url: str | None) -> Mapping[str, str]:
        """Check the options and the token (``getMe``). With a ``public_url`` and a mode
        other than ``polling``: register the webhook with a fresh secret and return
        ``{"webhook_secret": ..., "mode": "webhook"}``. Otherwise delete any webhook
        (``getUpdates`` is refused while one is set) and return ``{"mode": "polling"}``.

        Raises:
            InvalidInput: an option is missing or wrong, ``mode=webhook`` without a
                public URL, or Telegram refused the token or the webhook.
            RetryLater: Telegram could not be reached.
        """
        options = TelegramOptions.parse(channel.options)
        webhook = bool(public_url) and options.mode != "polling"
        if options.mode == "webhook" and not public_url:
            raise InvalidInput(
                "mode=webhook needs the server's public URL (INBOX_PUBLIC_URL) for Telegram "
                "to post to; set it, or use mode=polling"
            )
        client = self._client(channel)
        try:
            await client.get_me()
            if webhook:
                assert public_url is not None
                # token_urlsafe uses only A-Z a-z 0-9 _ -, the characters Telegram allows.
                secret = secrets.token_urlsafe(32)
                url = webhook_url(public_url, channel.id)
                await client.set_webhook(url, secret, ALLOWED_UPDATES)
                return {"webhook_secret": secret, "mode": "webhook"}
            await client.delete_webhook()
            return {"mode": "polling"}
        except PermanentFailure as exc:
            raise InvalidInput(exc.reason) from exc

    # ----------------------------------------------------------------------- clients

    def _client(self, channel: Channel) -> TelegramClient:
        try:
            options = TelegramOptions.parse(channel.options)
        except InvalidInput as exc:
            raise PermanentFailure(f"The channel is misconfigured: {exc.message}.") from exc
        key = (options.token, options.api_base)
        client = self._clients.get(key)
        if client is None:
            client = TelegramClient(
                options.token,
                options.api_base,
                timeouts=self._timeouts,
                transport=self._transport,
            )
            self._clients[key] = client
        return client
