"""What a channel adapter implements for the core: sending, webhooks, polling, media."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from inbox.domain.channel_io import MediaBlob, PollResult, WebhookBatch, WebhookRequest
from inbox.domain.channels import Channel
from inbox.domain.clock import Clock
from inbox.domain.content import MediaRef
from inbox.domain.messages import DeliveryStatus, OutboundMessage

__all__ = [
    "AdapterDeps",
    "ChannelAdapter",
    "ChannelSender",
    "ChannelSenders",
    "MediaStore",
    "PollingAdapter",
    "SendReceipt",
]


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """What a channel returns after the provider accepted a message."""

    external_id: str | None = None
    status: DeliveryStatus = DeliveryStatus.SENT


class ChannelSender(Protocol):
    """Delivers one message on one channel kind. Moves bytes; never touches storage.

    Raises :class:`inbox.domain.channel_errors.RetryLater` for transient failures and
    :class:`inbox.domain.channel_errors.PermanentFailure` for ones a retry cannot fix.
    """

    async def send(self, channel: Channel, message: OutboundMessage) -> SendReceipt: ...


ChannelSenders = Mapping[str, ChannelSender]


class MediaStore(Protocol):
    """Files (attachments) by key, under ``INBOX_DATA_DIR`` by default; an S3-compatible
    store can implement the same protocol. Does file or network I/O."""

    async def put(self, data: bytes, *, mime_type: str, filename: str | None = None) -> MediaRef:
        """Store bytes; returns a reference with ``key`` set (and size, mime, filename)."""

    async def get(self, key: str) -> bytes:
        """The stored bytes. Raises :class:`inbox.domain.errors.NotFound` for an unknown key."""


@dataclass(frozen=True, slots=True)
class AdapterDeps:
    """What the composition root hands every channel adapter it builds."""

    media: MediaStore
    clock: Clock
    public_url: str = ""


class ChannelAdapter(ChannelSender, Protocol):
    """Everything one channel kind does (ARCHITECTURE.md, channels/). It moves bytes and
    converts; it never touches storage or routing.

    * ``handle_webhook`` authenticates **locally** (a shared secret or a signature over the
      raw body; never a network call) and converts: it raises
      :class:`inbox.domain.channel_io.WebhookRejected` (401/403 bad credentials, 400 not the
      provider's shape) and otherwise returns the batch to store. Pure apart from reading
      ``channel.options``; unknown fields are accepted; our own echoed messages are dropped.
    * ``send`` (from :class:`ChannelSender`) delivers one message, uploading attachments
      (read from the media store) to the provider; raises ``RetryLater`` or
      ``PermanentFailure`` (inbox.domain.channel_errors).
    * ``fetch_media`` downloads an inbound file by its ``provider_ref`` through the
      provider's API (raises ``RetryLater``/``PermanentFailure``).
    * ``setup`` runs when the channel is added (and may run again): it checks the options
      (raising :class:`inbox.domain.errors.InvalidInput`) and, when ``public_url`` is given,
      registers the webhook with the provider. Returns options to store with the channel
      (a generated webhook secret, the chosen mode).
    """

    kind: str

    async def handle_webhook(self, channel: Channel, request: WebhookRequest) -> WebhookBatch: ...

    async def fetch_media(self, channel: Channel, ref: MediaRef) -> MediaBlob: ...

    async def setup(self, channel: Channel, public_url: str | None) -> Mapping[str, str]: ...


class PollingAdapter(ChannelAdapter, Protocol):
    """A channel that can also be read by long polling (Telegram ``getUpdates``)."""

    def wants_polling(self, channel: Channel) -> bool:
        """True when this channel is configured to poll rather than receive webhooks."""

    async def poll(self, channel: Channel, cursor: str | None, wait_seconds: int) -> PollResult:
        """One long poll from ``cursor``, held open by the provider for up to
        ``wait_seconds``; raises ``RetryLater``/``PermanentFailure``."""
