"""The Viber channel adapter (docs/channels/viber.md): webhook in, ``send_message`` out.

Options of a channel: ``token`` (required: the bot's auth token, also the key of the
callback signature), ``api_base`` (default ``https://chatapi.viber.com/pa``), and
``sender_name`` (the name shown on our messages; default the operator's name, else the
channel's name).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

import aiohttp

from channels.viber.client import DEFAULT_API_BASE, ViberClient
from channels.viber.converter import (
    MediaUrl,
    PayloadError,
    Unsendable,
    build_requests,
    convert_callback,
)
from channels.viber.signature import SIGNATURE_HEADER, signature_matches
from inbox.domain.channel_errors import PermanentFailure
from inbox.domain.channel_io import (
    MediaBlob,
    WebhookBatch,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
)
from inbox.domain.channels import Channel
from inbox.domain.content import MediaRef
from inbox.domain.errors import InvalidInput
from inbox.domain.messages import OutboundMessage
from inbox.ports import AdapterDeps, SendReceipt

__all__ = ["WEBHOOK_EVENT_TYPES", "ViberAdapter", "webhook_url"]

logger = logging.getLogger(__name__)

#: The optional callbacks we ask ``set_webhook`` for; ``message``, ``subscribed`` and
#: ``unsubscribed`` are always sent (set_webhook, "event_types").
WEBHOOK_EVENT_TYPES = [
    "delivered",
    "seen",
    "failed",
    "subscribed",
    "unsubscribed",
    "conversation_started",
]

#: Viber reads the answer to ``conversation_started`` as an optional welcome message; an
#: empty object is "no welcome", and every other callback only needs the 200.
_ACK = WebhookReply(status=200, body=b"{}", content_type="application/json")


def webhook_url(public_url: str, channel: Channel) -> str:
    return f"{public_url.rstrip('/')}/webhooks/viber/{channel.id}"


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
        token = _token(channel)
        if not token:
            raise WebhookRejected(403, "forbidden", "this Viber channel has no token configured")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            raise WebhookRejected(401, "unauthorized", "missing X-Viber-Content-Signature")
        if not signature_matches(token, request.body, signature):
            raise WebhookRejected(403, "forbidden", "the signature does not match")
        if request.method != "POST":
            raise WebhookRejected(405, "method_not_allowed", "Viber callbacks are POSTed")
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookRejected(400, "bad_request", "the body is not JSON") from None
        try:
            converted = convert_callback(channel.id, payload)
        except PayloadError as exc:
            raise WebhookRejected(400, "bad_request", str(exc)) from None
        return WebhookBatch(messages=converted.messages, statuses=converted.statuses, reply=_ACK)

    # ------------------------------------------------------------------ outbound

    async def send(self, channel: Channel, message: OutboundMessage) -> SendReceipt:
        """Posts the message's ``send_message`` bodies in order; the receipt carries the
        last one's ``message_token`` (the text, which holds any keyboard). Viber has no
        idempotency key: a retry after a lost answer can show the message twice."""
        sender_name = (
            channel.options.get("sender_name", "").strip()
            or message.author_name.strip()
            or channel.name
        )
        try:
            bodies = build_requests(message, sender_name=sender_name, media_url=self._media_url)
        except Unsendable as exc:
            raise PermanentFailure(exc.reason) from exc
        client = self._client(channel)
        token = ""
        for body in bodies:
            token = await client.send_message(body)
        return SendReceipt(external_id=token or None)

    async def fetch_media(self, channel: Channel, ref: MediaRef) -> MediaBlob:
        if not ref.provider_ref:
            raise PermanentFailure("This Viber file has no download link.")
        download = await self._client(channel).download(ref.provider_ref)
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
        if not _token(channel):
            raise InvalidInput("a Viber channel needs the option token (the bot's auth token)")
        api_base = channel.options.get("api_base", "").strip()
        if api_base and (
            urlsplit(api_base).scheme not in ("http", "https") or "://" not in api_base
        ):
            raise InvalidInput("the option api_base must be an http(s) URL")
        client = self._client(channel)
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

    def _client(self, channel: Channel) -> ViberClient:
        token = _token(channel)
        if not token:
            raise PermanentFailure("The Viber channel has no token; add the option token.")
        if self._session is None:
            self._session = aiohttp.ClientSession()
        api_base = channel.options.get("api_base", "").strip() or DEFAULT_API_BASE
        return ViberClient(self._session, token, api_base=api_base, timeout=self._timeout)


def _token(channel: Channel) -> str:
    return channel.options.get("token", "").strip()
