"""Who holds a lease: the names of lease owners, and whether an owner is gone.

Jobs are leased (the outbox's replies, the outgoing webhooks' deliveries, the pollers'
singleton leases) so that several processes can share them; a lease runs out after its
term (120 s for a reply) if its owner never finishes. A process that died would thus
stall its jobs for the rest of the term. With owners whose liveness can be checked, the
next worker that looks reclaims a dead owner's leases at once (docs/reliability.md).

:class:`LeaseOwners` is the port; :class:`RandomOwners` (names that say nothing, never
gone: leases simply run out) is what the core uses when the root gives it nothing; the
root's ``server.process_owners.LocalProcessOwners`` names owners after their process
(host, boot, pid and start time) and knows when one on this machine has ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Protocol

from inbox.domain.ids import new_id

__all__ = ["LeaseOwners", "RandomOwners", "Reclaiming"]


class LeaseOwners(Protocol):
    def new(self, role: str) -> str:
        """A fresh owner name for one worker of ``role`` (``delivery``, ``poller``...)."""
        ...

    def gone(self, owner: str) -> bool:
        """Whether ``owner`` certainly holds nothing any more (its process ended); False
        when that cannot be known here (another machine's process, an unknown name)."""
        ...


class RandomOwners:
    """Owner names with nothing to check: a lease of a dead owner runs out by itself."""

    def new(self, role: str) -> str:
        return f"{role}-{new_id()[:12]}"

    def gone(self, owner: str) -> bool:
        return False


class Reclaiming:
    """When a worker that leases jobs looks for the leases of ended owners: on its first
    round and then every ``every`` seconds (by ``clock``, monotonic), never for owners
    that cannot be checked (:class:`RandomOwners`)."""

    def __init__(
        self,
        owners: LeaseOwners,
        me: str,
        every: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._owners = owners
        self._me = me
        self._every = every
        self._clock = clock
        self._next = float("-inf")

    def due(self) -> bool:
        if isinstance(self._owners, RandomOwners) or self._clock() < self._next:
            return False
        self._next = self._clock() + self._every
        return True

    def gone(self, leased: Iterable[str]) -> list[str]:
        """Those of ``leased`` (owners holding leases now) that are gone."""
        return [o for o in leased if o != self._me and self._owners.gone(o)]
