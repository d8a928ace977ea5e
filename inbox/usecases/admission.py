"""The admission bound in front of the durable write of inbound messages (back-pressure).

Every channel's inbound -- webhooks, pollers, the web chat, the inbound API -- enters the
inbox through ``ingest_inbound``, so the gate sits there and covers them all. It counts
the ingests of this process that are in flight (waiting for the group committer or being
written); past ``max_pending`` a new one is refused at once with :class:`Overloaded`,
*before* anything is stored, and the edge answers honestly (503 + ``Retry-After``, a web
chat ``slow_down`` frame, a poller that waits and re-reads without moving its cursor).

The check is a plain counter on the event loop: O(1), no lock, no await between the test
and the increment (docs/reliability.md).
"""

from __future__ import annotations

from inbox.domain.errors import Overloaded

__all__ = ["Admission"]


class Admission:
    """At most ``max_pending`` ingests in flight in this process; ``0`` means no bound.

    ``retry_after`` (seconds) is the hint a refused caller gets: by then the writers have
    usually drained several batches."""

    def __init__(self, max_pending: int = 0, retry_after: float = 1.0) -> None:
        if max_pending < 0:
            raise ValueError("max_pending must be 0 (no bound) or more")
        if retry_after <= 0:
            raise ValueError("retry_after must be positive")
        self.max_pending = max_pending
        self.retry_after = retry_after
        self._pending = 0
        self._refused = 0

    @property
    def pending(self) -> int:
        """Ingests admitted and not finished yet."""
        return self._pending

    @property
    def refused(self) -> int:
        """Ingests refused since start (for metrics and tests)."""
        return self._refused

    def enter(self) -> None:
        """Admit one ingest, or raise :class:`Overloaded` (nothing counted then)."""
        if self.max_pending and self._pending >= self.max_pending:
            self._refused += 1
            raise Overloaded("the server is busy; send it again later", self.retry_after)
        self._pending += 1

    def leave(self) -> None:
        """The admitted ingest finished (stored, duplicate or failed)."""
        self._pending -= 1
