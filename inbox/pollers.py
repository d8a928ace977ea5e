"""Long-polling channels (Telegram ``getUpdates`` for shops with no public URL).

One process polls each channel, whatever the number of processes: a lease in the database
(``poll:<channel id>``) names the owner, is renewed on every round and expires when the
owner dies, so another process takes over. The poll cursor (Telegram's next offset) is
stored with the lease only **after** the batch is stored: a crash re-reads updates, and
``ingest_inbound`` deduplicates them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import TypeGuard

from inbox.delivery import backoff_seconds
from inbox.domain.channel_errors import PermanentFailure, RetryLater
from inbox.domain.channels import Channel
from inbox.domain.errors import Overloaded
from inbox.domain.ids import ChannelId
from inbox.owners import LeaseOwners, RandomOwners
from inbox.ports import ChannelAdapter, Lease, PollingAdapter, Tx
from inbox.usecases.channels import list_channels
from inbox.usecases.deps import Core, Outcome, run
from inbox.usecases.webhooks import store_batch

__all__ = ["PollerService"]

logger = logging.getLogger(__name__)


class PollerService:
    """Owns one task per polled channel plus a supervisor that starts and stops them as
    channels are added, switched or disabled."""

    def __init__(
        self,
        core: Core,
        adapters: Mapping[str, ChannelAdapter],
        *,
        check_seconds: float = 10.0,
        wait_seconds: int = 25,
        lease_seconds: float = 60.0,
        owners: LeaseOwners | None = None,
    ) -> None:
        self._core = core
        self._adapters = adapters
        self._check = check_seconds
        self._wait = wait_seconds
        self._lease = timedelta(seconds=lease_seconds)
        # A channel's lease held by an ended process is taken over at once.
        self._owners: LeaseOwners = owners if owners is not None else RandomOwners()
        self._owner = self._owners.new("poller")
        self._tasks: dict[ChannelId, asyncio.Task[None]] = {}
        self._supervisor: asyncio.Task[None] | None = None
        self._held: set[str] = set()

    def start(self) -> None:
        if self._supervisor is None and any(_is_polling(a) for a in self._adapters.values()):
            self._supervisor = asyncio.create_task(self._supervise(), name="pollers")

    async def stop(self) -> None:
        tasks = [t for t in (self._supervisor, *self._tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._supervisor = None
        self._tasks.clear()
        # A poll loop cancelled in the middle of an await may not have released its lease;
        # release them here, so the next process takes over at once instead of waiting for
        # the lease to expire.
        for name in sorted(self._held):
            try:
                await self._release(name)
            except Exception:
                logger.exception("releasing lease %s failed; it expires by itself", name)
        self._held.clear()

    async def _supervise(self) -> None:
        while True:
            try:
                await self.reconcile()
            except Exception:
                logger.exception("checking polled channels failed")
            await asyncio.sleep(self._check)

    async def reconcile(self) -> None:
        """Start a poll loop for every enabled polling channel; stop the others."""
        wanted: dict[ChannelId, Channel] = {}
        for channel in await list_channels(self._core):
            adapter = self._adapters.get(str(channel.kind))
            if channel.enabled and _is_polling(adapter) and adapter.wants_polling(channel):
                wanted[channel.id] = channel
        for channel_id in list(self._tasks):
            if channel_id not in wanted or self._tasks[channel_id].done():
                self._tasks.pop(channel_id).cancel()
        for channel_id, channel in wanted.items():
            if channel_id not in self._tasks:
                self._tasks[channel_id] = asyncio.create_task(
                    self._poll_loop(channel), name=f"poll-{channel_id[:8]}"
                )

    async def _poll_loop(self, channel: Channel) -> None:
        adapter = self._adapters[str(channel.kind)]
        if not _is_polling(adapter):
            return
        name = f"poll:{channel.id}"
        failures = 0
        try:
            while True:
                lease = await self._acquire(name)
                if lease is None:
                    await asyncio.sleep(self._lease.total_seconds() / 4)
                    continue
                try:
                    result = await adapter.poll(channel, lease.cursor, self._wait)
                    await store_batch(self._core, channel, result.batch)
                    if result.cursor != lease.cursor:
                        await self._save_cursor(name, result.cursor)
                    failures = 0
                except RetryLater as exc:
                    failures += 1
                    delay = max(exc.retry_after or 0.0, backoff_seconds(failures, cap=60))
                    logger.warning(
                        "polling channel %s: %s; again in %.0fs", channel.id, exc.reason, delay
                    )
                    await asyncio.sleep(delay)
                except Overloaded as exc:
                    # Back-pressure: the cursor stays where it was, so the refused message
                    # (and any after it) is read again; those stored before it dedupe.
                    logger.warning(
                        "polling channel %s: inbox overloaded; again in %.1fs",
                        channel.id,
                        exc.retry_after,
                    )
                    await asyncio.sleep(exc.retry_after)
                except PermanentFailure as exc:
                    logger.error(
                        "polling channel %s stopped for a minute: %s", channel.id, exc.reason
                    )
                    await asyncio.sleep(60)
                except Exception:
                    failures += 1
                    logger.exception("polling channel %s failed", channel.id)
                    await asyncio.sleep(backoff_seconds(failures, cap=60))
        finally:
            with contextlib.suppress(Exception):
                await self._release(name)
                self._held.discard(name)

    async def _acquire(self, name: str) -> Lease | None:
        now = self._core.clock.now()

        async def work(tx: Tx) -> Outcome[Lease | None]:
            return Outcome(
                await tx.leases.acquire(
                    name, self._owner, now, now + self._lease, holder_gone=self._owners.gone
                )
            )

        lease = await run(self._core, work)
        if lease is not None:
            self._held.add(name)
        return lease

    async def _save_cursor(self, name: str, cursor: str | None) -> None:
        async def work(tx: Tx) -> Outcome[bool]:
            return Outcome(await tx.leases.set_cursor(name, self._owner, cursor))

        await run(self._core, work)

    async def _release(self, name: str) -> None:
        async def work(tx: Tx) -> Outcome[None]:
            await tx.leases.release(name, self._owner)
            return Outcome(None)

        await run(self._core, work)


def _is_polling(adapter: ChannelAdapter | None) -> TypeGuard[PollingAdapter]:
    return adapter is not None and hasattr(adapter, "poll") and hasattr(adapter, "wants_polling")
