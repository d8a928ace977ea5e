"""The admission bound in front of the durable write of inbound messages (back-pressure).

Every channel's inbound -- webhooks, pollers, the web chat, the inbound API -- enters the
inbox through ``ingest_inbound``, so the gate sits there and covers them all. It counts
the ingests of this process that are in flight (waiting for the group committer or being
written) and refuses a new one at once with :class:`Overloaded`, *before* anything is
stored, when

* ``max_pending`` ingests are in flight already, or
* the oldest ingest in flight has waited longer than ``max_wait`` seconds: the writer is
  behind by more than that, so a new message would wait at least as long. A count alone
  bounds the queue, not the wait: at 300 messages/s 256 pending are almost a second,
  at 3,000/s a tenth of one. The wait bound keeps the answer time near ``max_wait``
  whatever the rate the writer manages.

The edge then answers honestly (503 + ``Retry-After``, a web chat ``slow_down`` frame, a
poller that waits and re-reads without moving its cursor).

The checks run on the event loop with no await between the test and the admission:
O(1) for the count, amortised O(log n) for the oldest wait (a heap of entry times whose
finished entries are dropped lazily), no lock (docs/reliability.md).
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable

from inbox.domain.errors import Overloaded

__all__ = ["Admission"]


class Admission:
    """At most ``max_pending`` ingests in flight in this process, none admitted while the
    oldest has waited over ``max_wait`` seconds; ``0`` turns either bound off.

    ``retry_after`` (seconds) is the hint a refused caller gets: by then the writers have
    usually drained several batches. ``clock`` is a monotonic clock (tests move their own).
    """

    def __init__(
        self,
        max_pending: int = 0,
        retry_after: float = 1.0,
        *,
        max_wait: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_pending < 0:
            raise ValueError("max_pending must be 0 (no bound) or more")
        if retry_after <= 0:
            raise ValueError("retry_after must be positive")
        if max_wait < 0:
            raise ValueError("max_wait must be 0 (no bound) or more")
        self.max_pending = max_pending
        self.retry_after = retry_after
        self.max_wait = max_wait
        self._clock = clock
        self._pending = 0
        self._refused = 0
        self._tickets = itertools.count()
        self._entered: list[tuple[float, int]] = []  # (entry time, ticket): a min-heap
        self._done: set[int] = set()  # tickets that left but are still in the heap

    @property
    def pending(self) -> int:
        """Ingests admitted and not finished yet."""
        return self._pending

    @property
    def refused(self) -> int:
        """Ingests refused since start (for metrics and tests)."""
        return self._refused

    def oldest_wait(self) -> float:
        """How long the oldest ingest in flight has been in (0 with none)."""
        heap = self._entered
        while heap and heap[0][1] in self._done:
            self._done.discard(heapq.heappop(heap)[1])
        return self._clock() - heap[0][0] if heap else 0.0

    def check(self) -> None:
        """Raise :class:`Overloaded` when a new ingest would be refused now, admitting
        nothing: the door check of an edge that would otherwise parse a request only to
        have its messages refused (``receive_webhook``)."""
        if (self.max_pending and self._pending >= self.max_pending) or (
            self.max_wait and self._pending and self.oldest_wait() > self.max_wait
        ):
            self._refused += 1
            raise Overloaded("the server is busy; send it again later", self.retry_after)

    def enter(self) -> int:
        """Admit one ingest and return its ticket for :meth:`leave`, or raise
        :class:`Overloaded` (nothing counted then)."""
        self.check()
        self._pending += 1
        ticket = next(self._tickets)
        if self.max_wait:
            heapq.heappush(self._entered, (self._clock(), ticket))
        return ticket

    def leave(self, ticket: int) -> None:
        """The admitted ingest with this ticket finished (stored, duplicate or failed)."""
        self._pending -= 1
        if self.max_wait:
            if self._entered and self._entered[0][1] == ticket:
                heapq.heappop(self._entered)
            else:
                self._done.add(ticket)
