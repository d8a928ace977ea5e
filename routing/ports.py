"""Routing's ports: its repository, its unit of work that extends the core's, and what
the rest of the server asks of the router.

``RoutingTx`` is the core's :class:`~inbox.ports.Tx` plus ``.routing``; ``RoutingStore``
runs work on one. The storage implements both (its transaction carries every feature's
repositories), so a process has one store and one transaction per unit of work: a routing
pass changes conversations, operators and routing rows atomically.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from inbox.domain.conversations import Conversation
from inbox.domain.events import Event
from inbox.domain.ids import ContactId, ConversationId, OperatorId
from inbox.domain.operators import Operator
from inbox.ports import Tx
from routing.records import (
    DecisionRecord,
    OfferRecord,
    QueueId,
    QueueRecord,
    RoutingTask,
    TaskStatus,
)

__all__ = [
    "OpeningHours",
    "Router",
    "RoutingControl",
    "RoutingRepo",
    "RoutingStore",
    "RoutingTx",
    "UnpaidOrders",
]

T = TypeVar("T")


class RoutingRepo(Protocol):
    """Queues, routing tasks, offers and decisions (:mod:`routing.records`).

    Every routing write runs inside a transaction that first calls :meth:`lock`, so
    routing decisions are serialised across server processes.
    """

    async def lock(self) -> int:
        """Take the routing lock until the transaction ends (PostgreSQL: a row lock on
        one row; SQLite serialises writers anyway). Call before reading what you decide on.

        Returns the routing version this transaction writes: one more than the last
        committed routing transaction's, whichever process ran it."""

    async def list_queues(self) -> builtins.list[QueueRecord]:
        """All queues, by name."""

    async def get_queue(self, queue_id: QueueId) -> QueueRecord | None: ...

    async def get_queue_by_name(self, name: str) -> QueueRecord | None: ...

    async def add_queue(self, queue: QueueRecord) -> None:
        """Insert; a taken name raises the store's integrity error."""

    async def update_queue(self, queue: QueueRecord) -> None:
        """Overwrite name, settings, state, is_default and updated_at."""

    async def get_task(self, conversation_id: ConversationId) -> RoutingTask | None: ...

    async def put_task(self, task: RoutingTask) -> None:
        """Insert or overwrite the task of ``task.conversation_id``."""

    async def put_tasks(self, tasks: Sequence[RoutingTask]) -> None:
        """:meth:`put_task` for each, in as few round trips as the store can."""

    async def get_tasks(self, ids: Sequence[ConversationId]) -> dict[ConversationId, RoutingTask]:
        """The tasks of these conversations (any status), by conversation."""

    async def set_queues(self, moves: Sequence[tuple[ConversationId, QueueId]]) -> None:
        """Set each conversation's ``queue_id`` (what the visibility rule reads)."""

    async def list_tasks(
        self, statuses: Sequence[TaskStatus], *, queue_id: QueueId | None = None
    ) -> builtins.list[RoutingTask]:
        """Tasks in these statuses (of one queue when given), oldest ``entered_queue_at``
        first."""

    async def list_done_since(self, since: datetime, *, limit: int) -> builtins.list[RoutingTask]:
        """Tasks resolved at or after ``since`` (newest first, at most ``limit``): recent
        handling times for wait estimates."""

    async def count_breaches_since(self, since: datetime) -> dict[QueueId, int]:
        """Tasks (open or done) whose first-response or resolution SLA was breached at or
        after ``since``, counted per queue (the dashboard's breaches of the day)."""

    async def list_offers(
        self,
        *,
        conversation_id: ConversationId | None = None,
        operator_id: OperatorId | None = None,
    ) -> builtins.list[OfferRecord]:
        """Pending offers (narrowed by conversation and/or operator), oldest first."""

    async def add_offer(self, offer: OfferRecord) -> None:
        """Insert; a second offer of one conversation to one operator raises the store's
        integrity error."""

    async def delete_offers(
        self, conversation_id: ConversationId, operator_id: OperatorId | None = None
    ) -> int:
        """Remove the conversation's offers (only ``operator_id``'s when given); returns
        how many were removed."""

    async def add_decision(self, decision: DecisionRecord) -> None: ...

    async def list_decisions(
        self, conversation_id: ConversationId, *, limit: int = 100
    ) -> builtins.list[DecisionRecord]:
        """The conversation's decisions, oldest first (the newest ``limit``)."""

    async def list_routable(
        self, ids: Sequence[ConversationId] | None = None
    ) -> builtins.list[Conversation]:
        """Conversations that routing looks after: ``queued`` and ``assigned`` ones (of
        these ids only, when given)."""

    async def count_contact_conversations(self, contact_id: ContactId) -> int:
        """How many conversations the contact has had (a returning customer has > 1)."""


class RoutingTx(Tx, Protocol):
    """One database transaction's view of the core's repositories and routing's."""

    @property
    def routing(self) -> RoutingRepo: ...


class RoutingStore(Protocol):
    """The unit of work of routing: :class:`inbox.ports.Store`'s contract (commit before
    returning, group commit in savepoints, ``work`` safe to run again on an integrity
    error; ``read`` on its own connection, without writes) over a :class:`RoutingTx`."""

    async def transact(self, work: Callable[[RoutingTx], Awaitable[T]]) -> T: ...

    async def read(self, work: Callable[[RoutingTx], Awaitable[T]]) -> T: ...


class OpeningHours(Protocol):
    """Business hours per queue, given by the root (the bots feature keeps them).
    Synchronous and in memory: called inside routing passes."""

    def is_open(self, queue_id: QueueId, at: datetime) -> bool: ...

    def next_open(self, queue_id: QueueId, at: datetime) -> datetime | None:
        """``at`` itself when open now; ``None``: never within a year."""

    def add_open_seconds(
        self, queue_id: QueueId, start: datetime, seconds: float
    ) -> datetime | None:
        """The moment when ``seconds`` of open time have passed after ``start``;
        ``None``: never within a year."""


class Router(Protocol):
    """Decides who gets which conversation. It listens to events (a conversation queued,
    an operator online, capacity freed) and assigns through the core's
    ``assign_conversation``, which re-checks everything under row locks. Replacing the
    router touches nothing else."""

    async def on_event(self, event: Event) -> None:
        """Cheap: note that work may be waiting; never blocks on I/O."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


class RoutingControl(Protocol):
    """What the console and the API ask of the router, beyond ``Router``: offers, picking,
    transfers, queues and explanations. Implemented by ``routing.RoutingService``; the
    results are JSON-ready views. Every method checks the actor's role on the server and
    raises :class:`~inbox.domain.errors.Forbidden`, ``NotFound``, ``Conflict`` or
    ``InvalidInput``."""

    async def accept_offer(
        self, actor: Operator, conversation_id: ConversationId
    ) -> Conversation: ...

    async def decline_offer(self, actor: Operator, conversation_id: ConversationId) -> None: ...

    async def pick(self, actor: Operator, conversation_id: ConversationId) -> Conversation:
        """A member takes a queued conversation by hand (where the queue allows it)."""

    async def transfer(
        self,
        actor: Operator,
        conversation_id: ConversationId,
        *,
        operator_id: OperatorId | None = None,
        queue: str | None = None,
        skills: Mapping[str, int] | None = None,
        note: str = "",
    ) -> Conversation:
        """To an operator, or back to a queue (``queue`` by id or name; the current one when
        only ``skills`` are given), optionally narrowed to operators with ``skills``."""

    async def offers_for(self, actor: Operator) -> builtins.list[dict[str, object]]:
        """The actor's pending offers."""

    async def explain(self, actor: Operator, conversation_id: ConversationId) -> dict[str, object]:
        """Supervisors and admins: the conversation's routing state and every decision
        with its reasons, plus what a pass would decide now for a waiting one."""

    async def list_queues(self, actor: Operator) -> builtins.list[dict[str, object]]:
        """Every queue with its settings and live numbers (waiting, longest wait, offers,
        members online, SLA breaches)."""

    async def dashboard(self, actor: Operator) -> dict[str, object]:
        """Supervisors and admins: the live numbers in one read -- totals and per queue
        (waiting, longest wait and since when, offers, assigned, SLA breaches today and
        open now) and operators by presence, busy or free (``routing.dashboard``)."""

    async def save_queue(
        self,
        actor: Operator,
        name: str,
        settings: Mapping[str, object],
        *,
        create: bool,
        is_default: bool | None = None,
        new_name: str | None = None,
    ) -> dict[str, object]:
        """Admins and supervisors: create a queue, or update one (by id or name) with the
        given settings keys replacing the stored ones."""


class UnpaidOrders(Protocol):
    """Whether a contact has an order awaiting payment (the priority rule
    ``unpaid_order``), given by the root (the payments feature keeps orders). Runs inside
    the routing transaction."""

    async def has_unpaid(self, tx: RoutingTx, contact_id: ContactId) -> bool: ...
