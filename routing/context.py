"""What every part of the routing service shares: its dependencies and settings
(:class:`RoutingContext`), and the state of one unit of work under the routing lock
(:class:`Pass`).

A pass and a console command both start from a :class:`Pass`: a snapshot of what routing
decides on, read inside the transaction that holds the routing lock. The modules that
change it (``routing.tasks``, ``routing.moves``, ``routing.offers``, ...) update the rows
and the snapshot together, so a later step of the same unit sees every earlier decision;
the events they collect are published after the commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from inbox.domain.channels import ChannelKind
from inbox.domain.conversations import Conversation
from inbox.domain.events import Event
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.operators import Operator
from inbox.usecases import Core, Outcome
from routing.policy import ChannelWeights
from routing.ports import OpeningHours, RoutingStore, RoutingTx, UnpaidOrders
from routing.queues import QueueSettings
from routing.records import OfferRecord, QueueId, QueueRecord, RoutingTask

__all__ = [
    "DEFAULT_HANDLE_SECONDS",
    "AlertNotifier",
    "Pass",
    "RoutingContext",
    "RoutingSettings",
    "SupervisorAlert",
]

T = TypeVar("T")

#: Sends a text to a supervisor outside the console (a Telegram chat): (settings of the
#: queue's ``alert_telegram``, text). Failures are logged, never retried.
AlertNotifier = Callable[[Mapping[str, str], str], Awaitable[None]]

#: An alert for :data:`AlertNotifier`: (its target settings, the text).
SupervisorAlert = tuple[Mapping[str, str], str]

#: The handling time assumed for wait estimates until a queue has finished conversations.
DEFAULT_HANDLE_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class RoutingSettings:
    #: Run a pass at least this often even without events (another process's changes).
    sweep_seconds: float = 5.0
    #: An ``online`` operator with no console heartbeat for this long turns ``away``
    #: (every process's consoles heartbeat into the database); ``None`` turns it off.
    presence_stale_seconds: float | None = 150.0
    #: A pass starts from the picture the last one kept (``routing.kept``) for at most
    #: this long before reading everything again; ``None``: every pass reads everything.
    full_read_seconds: float | None = 30.0
    #: At most this many new tasks filed, and this many assignments or offers per queue,
    #: in one pass; the rest go to the next pass, which follows at once. A pass is one
    #: transaction that other writes share (group commit) and wait behind, so its length
    #: is what it costs them. ``None``: no bound.
    pass_budget: int | None = 50


@dataclass(frozen=True, slots=True)
class RoutingContext:
    """The routing service's dependencies: the core (its bus and clock), the routing
    unit of work, the channel weights, the settings, the supervisor notifier and the
    queues' business hours (``None``: every queue is always open)."""

    core: Core
    store: RoutingStore
    weights: ChannelWeights
    settings: RoutingSettings
    notifier: AlertNotifier | None = None
    hours: OpeningHours | None = None
    unpaid: UnpaidOrders | None = None

    def now(self) -> datetime:
        return self.core.clock.now()

    def weight(self, kind: str) -> float:
        """The capacity a conversation of this channel kind takes (1.0 for an unknown
        kind or one without a weight)."""
        return self.weights.get(ChannelKind(kind), 1.0)

    async def run(self, work: Callable[[RoutingTx], Awaitable[Outcome[T]]]) -> T:
        """Run ``work`` in a routing transaction, then publish its events: like
        :func:`inbox.usecases.run`, over the routing store."""
        outcome = await self.store.transact(work)
        if outcome.events:
            await self.core.bus.publish(outcome.events)
        return outcome.value

    async def read(self, work: Callable[[RoutingTx], Awaitable[T]]) -> T:
        """Run read-only ``work`` on its own connection (:meth:`RoutingStore.read`)."""
        return await self.store.read(work)


@dataclass(slots=True)
class Pass:
    """What one unit of work under the routing lock reads and changes, inside its
    transaction (``routing.snapshot.take_snapshot`` builds it)."""

    now: datetime
    queues: dict[QueueId, QueueSettings]
    records: dict[QueueId, QueueRecord]
    default: QueueId
    convs: dict[ConversationId, Conversation]
    tasks: dict[ConversationId, RoutingTask]
    offers: dict[ConversationId, list[OfferRecord]]
    operators: dict[OperatorId, Operator]
    loads: dict[OperatorId, float]
    events: list[Event] = field(default_factory=list)
    alerts: list[SupervisorAlert] = field(default_factory=list)
    changed_queues: set[QueueId] = field(default_factory=set)
    #: Tasks whose episode ended in this pass.
    done: dict[ConversationId, RoutingTask] = field(default_factory=dict)
    wake: datetime | None = None
    #: What is left of the pass's budget for filing new tasks (``None``: no bound), and
    #: whether something was left for the next pass.
    budget: int | None = None
    more: bool = False
    #: The queues' business hours (``None``: always open).
    hours: OpeningHours | None = None
    #: Who has an order awaiting payment (``None``: nobody, without payments).
    unpaid: UnpaidOrders | None = None

    def is_open(self, queue_id: QueueId) -> bool:
        """Whether the queue is open now (always, without business hours)."""
        return self.hours is None or self.hours.is_open(queue_id, self.now)

    def next_open(self, queue_id: QueueId) -> datetime | None:
        """When the queue opens next (now when open; ``None``: not within a year)."""
        if self.hours is None:
            return self.now
        return self.hours.next_open(queue_id, self.now)

    def due(self, queue_id: QueueId, start: datetime, seconds: float | None) -> datetime | None:
        """``seconds`` after ``start``: of the queue's open time when it counts business
        hours only (``sla_business_hours``; ``None`` when it never opens within a year),
        else of the wall clock. ``None`` seconds: no due time."""
        if seconds is None:
            return None
        queue = self.queues.get(queue_id)
        if self.hours is not None and queue is not None and queue.sla_business_hours:
            return self.hours.add_open_seconds(queue_id, start, seconds)
        return start + timedelta(seconds=seconds)

    def spend(self) -> bool:
        """Take one unit of the filing budget; False (and ``more`` set) when none is left."""
        if self.budget is None:
            return True
        if self.budget <= 0:
            self.more = True
            return False
        self.budget -= 1
        return True

    def wake_at(self, at: datetime | None) -> None:
        # A deadline at or before now was handled by this pass; never wake for it again.
        if at is not None and at > self.now and (self.wake is None or at < self.wake):
            self.wake = at
