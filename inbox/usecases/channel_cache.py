"""Channel rows kept in memory for a short while (issue #15).

Every provider webhook, web chat socket, inbound API request and outbound delivery needs
its channel (kind, options, enabled); reading the row each time was a statement per
message on the hottest paths. Channels change rarely and only through the use cases of
``inbox/usecases/channels.py``, so a process keeps what it read for ``ttl`` seconds:

* a change made in this process through those use cases drops the entry after its commit,
  so this process sees it at once;
* a change made by another process (``inbox channel disable``, a second server on the same
  PostgreSQL) is seen here within ``ttl`` seconds (the age counts from when the read
  *started*, so a slow read does not stretch it);
* "no such channel" is never kept: a channel added by another process works at once, and a
  flood of made-up channel ids in webhook URLs does not grow memory;
* at most ``max_entries`` channels are kept (the oldest stored goes first), whatever the
  number of channels.

A read that was in flight while an entry was dropped is not stored (a generation counter
says so): it may have read the row from before the change, and storing it would bring the
old row back for up to ``ttl`` seconds.

No lock: every method runs on the event loop with no await between a check and its
update.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from inbox.domain.channels import Channel
from inbox.domain.ids import ChannelId

__all__ = ["ChannelCache"]


class ChannelCache:
    """Channels by id for ``ttl`` seconds (``0``: nothing is kept, every call reads), at
    most ``max_entries`` of them. ``clock`` is a monotonic clock in seconds (tests move
    their own)."""

    def __init__(
        self,
        ttl: float = 2.0,
        *,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl < 0:
            raise ValueError("ttl must be 0 (no cache) or more")
        if max_entries < 1:
            raise ValueError("max_entries must be 1 or more")
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        # id -> (when the read that found it started, the channel); insertion-ordered, so
        # the first entry is the oldest stored.
        self._entries: dict[ChannelId, tuple[float, Channel]] = {}
        self._generation = 0
        self._reads = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def reads(self) -> int:
        """Reads that went to the database since start (for tests and metrics)."""
        return self._reads

    async def get(
        self, channel_id: ChannelId, read: Callable[[], Awaitable[Channel | None]]
    ) -> Channel | None:
        """The channel from memory while its entry is younger than ``ttl``, else from
        ``read()`` (the database), kept when it exists."""
        now = self._clock()
        entry = self._entries.get(channel_id)
        if entry is not None:
            if now - entry[0] < self.ttl:
                return entry[1]
            del self._entries[channel_id]
        generation = self._generation
        self._reads += 1
        channel = await read()
        if channel is not None and self.ttl > 0 and generation == self._generation:
            self._store(channel_id, now, channel)
        return channel

    def forget(self, channel_id: ChannelId) -> None:
        """The channel changed (or is gone): the next :meth:`get` reads it, and a read in
        flight now is not kept. Called after the change's commit."""
        self._generation += 1
        self._entries.pop(channel_id, None)

    def _store(self, channel_id: ChannelId, read_at: float, channel: Channel) -> None:
        self._entries.pop(channel_id, None)
        if len(self._entries) >= self.max_entries:
            fresh = {k: v for k, v in self._entries.items() if read_at - v[0] < self.ttl}
            if len(fresh) >= self.max_entries:
                del fresh[next(iter(fresh))]
            self._entries = fresh
        self._entries[channel_id] = (read_at, channel)
