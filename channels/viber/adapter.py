"""The Viber channel adapter (docs/channels/viber.md): webhook in, ``send_message`` out.

It wires the parts: the options (:mod:`.options`), the callbacks' signature and parsing
(:mod:`.webhook`), the pure converters (:mod:`.converter`) and the API client
(:mod:`.client`, errors mapped in :mod:`.errors`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import aiohttp

from channels.viber.client import ViberClient
from channels.viber.converter import MediaUrl, Unsendable, build_requests
from channels.viber.options import ViberOptions
from channels.viber.webhook import WEBHOOK_EVENT_TYPES, read_callback, webhook_url
from inbox.domain.channel_errors import PermanentFailure
from inbox.domain.channel_io import MediaBlob, WebhookBatch, WebhookRequest
from inbox.domain.channels import Channel
from inbox.domain.content import MediaRef
from inbox.domain.errors import InvalidInput
from inbox.domain.messages import OutboundMessage
from inbox.ports import AdapterDeps, SendReceipt

__all__ = ["ViberAdapter"]

logger = logging.getLogger(__name__)


class ViberAdapter:
    """Implements :class:`inbox.ports.ChannelAdapter` for ``kind = "viber"``.

    One adapter serves every Viber channel; it owns one aiohttp session (created on first
    use, closed by :meth:`close`) unless one is injected, which its creator then closes.
    """

    kind = "viber"

    def __init__(
        self,
        deps: AdapterDeps,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 15.0,
        media_url: MediaUrl | None = None,
    ) -> None:
        self._deps = deps  # the media store, for uploads: Viber takes media by URL only
        self._session = session
        self._owns_session = session is None
        self._timeout = timeout
        # No public media URLs yet (the core does not serve signed links): attachments are
        # named in the text. When it does, pass a resolver here.
        self._media_url = media_url

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    # ------------------------------------------------------------------ inbound

    async def handle_webhook(self, channel: Channel, request: WebhookRequest) -> WebhookBatch:
        """Signature first (401 missing, 403 wrong), before the body is even parsed; then
        the shape (400). Unknown fields and unknown events are accepted."""
        return read_callback(channel.id, request, ViberOptions.read(channel.options).token)

    # ------------------------------------------------------------------ outbound

    async def send(self, channel: Channel, message: OutboundMessage) -> SendReceipt:
        """Posts the message's ``send_message`` bodies in order; the receipt carries the
        last one's ``message_token`` (the text, which holds any keyboard). Viber has no
        idempotency key: a retry after a lost answer can show the message twice."""
        options = ViberOptions.read(channel.options)
        sender_name = options.sender_name or message.author_name.strip() or channel.name
        try:
            bodies = build_requests(message, sender_name=sender_name, media_url=self._media_url)
        except Unsendable as exc:
            raise PermanentFailure(exc.reason) from exc
        client = self._client(options)
        token = ""
        for body in bodies:
            token = await client.send_message(body)
        return SendReceipt(external_id=token or None)

    async def fetch_media(self, channel: Channel, ref: MediaRef) -> MediaBlob:
        if not ref.provider_ref:
            raise PermanentFailure("This Viber file has no download link.")
        download = await self._client(ViberOptions.read(channel.options)).download(ref.provider_ref)
        mime = (download.content_type or "").split(";", 1)[0].strip()
        if not mime or mime == "application/octet-stream":
            mime = ref.mime_type
        return MediaBlob(data=download.data, mime_type=mime, filename=ref.filename)

    # ------------------------------------------------------------------ set-up

    async def setup(self, channel: Channel, public_url: str | None) -> Mapping[str, str]:
        """Checks the options and the token (``get_account_info``); with ``public_url``,
        registers the webhook (``set_webhook``; Viber calls it back at once with a signed
        ``webhook`` event, so the server must be serving). Stores nothing extra.

        Raises :class:`InvalidInput` for missing or refused options, ``RetryLater`` when
        Viber cannot be reached."""
        client = self._client(ViberOptions.parse(channel.options))
        try:
            await client.get_account_info()
            if public_url:
                await client.set_webhook(webhook_url(public_url, channel), WEBHOOK_EVENT_TYPES)
        except PermanentFailure as exc:
            raise InvalidInput(exc.reason) from exc
        logger.info(
            "viber channel %s set up (webhook registered: %s)", channel.id, bool(public_url)
        )
        return {}

    def _client(self, options: ViberOptions) -> ViberClient:
        if not options.token:
            raise PermanentFailure("The Viber channel has no token; add the option token.")
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return ViberClient(
            self._session, options.token, api_base=options.api_base, timeout=self._timeout
        )
