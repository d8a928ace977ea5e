"""``WhatsAppAdapter``: the WhatsApp Cloud API channel (docs/channels/whatsapp.md).

Implements :class:`inbox.ports.ChannelAdapter`. It authenticates and converts webhooks,
delivers outbound messages, downloads inbound files; it never touches storage.

Outbound delivery is at-least-once (the core's outbox retries ``RetryLater``) and WhatsApp
has no idempotency key, so a retry can repeat a message that Meta accepted just before the
connection broke. Two things narrow that: a message that takes several requests remembers,
in this process, which of them went out already (a retry continues where it failed), and
a rate-limit or validation error is by definition a request Meta did not accept.
"""

from __future__ import annotations

import logging
import mimetypes
from collections import OrderedDict
from collections.abc import Mapping

import aiohttp

from channels.whatsapp.client import API_TIMEOUT, WhatsAppClient, new_session
from channels.whatsapp.converter import (
    PlannedSend,
    WebhookShapeError,
    parse_webhook,
    plan_messages,
)
from channels.whatsapp.options import WhatsAppOptions
from channels.whatsapp.webhook import check_signature, verification_reply
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channel_io import MediaBlob, WebhookBatch, WebhookRejected, WebhookRequest
from inbox.domain.channels import Channel
from inbox.domain.content import MediaRef
from inbox.domain.errors import InvalidInput, NotFound
from inbox.domain.messages import OutboundMessage
from inbox.domain.untrusted import BadJson, parse_json
from inbox.ports import AdapterDeps, SendReceipt

__all__ = ["WhatsAppAdapter"]

logger = logging.getLogger(__name__)

#: How many (message, request) → wamid entries a process remembers for retries. A retry
#: comes seconds to minutes later; a few thousand entries cover any burst a shop sees.
_SENT_MEMORY = 4096
#: setup's check of the token must not hold up adding a channel for long.
_SETUP_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)


class WhatsAppAdapter:
    """One instance serves every WhatsApp channel of the server (options come with each
    call). ``session``: an aiohttp session the caller owns and closes; without one the
    adapter opens its own on first use (inside the running loop, never at construction)
    and :meth:`close` closes it. ``timeout`` bounds each JSON call (uploads and downloads
    of files get longer)."""

    kind = "whatsapp"

    def __init__(
        self,
        deps: AdapterDeps,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: aiohttp.ClientTimeout = API_TIMEOUT,
    ) -> None:
        self._deps = deps
        self._session = session
        self._timeout = timeout
        self._own: aiohttp.ClientSession | None = None
        self._sent: OrderedDict[tuple[str, str, int], str] = OrderedDict()

    async def close(self) -> None:
        """Close the session this adapter opened (the composition root calls this)."""
        if self._own is not None:
            await self._own.close()
            self._own = None

    def _client(self, options: WhatsAppOptions) -> WhatsAppClient:
        session = self._session
        if session is None:
            if self._own is None or self._own.closed:
                self._own = new_session()
            session = self._own
        return WhatsAppClient(
            session, token=options.token, api_base=options.api_base, timeout=self._timeout
        )

    # ------------------------------------------------------------------- webhooks

    async def handle_webhook(self, channel: Channel, request: WebhookRequest) -> WebhookBatch:
        """GET: Meta's verification (the challenge as ``text/plain``). POST: the signature
        over the raw body first, then the JSON. Raises :class:`WebhookRejected`."""
        options = channel.options
        if request.method == "GET":
            reply = verification_reply(request.query, str(options.get("verify_token") or ""))
            return WebhookBatch(reply=reply)
        if request.method != "POST":
            raise WebhookRejected(405, "method_not_allowed", "use GET or POST")
        check_signature(request.headers, request.body, str(options.get("app_secret") or ""))
        try:
            payload = parse_json(request.body)
        except BadJson:
            raise WebhookRejected(400, "bad_request", "the body is not JSON") from None
        try:
            parsed = parse_webhook(
                payload, channel.id, phone_number_id=str(options.get("phone_number_id") or "")
            )
        except WebhookShapeError as exc:
            raise WebhookRejected(400, "bad_request", str(exc)) from None
        if parsed.skipped:
            logger.debug("whatsapp channel %s: skipped %s", channel.id, ", ".join(parsed.skipped))
        return WebhookBatch(messages=parsed.messages, statuses=parsed.statuses)

    # ------------------------------------------------------------------- sending

    async def send(self, channel: Channel, message: OutboundMessage) -> SendReceipt:
        """Deliver ``message`` to ``message.recipient`` (the customer's ``wa_id``); the
        receipt carries the ``wamid`` of the last request, which delivery statuses name.
        Raises ``RetryLater`` / ``PermanentFailure``."""
        options = self._options(channel)
        planned = plan_messages(message.recipient, message.parts, message.reply_to_external_id)
        if not planned:
            raise PermanentFailure("The message has nothing WhatsApp can deliver.")
        last = ""
        client = self._client(options)
        for index, send in enumerate(planned):
            key = (str(channel.id), str(message.message_id), index)
            wamid = self._sent.get(key)
            if wamid is None:
                wamid = await self._send_one(client, options, send)
                self._remember(key, wamid)
            last = wamid
        return SendReceipt(external_id=last)

    async def _send_one(
        self, client: WhatsAppClient, options: WhatsAppOptions, send: PlannedSend
    ) -> str:
        payload = send.payload
        if send.upload is not None:
            data = await self._read(send.upload)
            mime = send.upload.mime_type.split(";", 1)[0].strip() or "application/octet-stream"
            media_id = await client.upload_media(
                options.phone_number_id,
                data,
                mime_type=mime,
                filename=send.upload.filename or "file" + (mimetypes.guess_extension(mime) or ""),
            )
            payload = send.with_media_id(media_id)
        return await client.send_message(options.phone_number_id, payload)

    async def _read(self, media: MediaRef) -> bytes:
        assert media.key is not None  # plan_messages refuses attachments without a key
        try:
            return await self._deps.media.get(media.key)
        except NotFound:
            raise PermanentFailure("The attachment's file is missing on the server.") from None

    def _remember(self, key: tuple[str, str, int], wamid: str) -> None:
        self._sent[key] = wamid
        while len(self._sent) > _SENT_MEMORY:
            self._sent.popitem(last=False)

    # ------------------------------------------------------------------- media

    async def fetch_media(self, channel: Channel, ref: MediaRef) -> MediaBlob:
        """Download an inbound file by its WhatsApp media id (``GET /{media_id}``, then the
        short-lived URL it names). Media ids live 30 days; later ones fail permanently."""
        if not ref.provider_ref:
            raise PermanentFailure("The file has no WhatsApp media id to download it by.")
        client = self._client(self._options(channel))
        try:
            info = await client.media_info(ref.provider_ref)
        except PermanentFailure as exc:
            raise PermanentFailure(
                f"WhatsApp no longer has this file (media is kept for 30 days): {exc.reason}"
            ) from exc
        data, content_type = await client.download(info.url)
        mime = info.mime_type or (content_type or "").split(";")[0] or ref.mime_type
        return MediaBlob(data=data, mime_type=mime, filename=ref.filename)

    # ------------------------------------------------------------------- setup

    async def setup(self, channel: Channel, public_url: str | None) -> Mapping[str, str]:
        """Check the options (raises :class:`InvalidInput`) and that the token may use the
        phone number. Meta's webhook is configured by the owner in the app dashboard (one
        callback URL per app), so nothing is registered and nothing is added: ``{}``. An
        unreachable Graph API does not fail set-up; a refused token does."""
        options = WhatsAppOptions.parse(channel.options)
        client = self._client(options)
        try:
            await client.phone_number(options.phone_number_id, limits=_SETUP_TIMEOUT)
        except PermanentFailure as exc:
            raise InvalidInput(f"WhatsApp refused the channel's settings: {exc.reason}") from exc
        except RetryLater as exc:
            logger.warning(
                "whatsapp channel %s: could not check the token now (%s); "
                "the settings are kept unchecked",
                channel.id,
                exc.reason,
            )
        return {}

    @staticmethod
    def _options(channel: Channel) -> WhatsAppOptions:
        try:
            return WhatsAppOptions.parse(channel.options)
        except InvalidInput as exc:
            raise PermanentFailure(f"The WhatsApp channel is misconfigured: {exc.message}") from exc
