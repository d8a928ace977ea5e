"""A channel's webhook (or one long poll) enters the inbox: authenticate, convert, store,
and only then acknowledge (ARCHITECTURE.md, "Persist before acknowledging")."""

from __future__ import annotations

from inbox.domain.channel_io import StatusUpdate, WebhookBatch, WebhookReply, WebhookRequest
from inbox.domain.channels import Channel
from inbox.domain.errors import Forbidden, NotFound
from inbox.domain.ids import ChannelId
from inbox.domain.messages import Direction, Message
from inbox.ports import ChannelAdapter, Tx
from inbox.usecases.channels import cached_channel
from inbox.usecases.delivery import record_delivery
from inbox.usecases.deps import Core
from inbox.usecases.ingest import ingest_inbound

__all__ = ["receive_webhook", "record_status", "store_batch"]


async def receive_webhook(
    core: Core, adapter: ChannelAdapter, channel_id: ChannelId, request: WebhookRequest
) -> WebhookReply:
    """Raises :class:`NotFound` (no such channel of this kind), :class:`Forbidden` (the
    channel is disabled: the provider should stop, and nothing is stored),
    ``WebhookRejected`` from the adapter, or whatever storing raised — in every one of
    those cases nothing was acknowledged, so the provider will deliver again.

    The channel comes from the process's cache (:func:`cached_channel`): a channel
    disabled in this process is refused at once, one disabled by another process within
    ``core.channel_cache.ttl`` seconds. A POST is refused with :class:`Overloaded`
    before it is parsed while ``core.admission`` refuses new ingests (docs/reliability.md);
    the provider delivers it again."""
    channel = await cached_channel(core, channel_id)
    if channel is None or str(channel.kind) != adapter.kind:
        raise NotFound("no such channel")
    if not channel.enabled:
        raise Forbidden("this channel is disabled")
    if request.method.upper() == "POST":
        # Refused at the door while the admission gate refuses: parsing a provider's
        # payload costs more than the refusal, and under overload most calls get one.
        core.admission.check()
    batch = await adapter.handle_webhook(channel, request)
    await store_batch(core, channel, batch)
    return batch.reply


async def store_batch(core: Core, channel: Channel, batch: WebhookBatch) -> None:
    """Messages in the order the provider sent them (one conversation's messages must keep
    their order), then delivery statuses. Provider retries are deduplicated by
    ``ingest_inbound``; a status for a message we do not know is ignored (it may belong
    to a message sent before this server existed). ``channel`` is the channel the caller
    loaded and authenticated against; ingest uses it and never reads it again."""
    for inbound in batch.messages:
        await ingest_inbound(core, inbound, channel=channel)
    for status in batch.statuses:
        await record_status(core, channel.id, status)


async def record_status(core: Core, channel_id: ChannelId, status: StatusUpdate) -> Message | None:
    async def find(tx: Tx) -> Message | None:
        return await tx.messages.find_by_external(channel_id, status.external_id)

    message = await core.store.read(find)
    # Statuses are about our own messages; a read pointer that lands on the customer's
    # message (VK) says nothing about delivery.
    if message is None or message.direction is not Direction.OUTBOUND:
        return None
    return await record_delivery(core, message.id, status.status, error=status.error)
