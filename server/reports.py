"""The root's glue for the reports feature: the store that records the facts in every
transaction, the bots' business hours and CSAT event in the reports' terms, and the
service (docs/reports.md).

:func:`facts_hook` is a transaction hook of the :class:`~storage.SqlStore` that the core
and every feature write through: after a unit of work returns its
:class:`~inbox.usecases.Outcome` and before the transaction commits, the reports' recorder
applies the outcome's events to the facts, on the same transaction. So the facts commit
or roll back with the change they describe -- also when the process dies between the
commit and the events' publication.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from bots import DEFAULT_SCOPE, BotService, Scope, hours
from bots.events import CsatReceived
from inbox.domain.clock import Clock
from inbox.domain.events import Event
from inbox.domain.ids import ConversationId
from inbox.usecases import Outcome
from payments.money import to_string
from reports import FactRecorder, RatingGiven, ReportService
from reports.ports import ReportsTx
from storage import SqlStore
from storage.repositories.tx import SqlTx
from storage.store import TransactionHook

__all__ = ["BotBusinessClock", "build_reports", "facts_hook", "inbox_zone", "rating_of"]

T = TypeVar("T")


def facts_hook(recorder: FactRecorder) -> TransactionHook:
    """The store's transaction hook (``SqlStore.add_transaction_hook``) that applies every
    outcome's events to the facts inside the transaction (see the module's docstring). A
    work that returns something other than an ``Outcome`` publishes no events, so it
    changes no facts either."""

    async def record(tx: SqlTx, result: object) -> None:
        if isinstance(result, Outcome) and result.events:
            await recorder.record(tx, result.events)

    return record


def rating_of(event: Event) -> RatingGiven | None:
    """The bots' CSAT event as the reports know it."""
    if isinstance(event, CsatReceived):
        return RatingGiven(event.conversation.id, event.rating, event.at)
    return None


class BotBusinessClock:
    """Open seconds by the bots' business hours of the conversation's queue (its routing
    task's), else the whole inbox's; every second counts where no hours are set.
    ``bots`` gives the bots' service, built after the store this clock serves."""

    def __init__(self, bots: Callable[[], BotService]) -> None:
        self._bots = bots

    async def __call__(
        self, tx: ReportsTx, conversation_id: ConversationId, start: datetime, end: datetime
    ) -> float | None:
        if not isinstance(tx, SqlTx):  # pragma: no cover - the root always wires the SqlStore
            raise TypeError("business hours need the storage's transaction")
        task = await tx.routing.get_task(conversation_id)
        scope = Scope(task.queue_id) if task is not None else None
        schedule = self._bots().settings.settings_for(scope).hours
        if schedule is None:
            return max(0.0, (end - start).total_seconds())
        return hours.business_seconds(schedule, start, end)


def build_reports(store: SqlStore, clock: Clock, bots: BotService) -> ReportService:
    """The reports over ``store``: periods in the zone of the whole inbox's business hours
    (``inbox hours set default --tz ...``) unless a query names one, else UTC."""

    return ReportService(store, clock, default_tz=lambda: inbox_zone(bots), money=to_string)


def inbox_zone(bots: BotService) -> str:
    """The whole inbox's time zone: its business hours' (``inbox hours set default --tz``),
    else UTC -- the zone of the reports' days and of the routing dashboard's "today"."""
    schedule = bots.settings.settings_for(DEFAULT_SCOPE).hours
    return schedule.tz if schedule is not None else "UTC"
