"""The state a router keeps between its passes, so that a pass reads what changed, not
everything (docs/routing.md, "Kept state").

A committed pass leaves a complete picture of what routing decides on (queues, routable
conversations, open tasks, offers, operators: the :class:`~routing.context.Pass` it
ended with). The next pass may start from that picture instead of re-reading it all when
two things hold:

- nobody else wrote routing rows since: every routing transaction raises the routing
  version (``RoutingRepo.lock``), so the pass's version must be exactly one more than the
  kept one. A console command of this process, a pass of another process or a queue
  saved anywhere all break the chain, and the pass reads everything again;
- what other use cases write without the routing lock (conversations, operators) is
  re-read where it changed: they publish events after their commit, on this process's
  bus and, through Redis, on every other's, and the service marks the conversations and
  operators they name (:meth:`StateKeeper.mark_conversation`,
  :meth:`StateKeeper.mark_operator`). An event seen before a pass takes its marks was
  committed before that pass reads, so nothing is missed; one seen later is read by the
  next pass.

A pass with no marks, before the kept picture's earliest deadline and with the same
queues open, would decide exactly as the last one did: it raises the version and ends.

Events are hints (pub/sub is at most once, and a few changes publish none, such as a
console's heartbeat), so the picture is also thrown away every
``RoutingSettings.full_read_seconds`` and after any failed pass. Heartbeats need no event:
a console that looks stale in the kept picture is re-read under its row lock before it is
turned away (``routing.presence``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from inbox.domain.conversations import Conversation
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.operators import Operator
from routing.queues import QueueSettings
from routing.records import OfferRecord, QueueId, QueueRecord, RoutingTask

__all__ = ["KeptState", "Marks", "StateKeeper"]


@dataclass(frozen=True, slots=True)
class KeptState:
    """What the last committed pass of this process ended with, at routing ``version``.
    Never changed in place: a pass starts from copies (:meth:`StateKeeper.usable`), since
    the store may run a unit of work twice."""

    version: int
    #: When (the keeper's clock, seconds) this picture was last read whole.
    read_at: float
    queues: dict[QueueId, QueueSettings]
    records: dict[QueueId, QueueRecord]
    default: QueueId
    convs: dict[ConversationId, Conversation]
    tasks: dict[ConversationId, RoutingTask]
    offers: dict[ConversationId, list[OfferRecord]]
    operators: dict[OperatorId, Operator]
    #: The pass's earliest deadline, and the queues that were open: until the one comes
    #: or the other changes, a pass with no marks would decide exactly as this one did.
    wake: datetime | None = None
    open_queues: frozenset[QueueId] = frozenset()
    #: The pass left work for the next one (its budget ran out).
    more: bool = False

    def copy_offers(self) -> defaultdict[ConversationId, list[OfferRecord]]:
        return defaultdict(list, {cid: list(o) for cid, o in self.offers.items() if o})


@dataclass(frozen=True, slots=True)
class Marks:
    """What changed outside routing since the marks were last taken."""

    conversations: frozenset[ConversationId]
    operators: frozenset[OperatorId]

    def __bool__(self) -> bool:
        return bool(self.conversations or self.operators)


class StateKeeper:
    """The kept picture of one router and the marks of what changed since.

    ``full_read_seconds``: the longest a picture is used before it is read whole again
    (``None``: never kept, every pass reads everything, as before this existed), by
    ``clock`` (seconds; the service gives it the core's clock).
    """

    def __init__(
        self,
        full_read_seconds: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._full_read_seconds = full_read_seconds
        self._clock = clock
        self._state: KeptState | None = None
        self._conversations: set[ConversationId] = set()
        self._operators: set[OperatorId] = set()
        #: Passes that started from the kept picture, those that read it whole, and
        #: those that found nothing to do (no marks, no deadline, the same open queues).
        self.kept_passes = 0
        self.full_reads = 0
        self.idle_passes = 0

    @property
    def enabled(self) -> bool:
        return self._full_read_seconds is not None

    # Marks are taken even while nothing is kept: a pass reading everything now may
    # read before the change its event is about, and then keep what it read.

    def mark_conversation(self, conversation_id: ConversationId) -> None:
        if self.enabled:
            self._conversations.add(conversation_id)

    def mark_operator(self, operator_id: OperatorId) -> None:
        if self.enabled:
            self._operators.add(operator_id)

    def take_marks(self) -> Marks:
        """The marks so far, cleared (a pass takes them before it starts)."""
        marks = Marks(frozenset(self._conversations), frozenset(self._operators))
        self._conversations.clear()
        self._operators.clear()
        return marks

    def usable(self, version: int) -> KeptState | None:
        """The kept picture, if a pass writing routing ``version`` may start from it."""
        state = self._state
        if state is None or self._full_read_seconds is None:
            return None
        if state.version != version - 1:
            return None
        if self._clock() - state.read_at >= self._full_read_seconds:
            return None
        return state

    def now(self) -> float:
        return self._clock()

    def keep(self, state: KeptState) -> None:
        """A pass committed ``state``; a picture of a later version is not replaced."""
        if self._full_read_seconds is None:
            return
        if self._state is not None and self._state.version > state.version:
            return
        self._state = state

    def drop(self) -> None:
        """Forget the picture, after a failed pass too: the next pass reads whole, which
        covers the marks it had taken (the others stay: they cost a re-read at most)."""
        self._state = None

    @property
    def version(self) -> int | None:
        """The kept picture's routing version (``None``: nothing kept)."""
        return self._state.version if self._state is not None else None
