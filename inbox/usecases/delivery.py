"""Recording what happened to an outbound message."""

from __future__ import annotations

from inbox.domain.errors import NotFound
from inbox.domain.events import MessageUpdated
from inbox.domain.ids import MessageId, OutboxId
from inbox.domain.messages import DeliveryStatus, Message
from inbox.ports import Tx
from inbox.usecases.deps import Core, Outcome, run

__all__ = ["record_delivery"]


async def record_delivery(
    core: Core,
    message_id: MessageId,
    status: DeliveryStatus,
    *,
    error: str | None = None,
    external_id: str | None = None,
    outbox_id: OutboxId | None = None,
) -> Message:
    """Move a message's delivery status forward (never back: a late "sent" after "read" is
    ignored) and, with ``outbox_id``, finish that delivery job in the same transaction."""

    async def work(tx: Tx) -> Outcome[Message]:
        message = await tx.messages.get(message_id)
        if message is None:
            raise NotFound("no such message")
        if outbox_id is not None:
            await tx.outbox.complete(outbox_id)
        if status.rank <= message.status.rank and status is not DeliveryStatus.FAILED:
            return Outcome(message)
        if message.status is DeliveryStatus.FAILED and status is DeliveryStatus.FAILED:
            return Outcome(message)
        await tx.messages.set_status(message.id, status, error=error, external_id=external_id)
        updated = await tx.messages.get(message.id)
        conversation = await tx.conversations.get(message.conversation_id)
        assert updated is not None
        assert conversation is not None
        return Outcome(updated, [MessageUpdated(updated, conversation)])

    return await run(core, work)
