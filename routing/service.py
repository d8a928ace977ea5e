"""The routing service: runs the pure policy over the stored state and persists what it
decides, atomically, with the timers that move conversations on.

Every routing write (a pass, an accept, a decline, a pick, a transfer, a queue change)
runs in one transaction that first takes the routing lock (``RoutingRepo.lock``: a row
lock on PostgreSQL), so server processes take turns: one conversation is never assigned
twice and an operator's capacity is never exceeded, however many processes run. Rows that
other use cases write without that lock (conversations, operators) are re-read under
their row locks before they are changed.

The conversation table is the source of truth for status; a routing task
(:class:`routing.records.RoutingTask`) adds the queue, priority, refusals, offers and the
SLA and response clocks. A pass (:mod:`routing.passes`) reconciles the two, runs the
timers, decides and applies; console commands (:mod:`routing.commands`,
:mod:`routing.admin`) run under the same lock; reads (offers, explanations, queue lists)
do not take it.

Timers are deadlines stored in rows (an offer's ``expires_at``, a task's SLA due times,
``entered_queue_at`` plus the escalation steps), never in memory: after a restart the next
pass finds whatever fell due meanwhile. The loop sleeps until the earliest deadline, an
event, or the sweep interval, whichever comes first. See ``docs/routing.md``.

This module is the façade and the lifecycle: the loop, its wake-ups and the events that
kick it. Its parts share a :class:`~routing.context.RoutingContext`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from inbox.domain.conversations import Conversation
from inbox.domain.events import ConversationChanged, Event, MessageCreated, OperatorPresenceChanged
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.messages import Direction
from inbox.domain.operators import Operator
from inbox.usecases import Core
from routing import admin, commands
from routing.context import AlertNotifier, RoutingContext, RoutingSettings
from routing.dashboard import dashboard, zone_named
from routing.explain import explain
from routing.kept import StateKeeper
from routing.offers import list_offers_for
from routing.passes import run_pass
from routing.policy import DEFAULT_WEIGHTS, ChannelWeights
from routing.ports import OpeningHours, RoutingStore, UnpaidOrders
from routing.sla import notify_supervisors

__all__ = ["AlertNotifier", "RoutingService", "RoutingSettings"]

logger = logging.getLogger(__name__)

#: Bounds of the pause between two passes under a stream of events (see ``_loop``).
MIN_PASS_GAP_SECONDS = 0.005
MAX_PASS_GAP_SECONDS = 0.5
#: A pass at least this long is logged (a warning).
SLOW_PASS_SECONDS = 0.25


class RoutingService:
    """Implements :class:`routing.ports.Router` and :class:`routing.ports.RoutingControl`.

    ``store`` is routing's unit of work (in a server, the same SQL store as
    ``core.store``: its transaction carries every repository); events are published on
    ``core.bus`` after each commit and time comes from ``core.clock``. ``hours`` are the
    queues' business hours: a closed queue's conversations wait (or overflow to an open
    queue) and are offered at opening; ``None`` keeps every queue open.
    """

    def __init__(
        self,
        core: Core,
        store: RoutingStore,
        *,
        weights: ChannelWeights = DEFAULT_WEIGHTS,
        settings: RoutingSettings | None = None,
        notifier: AlertNotifier | None = None,
        hours: OpeningHours | None = None,
        unpaid_orders: UnpaidOrders | None = None,
        zone: Callable[[], str] | None = None,
    ) -> None:
        self._ctx = RoutingContext(
            core, store, weights, settings or RoutingSettings(), notifier, hours, unpaid_orders
        )
        self._zone = zone or (lambda: "UTC")
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._touched: set[ConversationId] = set()
        self._wake: datetime | None = None
        self._last_pass_seconds = 0.0
        self._last_pass_end = 0.0
        # The picture's age is measured on the core's clock (the tests' clock moves by hand).
        self._keeper = StateKeeper(
            self._ctx.settings.full_read_seconds, clock=lambda: self._ctx.now().timestamp()
        )
        self._behind = False

    # ------------------------------------------------------------------ Router port

    async def on_event(self, event: Event) -> None:
        # Every event that names a conversation or an operator marks it for the kept
        # picture (routing.kept); only those that can change a decision wake the loop.
        match event:
            case ConversationChanged(conversation=conversation, reason=reason):
                self._keeper.mark_conversation(conversation.id)
                if reason not in ("read", "updated"):
                    self._kick.set()
            case OperatorPresenceChanged(operator_id=operator_id):
                self._keeper.mark_operator(operator_id)
                self._kick.set()
            case MessageCreated(message=message, conversation=conversation):
                self._keeper.mark_conversation(conversation.id)
                if conversation.status.is_open and message.direction is not Direction.INTERNAL:
                    self._touched.add(conversation.id)
                    self._kick.set()
            case _:
                pass

    def start(self) -> None:
        if self._task is None:
            self._kick.set()  # a first pass at once: whatever fell due while we were down
            self._task = asyncio.create_task(self._loop(), name="routing-service")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def kick(self) -> None:
        """Run a pass soon."""
        self._kick.set()

    def forget(self) -> None:
        """Read everything again in the next pass (a change that published no event:
        business hours, a script writing rows)."""
        self._keeper.drop()

    @property
    def behind(self) -> bool:
        """Whether the last pass left work for the next one (its budget ran out)."""
        return self._behind

    @property
    def keeper(self) -> StateKeeper:
        """The kept picture and its counters (benchmarks and tests read them)."""
        return self._keeper

    @property
    def next_wake(self) -> datetime | None:
        """The earliest deadline the last pass saw (an offer expiring, a step, an SLA, a
        closed queue's opening)."""
        return self._wake

    async def _loop(self) -> None:
        while True:
            timeout = self._ctx.settings.sweep_seconds
            if self._wake is not None:
                until = (self._wake - self._ctx.now()).total_seconds()
                timeout = max(0.0, min(timeout, until + 0.01))
            if timeout > 0:
                with contextlib.suppress(TimeoutError):  # not wait_for: see inbox/delivery.py
                    async with asyncio.timeout(timeout):
                        await self._kick.wait()
            # Under a stream of events, passes keep a gap as long as the last pass took:
            # the router never holds the database more than about half of the time,
            # and the events of the gap are handled together in the next pass.
            gap = self._last_pass_seconds - (time.monotonic() - self._last_pass_end)
            if gap > 0:
                await asyncio.sleep(min(gap, MAX_PASS_GAP_SECONDS))
            self._kick.clear()
            started = time.monotonic()
            try:
                await self.run_pass()
                self._last_pass_end = time.monotonic()
                took = self._last_pass_end - started
                self._last_pass_seconds = max(MIN_PASS_GAP_SECONDS, took)
                if took >= SLOW_PASS_SECONDS:
                    # A long pass holds the routing lock and the rows it wrote that long.
                    logger.warning("routing pass took %.2f s", took)
            except Exception:
                logger.exception("routing pass failed")
                await asyncio.sleep(min(1.0, self._ctx.settings.sweep_seconds))

    async def run_pass(self) -> None:
        """Reconcile, run the timers, decide and persist; one transaction
        (:func:`routing.passes.run_pass`). Conversations touched since the last pass are
        kept for the next one when this one fails; supervisor alerts go out after the
        commit."""
        touched, self._touched = self._touched, set()
        try:
            self._wake, alerts, more = await run_pass(self._ctx, touched, self._keeper)
        except BaseException:
            self._touched |= touched
            raise
        self._behind = more
        if more:
            self._kick.set()  # the budget ran out: the next pass goes on (after the gap)
        await notify_supervisors(self._ctx, alerts)

    # ------------------------------------------------------------------ RoutingControl port

    async def accept_offer(self, actor: Operator, conversation_id: ConversationId) -> Conversation:
        conv = await commands.accept_offer(self._ctx, actor, conversation_id)
        self._kick.set()
        return conv

    async def decline_offer(self, actor: Operator, conversation_id: ConversationId) -> None:
        await commands.decline_offer(self._ctx, actor, conversation_id)
        self._kick.set()

    async def pick(self, actor: Operator, conversation_id: ConversationId) -> Conversation:
        conv = await commands.pick(self._ctx, actor, conversation_id)
        self._kick.set()
        return conv

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
        conv = await commands.transfer(
            self._ctx,
            actor,
            conversation_id,
            operator_id=operator_id,
            queue=queue,
            skills=skills,
            note=note,
        )
        self._kick.set()
        return conv

    async def offers_for(self, actor: Operator) -> list[dict[str, object]]:
        return await list_offers_for(self._ctx, actor)

    async def explain(self, actor: Operator, conversation_id: ConversationId) -> dict[str, object]:
        return await explain(self._ctx, actor, conversation_id)

    async def list_queues(self, actor: Operator) -> list[dict[str, object]]:
        return await admin.list_queues(self._ctx, actor)

    async def dashboard(self, actor: Operator) -> dict[str, object]:
        return await dashboard(self._ctx, actor, zone_named(self._zone()))

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
        view = await admin.save_queue(
            self._ctx,
            actor,
            name,
            settings,
            create=create,
            is_default=is_default,
            new_name=new_name,
        )
        self._kick.set()
        return view
