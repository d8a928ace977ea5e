"""The delivery worker: takes jobs from the transactional outbox and sends them.

At-least-once: a job is removed only after the channel accepted the message (or failed it
for good). Jobs are leased, so several processes can run workers on one PostgreSQL
database; only the oldest job of a conversation is claimable, so replies arrive in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from datetime import timedelta

from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channels import Channel
from inbox.domain.events import Event, OutboxReady
from inbox.domain.messages import AuthorKind, DeliveryStatus, Direction, OutboundMessage
from inbox.owners import LeaseOwners, RandomOwners, Reclaiming
from inbox.ports import ChannelSender, OutboxItem, Tx
from inbox.usecases.channels import cached_channel
from inbox.usecases.delivery import record_delivery
from inbox.usecases.deps import Core, Outcome, run

__all__ = ["DeliveryWorker", "backoff_seconds"]

logger = logging.getLogger(__name__)


def backoff_seconds(attempt: int, *, base: float = 1.0, cap: float = 300.0) -> float:
    """Exponential back-off with full jitter: attempt 1 → up to 1 s, 2 → 2 s, ... ≤ 5 min."""
    return float(random.uniform(0.5, 1.0) * min(cap, base * (2 ** max(0, attempt - 1))))


class DeliveryWorker:
    """Owns one background task. ``wake()`` (or an :class:`OutboxReady` event) makes it look
    at once; otherwise it polls every ``poll_seconds`` for jobs that became due."""

    def __init__(
        self,
        core: Core,
        senders: Mapping[str, ChannelSender],
        *,
        poll_seconds: float = 1.0,
        batch: int = 32,
        lease_seconds: float = 120.0,
        max_attempts: int = 12,
        owners: LeaseOwners | None = None,
        reclaim_seconds: float = 10.0,
        drain_seconds: float = 10.0,
    ) -> None:
        self._core = core
        self._senders = senders
        self._poll = poll_seconds
        self._batch = batch
        self._lease = timedelta(seconds=lease_seconds)
        self._max_attempts = max_attempts
        owners = owners if owners is not None else RandomOwners()
        self._owner = owners.new("delivery")
        self._reclaiming = Reclaiming(owners, self._owner, reclaim_seconds)
        self._drain = drain_seconds
        self._stopping = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def on_event(self, event: Event) -> None:
        if isinstance(event, OutboxReady):
            self.wake()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(), name="delivery-worker")

    async def stop(self, *, drain_seconds: float | None = None) -> None:
        """Drain, then stop: claim nothing more, let the sends in flight finish and be
        recorded (up to ``drain_seconds``, default the constructor's), then cancel what is
        left. A send cancelled here keeps its lease, which the next process takes over at
        once and sends again (docs/reliability.md, "Where a reply can go out twice")."""
        task = self._task
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        drain = self._drain if drain_seconds is None else drain_seconds
        if drain > 0:
            await asyncio.wait({task}, timeout=drain)
        if not task.done():
            logger.warning("replies still being sent after %.1fs of draining; abandoned", drain)
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                claimed = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("delivery round failed; retrying after %.1fs", self._poll)
                claimed = 0
            if self._stopped():
                return
            if claimed:
                continue  # there may be more right behind
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a
            # cancellation that races with its timeout, and stop() would wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()
            self._wake.clear()
            if self._stopped():
                return

    def _stopped(self) -> bool:
        # A method, not the attribute: stop() sets it while the loop awaits.
        return self._stopping

    async def reclaim(self) -> int:
        """Drop the leases of owners that are gone (a process that died with replies in
        flight, ``LeaseOwners.gone``), so those replies go out now instead of after their
        lease's term. Returns how many jobs were freed."""
        now = self._core.clock.now()

        async def work(tx: Tx) -> Outcome[tuple[int, int]]:
            gone = self._reclaiming.gone(await tx.outbox.lease_owners(now))
            freed = await tx.outbox.release_owners(gone) if gone else 0
            return Outcome((freed, len(gone)))

        freed, dead = await run(self._core, work)
        if freed:
            logger.warning("took over %d replies leased by %d ended processes", freed, dead)
        return freed

    async def run_once(self) -> int:
        """Claim due jobs and deliver them concurrently (one per conversation). Returns how
        many jobs were claimed. Every ``reclaim_seconds`` (and on the first round) the
        leases of ended processes are dropped first (:meth:`reclaim`)."""
        if self._reclaiming.due():
            await self.reclaim()
        now = self._core.clock.now()

        async def claim(tx: Tx) -> Outcome[list[OutboxItem]]:
            items = await tx.outbox.claim_due(
                now, limit=self._batch, lease_until=now + self._lease, owner=self._owner
            )
            return Outcome(items)

        items = await run(self._core, claim)
        if items:
            await asyncio.gather(*(self._deliver(item) for item in items))
        return len(items)

    async def _deliver(self, item: OutboxItem) -> None:
        core = self._core

        # The channel from the process's cache (one statement less per message sent): a
        # channel disabled in this process fails its messages at once, one disabled by
        # another process within the cache's ttl.
        channel = await cached_channel(core, item.channel_id)

        async def load(tx: Tx) -> tuple[OutboundMessage, Channel] | None:
            message = await tx.messages.get(item.message_id)
            conversation = await tx.conversations.get(item.conversation_id)
            if message is None or conversation is None or channel is None:
                return None
            references: tuple[str, ...] = ()
            in_reply_to = None
            spec = core.channels.get(channel.kind)
            if spec is not None and spec.threading:
                # Threading headers (e-mail's References, In-Reply-To): the ids of the
                # conversation's earlier messages, as many as the kind's spec asks for.
                earlier = await tx.messages.list_last(
                    conversation.id, limit=spec.threading + 1, include_notes=False
                )
                earlier = [m for m in earlier if m.seq < message.seq and m.external_id]
                references = tuple(m.external_id for m in earlier if m.external_id)
                inbound = [m for m in earlier if m.direction is Direction.INBOUND]
                in_reply_to = inbound[-1].external_id if inbound else None
            out = OutboundMessage(
                message_id=message.id,
                conversation_id=conversation.id,
                channel_id=channel.id,
                recipient=conversation.thread_key,
                parts=message.parts,
                author_name=message.author_name,
                seq=message.seq,
                created_at=message.created_at,
                subject=conversation.subject,
                references=references,
                in_reply_to=in_reply_to,
                automatic=message.author_kind in (AuthorKind.BOT, AuthorKind.SYSTEM),
            )
            return out, channel

        loaded = await core.store.read(load)
        if loaded is None:
            logger.error("outbox job %s points at a missing message; dropping it", item.id)
            await self._complete(item)
            return
        out, channel = loaded
        kind = str(channel.kind)
        sender = self._senders.get(kind)
        if sender is None or not channel.enabled:
            await record_delivery(
                core,
                out.message_id,
                DeliveryStatus.FAILED,
                error="The channel is disabled or not available on this server.",
                outbox_id=item.id,
            )
            return
        try:
            receipt = await sender.send(channel, out)
        except PermanentFailure as exc:
            await record_delivery(
                core, out.message_id, DeliveryStatus.FAILED, error=exc.reason, outbox_id=item.id
            )
        except RetryLater as exc:
            await self._retry(item, exc.reason, exc.retry_after)
        except Exception as exc:
            logger.exception("sending outbox job %s on %s failed unexpectedly", item.id, kind)
            await self._retry(item, f"unexpected error: {type(exc).__name__}", None)
        else:
            await record_delivery(
                core,
                out.message_id,
                receipt.status,
                external_id=receipt.external_id,
                outbox_id=item.id,
            )

    async def _retry(self, item: OutboxItem, reason: str, retry_after: float | None) -> None:
        attempts = item.attempts + 1
        if attempts >= self._max_attempts:
            await record_delivery(
                self._core,
                item.message_id,
                DeliveryStatus.FAILED,
                error=f"Gave up after {attempts} attempts: {reason}",
                outbox_id=item.id,
            )
            return
        delay = max(retry_after or 0.0, backoff_seconds(attempts))
        available_at = self._core.clock.now() + timedelta(seconds=delay)

        async def work(tx: Tx) -> Outcome[None]:
            await tx.outbox.retry_later(
                item.id, available_at=available_at, attempts=attempts, error=reason
            )
            return Outcome(None)

        await run(self._core, work)

    async def _complete(self, item: OutboxItem) -> None:
        async def work(tx: Tx) -> Outcome[None]:
            await tx.outbox.complete(item.id)
            return Outcome(None)

        await run(self._core, work)
