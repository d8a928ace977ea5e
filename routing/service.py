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
SLA and response clocks. Each pass first reconciles the two (a conversation queued by an
inbound message, claimed, resolved or reopened elsewhere), then:

1. expires offers and withdraws offers held by operators who are no longer online;
2. turns operators whose consoles stopped sending heartbeats ``away`` and puts the
   unanswered conversations of operators who are not online back into the queue;
3. runs the response timer and the SLA warnings and breaches;
4. runs :func:`routing.policy.decide` per queue and persists assignments, offers and
   overflows, each with its explanation;
5. sends queue positions to waiting customers.

Timers are deadlines stored in rows (an offer's ``expires_at``, a task's SLA due times,
``entered_queue_at`` plus the escalation steps), never in memory: after a restart the next
pass finds whatever fell due meanwhile. The loop sleeps until the earliest deadline, an
event, or the sweep interval, whichever comes first. See ``docs/routing.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from inbox.domain.channels import ChannelKind
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from inbox.domain.events import (
    ConversationChanged,
    Event,
    MessageCreated,
    OfferChanged,
    OperatorPresenceChanged,
    RoutingAlert,
)
from inbox.domain.ids import ConversationId, OperatorId, new_id
from inbox.domain.messages import AuthorKind, Direction
from inbox.domain.operators import Operator, Presence, Role, validate_skills
from inbox.usecases import Core, Outcome, write_note, write_system_message
from inbox.usecases.access import require_act
from routing.policy import (
    DEFAULT_WEIGHTS,
    Assign,
    ChannelWeights,
    CustomerFacts,
    Offer,
    OperatorState,
    Overflow,
    QueueConfig,
    TaskState,
    decide,
    next_step_at,
    priority_of,
    service_order,
    to_json,
)
from routing.ports import RoutingStore, RoutingTx
from routing.queues import QueueSettings, parse_settings, position_text
from routing.records import (
    DecisionRecord,
    OfferRecord,
    QueueId,
    QueueRecord,
    RoutingTask,
    TaskStatus,
)
from routing.views import offer_view, queue_view, stored_explanation, task_view

__all__ = ["AlertNotifier", "RoutingService", "RoutingSettings"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Sends a text to a supervisor outside the console (a Telegram chat): (settings of the
#: queue's ``alert_telegram``, text). Failures are logged, never retried.
AlertNotifier = Callable[[Mapping[str, str], str], Awaitable[None]]

DEFAULT_QUEUE_NAME = "Default"
#: The handling time assumed for wait estimates until a queue has finished conversations.
DEFAULT_HANDLE_SECONDS = 300.0
#: Weight of the newest handling time in the running average.
HANDLE_EWMA = 0.2

_DECISION_SEQ = itertools.count()

#: The queue settings a plain operator may read (``list_queues``).
OPERATOR_VISIBLE_SETTINGS = frozenset(
    {"skills", "strategy", "accept_timeout", "allow_pick", "response_timeout", "sla"}
)

#: Bounds of the pause between two passes under a stream of events (see ``_loop``).
MIN_PASS_GAP_SECONDS = 0.005
MAX_PASS_GAP_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class RoutingSettings:
    #: Run a pass at least this often even without events (another process's changes).
    sweep_seconds: float = 5.0
    #: An ``online`` operator with no console heartbeat for this long turns ``away``
    #: (every process's consoles heartbeat into the database); ``None`` turns it off.
    presence_stale_seconds: float | None = 150.0


@dataclass(slots=True)
class _Pass:
    """What one pass reads and changes, inside its transaction."""

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
    alerts: list[tuple[Mapping[str, str], str]] = field(default_factory=list)
    changed_queues: set[QueueId] = field(default_factory=set)
    #: Tasks whose episode ended in this pass.
    done: dict[ConversationId, RoutingTask] = field(default_factory=dict)
    wake: datetime | None = None

    def wake_at(self, at: datetime | None) -> None:
        # A deadline at or before now was handled by this pass; never wake for it again.
        if at is not None and at > self.now and (self.wake is None or at < self.wake):
            self.wake = at


class RoutingService:
    """Implements :class:`routing.ports.Router` and :class:`routing.ports.RoutingControl`.

    ``store`` is routing's unit of work (in a server, the same SQL store as
    ``core.store``: its transaction carries every repository); events are published on
    ``core.bus`` after each commit and time comes from ``core.clock``.
    """

    def __init__(
        self,
        core: Core,
        store: RoutingStore,
        *,
        weights: ChannelWeights = DEFAULT_WEIGHTS,
        settings: RoutingSettings | None = None,
        notifier: AlertNotifier | None = None,
    ) -> None:
        self._core = core
        self._store = store
        self._weights = weights
        self._settings = settings or RoutingSettings()
        self._notifier = notifier
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._touched: set[ConversationId] = set()
        self._wake: datetime | None = None
        self._last_pass_seconds = 0.0
        self._last_pass_end = 0.0

    # ------------------------------------------------------------------ Router port

    async def on_event(self, event: Event) -> None:
        match event:
            case ConversationChanged(reason=reason) if reason not in ("read", "updated"):
                self._kick.set()
            case OperatorPresenceChanged():
                self._kick.set()
            case MessageCreated(message=message, conversation=conversation):
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

    @property
    def next_wake(self) -> datetime | None:
        """The earliest deadline the last pass saw (an offer expiring, a step, an SLA)."""
        return self._wake

    async def _loop(self) -> None:
        while True:
            timeout = self._settings.sweep_seconds
            if self._wake is not None:
                until = (self._wake - self._core.clock.now()).total_seconds()
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
                self._last_pass_seconds = max(MIN_PASS_GAP_SECONDS, self._last_pass_end - started)
            except Exception:
                logger.exception("routing pass failed")
                await asyncio.sleep(min(1.0, self._settings.sweep_seconds))

    # ------------------------------------------------------------------ the pass

    async def run_pass(self) -> None:
        """Reconcile, run the timers, decide and persist; one transaction."""
        touched, self._touched = self._touched, set()
        alerts: list[tuple[Mapping[str, str], str]] = []

        async def work(tx: RoutingTx) -> Outcome[datetime | None]:
            await tx.routing.lock()
            p = await self._snapshot(tx)
            await self._reconcile(tx, p)
            await self._track_replies(tx, p, touched)
            await self._expire_offers(tx, p)
            await self._presence(tx, p)
            await self._timers(tx, p)
            await self._route(tx, p)
            await self._positions(tx, p)
            await self._save_queue_state(tx, p)
            alerts[:] = p.alerts
            return Outcome(p.wake, p.events)

        try:
            self._wake = await self._run(work)
        except BaseException:
            self._touched |= touched
            raise
        await self._notify(alerts)

    async def _run(self, work: Callable[[RoutingTx], Awaitable[Outcome[T]]]) -> T:
        """Like :func:`inbox.usecases.run`, over the routing store."""
        outcome = await self._store.transact(work)
        if outcome.events:
            await self._core.bus.publish(outcome.events)
        return outcome.value

    async def _notify(self, alerts: Sequence[tuple[Mapping[str, str], str]]) -> None:
        if self._notifier is None:
            return
        for target, text in alerts:
            try:
                await self._notifier(target, text)
            except Exception as exc:
                # Only the kind: a client library's message may carry the bot's URL (token).
                logger.warning("a supervisor alert could not be sent (%s)", type(exc).__name__)

    async def _snapshot(self, tx: RoutingTx, *, write: bool = True) -> _Pass:
        """Everything routing decides on. ``write``: inside a routing transaction, which
        creates the default queue if there is none yet; a read leaves it missing."""
        now = self._core.clock.now()
        records = {r.id: r for r in await tx.routing.list_queues()}
        default = next((r.id for r in records.values() if r.is_default), None)
        if default is None and not write:
            default = QueueId("")
        elif default is None:
            record = QueueRecord(
                QueueId(new_id()), DEFAULT_QUEUE_NAME, {}, now, now, is_default=True
            )
            if any(r.name == DEFAULT_QUEUE_NAME for r in records.values()):
                record = dataclasses.replace(record, name=f"{DEFAULT_QUEUE_NAME} {record.id[:6]}")
            await tx.routing.add_queue(record)
            records[record.id] = record
            default = record.id
        queues: dict[QueueId, QueueSettings] = {}
        for record in records.values():
            try:
                queues[record.id] = parse_settings(record)
            except InvalidInput as exc:
                if write:
                    logger.error("queue %s has bad settings and is skipped: %s", record.name, exc)
        if write and default not in queues:
            queues[default] = parse_settings(dataclasses.replace(records[default], settings={}))
        operators = {o.id: o for o in await tx.operators.list()}
        convs = {c.id: c for c in await tx.routing.list_routable()}
        tasks = {
            t.conversation_id: t
            for t in await tx.routing.list_tasks((TaskStatus.WAITING, TaskStatus.ASSIGNED))
        }
        offers: dict[ConversationId, list[OfferRecord]] = defaultdict(list)
        for offer in await tx.routing.list_offers():
            offers[offer.conversation_id].append(offer)
        loads: dict[OperatorId, float] = defaultdict(float)
        for c in convs.values():
            if c.status is ConversationStatus.ASSIGNED and c.assignee_id is not None:
                loads[c.assignee_id] += self._weight(c.channel_kind)
        for offer_list in offers.values():
            for offer in offer_list:
                loads[offer.operator_id] += offer.weight
        return _Pass(now, queues, records, default, convs, tasks, offers, operators, loads)

    def _weight(self, kind: str) -> float:
        try:
            return self._weights.get(ChannelKind(kind), 1.0)
        except ValueError:
            return 1.0

    def _queue_for(self, p: _Pass, conversation: Conversation) -> QueueId:
        for qid, q in sorted(p.queues.items(), key=lambda kv: kv[1].name):
            if conversation.channel_id in q.config.channel_ids:
                return qid
        return p.default

    def _config(self, p: _Pass, queue: QueueSettings) -> QueueConfig:
        """The queue's policy configuration; a queue with no members lists every operator
        (by login), so a fresh install routes to everyone."""
        config = queue.config
        if not config.members:
            members = tuple(
                o.id for o in sorted(p.operators.values(), key=lambda o: o.login) if not o.disabled
            )
            config = dataclasses.replace(config, members=members)
        return config

    async def _new_task(
        self, tx: RoutingTx, p: _Pass, conv: Conversation, previous: RoutingTask | None
    ) -> RoutingTask:
        queue_id = self._queue_for(p, conv)
        queue = p.queues[queue_id]
        # Served before: an earlier episode of this conversation, or another conversation.
        returning = (
            previous is not None
            or await tx.routing.count_contact_conversations(conv.contact_id) > 1
        )
        contact = await tx.contacts.get(conv.contact_id)
        tags = contact.tags if contact is not None else frozenset()
        priority = priority_of(queue.priority_rules, CustomerFacts(returning=returning, tags=tags))
        started = conv.queued_at or p.now
        sla = queue.config.sla_for(priority)
        return RoutingTask(
            conversation_id=conv.id,
            queue_id=queue_id,
            status=TaskStatus.WAITING,
            channel_kind=conv.channel_kind,
            started_at=started,
            entered_queue_at=started,
            updated_at=p.now,
            priority=priority,
            last_operator_id=previous.assignee_id if previous else None,
            awaiting_reply_since=conv.last_inbound_at or started,
            first_response_due=_plus(started, sla.first_response_seconds if sla else None),
            resolution_due=_plus(started, sla.resolution_seconds if sla else None),
        )

    async def _put(self, tx: RoutingTx, p: _Pass, task: RoutingTask) -> RoutingTask:
        task = dataclasses.replace(task, updated_at=p.now)
        await tx.routing.put_task(task)
        if task.status is TaskStatus.DONE:
            p.tasks.pop(task.conversation_id, None)
        else:
            p.tasks[task.conversation_id] = task
        return task

    async def _decision(
        self, tx: RoutingTx, p: _Pass, task: RoutingTask, outcome: str, why: Mapping[str, Any]
    ) -> None:
        await tx.routing.add_decision(
            DecisionRecord(
                # Sorts in the order of writing among decisions made at the same instant.
                id=f"{next(_DECISION_SEQ):012d}{new_id()[:20]}",
                conversation_id=task.conversation_id,
                queue_id=task.queue_id,
                decided_at=p.now,
                outcome=outcome,
                explanation=dict(why),
            )
        )

    async def _withdraw(
        self,
        tx: RoutingTx,
        p: _Pass,
        conv: Conversation | None,
        reason: str,
        *,
        conversation_id: ConversationId | None = None,
        keep: OperatorId | None = None,
    ) -> None:
        """End every pending offer of the conversation (but ``keep``'s), release their
        capacity and tell the operators (when the conversation is still there to show)."""
        cid = conv.id if conv is not None else conversation_id
        assert cid is not None
        remaining = []
        for offer in p.offers.pop(cid, []):
            if offer.operator_id == keep:
                remaining.append(offer)
                continue
            await tx.routing.delete_offers(cid, offer.operator_id)
            p.loads[offer.operator_id] -= offer.weight
            if conv is not None:
                p.events.append(self._offer_event(p, conv, offer, "withdrawn", reason))
        if remaining:
            p.offers[cid] = remaining

    def _offer_event(
        self, p: _Pass, conv: Conversation, offer: OfferRecord, state: Any, reason: str = ""
    ) -> OfferChanged:
        queue = p.queues.get(offer.queue_id)
        return OfferChanged(
            conversation=conv,
            operator_id=offer.operator_id,
            state=state,
            queue_id=offer.queue_id,
            queue_name=queue.name if queue else "",
            offered_at=offer.offered_at,
            expires_at=offer.expires_at,
            reason=reason,
        )

    async def _reconcile(self, tx: RoutingTx, p: _Pass) -> None:
        """Bring tasks in line with the conversations' statuses."""
        for conv in list(p.convs.values()):
            task = p.tasks.get(conv.id)
            previous: RoutingTask | None = None
            if (
                task is not None
                and conv.queued_at is not None
                and (conv.queued_at > task.entered_queue_at)
            ):
                # Queued again after the task last entered its queue, and not by routing
                # (routing moves both together): resolved and reopened between two passes.
                # That episode is over; this is a new one.
                await self._withdraw(tx, p, conv, "resolved")
                await self._finish(tx, p, task, at=conv.queued_at)
                previous, task = p.done.get(conv.id), None
            if conv.status is ConversationStatus.QUEUED:
                if task is None:
                    if previous is None:
                        previous = await tx.routing.get_task(conv.id)
                    task = await self._new_task(tx, p, conv, previous)
                    await self._put(tx, p, task)
                elif task.status is TaskStatus.ASSIGNED:
                    # Back to the queue (returned by hand, or from an operator who left):
                    # the escalation starts again; the SLA clock does not.
                    await self._put(
                        tx,
                        p,
                        dataclasses.replace(
                            task,
                            status=TaskStatus.WAITING,
                            entered_queue_at=p.now,
                            last_operator_id=task.assignee_id or task.last_operator_id,
                            assignee_id=None,
                            assigned_at=None,
                        ),
                    )
            elif conv.status is ConversationStatus.ASSIGNED:
                if task is None:
                    if previous is None:
                        previous = await tx.routing.get_task(conv.id)
                    task = await self._new_task(tx, p, conv, previous)
                if task.status is not TaskStatus.ASSIGNED or task.assignee_id != conv.assignee_id:
                    await self._withdraw(tx, p, conv, "taken")
                    await self._put(
                        tx,
                        p,
                        dataclasses.replace(
                            task,
                            status=TaskStatus.ASSIGNED,
                            assignee_id=conv.assignee_id,
                            assigned_at=p.now,
                            response_alerted_at=None,
                        ),
                    )
        for cid, task in list(p.tasks.items()):
            if cid in p.convs:
                continue
            # Resolved (or handed to the bot) since: the episode ends.
            if cid in p.offers:
                gone = await tx.conversations.get(cid)
                await self._withdraw(tx, p, gone, "resolved", conversation_id=cid)
            await self._finish(tx, p, task)

    async def _finish(
        self, tx: RoutingTx, p: _Pass, task: RoutingTask, *, at: datetime | None = None
    ) -> None:
        """End the task's episode (resolved at ``at``, by default now)."""
        end = at or p.now
        met: bool | None = None
        if task.first_response_due is not None or task.resolution_due is not None:
            first_ok = task.first_response_due is None or (
                task.first_response_at is not None
                and task.first_response_at <= task.first_response_due
            )
            resolution_ok = task.resolution_due is None or end <= task.resolution_due
            met = first_ok and resolution_ok
        if task.assigned_at is not None:
            record = p.records.get(task.queue_id)
            if record is not None:
                handled = max(0.0, (end - task.assigned_at).total_seconds())
                state = dict(record.state)
                old = float(state.get("handle_seconds", DEFAULT_HANDLE_SECONDS))
                state["handle_seconds"] = round(old + HANDLE_EWMA * (handled - old), 3)
                p.records[task.queue_id] = dataclasses.replace(record, state=state)
                p.changed_queues.add(task.queue_id)
        done = await self._put(
            tx,
            p,
            dataclasses.replace(task, status=TaskStatus.DONE, sla_met=met, resolved_at=end),
        )
        p.done[task.conversation_id] = done

    async def _track_replies(
        self, tx: RoutingTx, p: _Pass, touched: Iterable[ConversationId]
    ) -> None:
        """For conversations with new messages: when the customer started waiting for an
        answer (``None`` once answered), and the first operator response. Read from the
        stored messages, so replaying an event or running this in two processes agrees."""
        for cid in touched:
            task = p.tasks.get(cid)
            if task is None:
                continue
            messages = await tx.messages.list_last(cid, limit=50, include_notes=False)
            waiting_since: datetime | None = None
            first_response = task.first_response_at
            for m in messages:
                if m.author_kind is AuthorKind.CUSTOMER:
                    if waiting_since is None:
                        waiting_since = m.created_at
                elif m.author_kind is AuthorKind.OPERATOR and m.direction is Direction.OUTBOUND:
                    waiting_since = None
                    if first_response is None and m.created_at >= task.started_at:
                        first_response = m.created_at
            if (
                waiting_since != task.awaiting_reply_since
                or first_response != task.first_response_at
            ):
                alerted = (
                    task.response_alerted_at if waiting_since == task.awaiting_reply_since else None
                )
                await self._put(
                    tx,
                    p,
                    dataclasses.replace(
                        task,
                        awaiting_reply_since=waiting_since,
                        first_response_at=first_response,
                        response_alerted_at=alerted,
                    ),
                )

    async def _expire_offers(self, tx: RoutingTx, p: _Pass) -> None:
        for cid, offers in list(p.offers.items()):
            conv = p.convs.get(cid)
            task = p.tasks.get(cid)
            for offer in list(offers):
                operator = p.operators.get(offer.operator_id)
                gone = (
                    operator is None
                    or operator.disabled
                    or operator.presence is not Presence.ONLINE
                )
                if offer.expires_at > p.now and not gone:
                    p.wake_at(offer.expires_at)
                    continue
                await tx.routing.delete_offers(cid, offer.operator_id)
                offers.remove(offer)
                p.loads[offer.operator_id] -= offer.weight
                state = "expired" if offer.expires_at <= p.now else "withdrawn"
                if conv is not None:
                    p.events.append(
                        self._offer_event(
                            p, conv, offer, state, "" if state == "expired" else "away"
                        )
                    )
                if task is not None:
                    task = await self._put(
                        tx,
                        p,
                        dataclasses.replace(
                            task, declined_by=task.declined_by | {offer.operator_id}
                        ),
                    )
                    await self._decision(
                        tx,
                        p,
                        task,
                        "timeout" if state == "expired" else "withdrawn",
                        {
                            "operator": offer.operator_id,
                            "offered_at": offer.offered_at.isoformat(),
                            "expires_at": offer.expires_at.isoformat(),
                            "reason": "the offer was not accepted in time"
                            if state == "expired"
                            else "the operator is no longer online",
                        },
                    )
            if not offers:
                p.offers.pop(cid, None)

    async def _presence(self, tx: RoutingTx, p: _Pass) -> None:
        stale = self._settings.presence_stale_seconds
        if stale is not None:
            for op in list(p.operators.values()):
                if op.presence is not Presence.ONLINE:
                    continue
                seen = max(
                    (t for t in (op.last_seen_at, op.presence_changed_at) if t is not None),
                    default=op.created_at,
                )
                deadline = seen + timedelta(seconds=stale)
                if deadline > p.now:
                    p.wake_at(deadline)
                    continue
                locked = await tx.operators.get_for_update(op.id)
                if locked is None or locked.presence is not Presence.ONLINE:
                    continue
                away = dataclasses.replace(
                    locked, presence=Presence.AWAY, presence_changed_at=p.now
                )
                await tx.operators.update(away)
                p.operators[op.id] = away
                p.events.append(OperatorPresenceChanged(op.id, Presence.AWAY, p.now))
        # Unanswered conversations of operators who are not online go back to the queue.
        for task in list(p.tasks.values()):
            if task.status is not TaskStatus.ASSIGNED or task.awaiting_reply_since is None:
                continue
            holder = p.operators.get(task.assignee_id) if task.assignee_id else None
            if holder is None or (holder.presence is Presence.ONLINE and not holder.disabled):
                continue
            # Only an operator who left after getting it: a conversation claimed while
            # away (an operator working offline on purpose) stays theirs.
            left = holder.presence_changed_at
            if not holder.disabled and (
                left is None or task.assigned_at is None or left < task.assigned_at
            ):
                continue
            why = {
                "operator": task.assignee_id,
                "reason": "the operator is not online and the customer is waiting for an answer",
            }
            await self._requeue(tx, p, task, "requeue", why, refuse=False)

    async def _requeue(
        self,
        tx: RoutingTx,
        p: _Pass,
        task: RoutingTask,
        outcome: str,
        why: Mapping[str, Any],
        *,
        refuse: bool,
    ) -> None:
        conv = await tx.conversations.get_for_update(task.conversation_id)
        if conv is None or conv.status is not ConversationStatus.ASSIGNED:
            return
        queued = conv.moved_to(ConversationStatus.QUEUED, p.now)
        await tx.conversations.update(queued)
        p.convs[conv.id] = queued
        if conv.assignee_id is not None:
            p.loads[conv.assignee_id] -= self._weight(conv.channel_kind)
        previous = task.assignee_id
        task = await self._put(
            tx,
            p,
            dataclasses.replace(
                task,
                status=TaskStatus.WAITING,
                entered_queue_at=p.now,
                last_operator_id=previous or task.last_operator_id,
                declined_by=task.declined_by | ({previous} if refuse and previous else set()),
                assignee_id=None,
                assigned_at=None,
            ),
        )
        await self._decision(tx, p, task, outcome, why)
        p.events.append(ConversationChanged(queued, "unassigned", conv.assignee_id, conv.status))

    async def _timers(self, tx: RoutingTx, p: _Pass) -> None:
        for cid, task in list(p.tasks.items()):
            queue = p.queues.get(task.queue_id)
            conv = p.convs.get(cid)
            if queue is None or conv is None:
                continue
            # The response timer: the assignee has not answered the customer in time.
            if (
                task.status is TaskStatus.ASSIGNED
                and queue.response_timeout is not None
                and task.awaiting_reply_since is not None
                and task.response_alerted_at is None
            ):
                since = max(
                    task.awaiting_reply_since, task.assigned_at or task.awaiting_reply_since
                )
                due = since + timedelta(seconds=queue.response_timeout)
                if due > p.now:
                    p.wake_at(due)
                else:
                    self._alert(
                        p, queue, conv, "response_overdue", "response", due, task.assignee_id
                    )
                    task = await self._put(
                        tx, p, dataclasses.replace(task, response_alerted_at=p.now)
                    )
                    if queue.response_action == "reoffer":
                        why = {
                            "operator": task.assignee_id,
                            "reason": f"no answer within {queue.response_timeout:g}s",
                        }
                        await self._requeue(tx, p, task, "response_timeout", why, refuse=True)
                        task = p.tasks.get(cid, task)
            # SLA: first response.
            if task.first_response_at is None and task.first_response_due is not None:
                due = task.first_response_due
                warn_at = due - timedelta(seconds=queue.sla_warning_before)
                if (
                    task.sla_warned_at is None
                    and task.status is TaskStatus.ASSIGNED
                    and p.now >= warn_at
                    and p.now < due
                ):
                    self._alert(
                        p, queue, conv, "sla_warning", "first_response", due, task.assignee_id
                    )
                    task = await self._put(tx, p, dataclasses.replace(task, sla_warned_at=p.now))
                elif task.sla_warned_at is None and p.now < warn_at:
                    p.wake_at(warn_at)
                if task.first_response_breached_at is None:
                    if p.now >= due:
                        self._alert(
                            p, queue, conv, "sla_breach", "first_response", due, task.assignee_id
                        )
                        task = await self._put(
                            tx, p, dataclasses.replace(task, first_response_breached_at=p.now)
                        )
                    else:
                        p.wake_at(due)
            # SLA: resolution.
            if task.resolution_due is not None and task.resolution_breached_at is None:
                if p.now >= task.resolution_due:
                    self._alert(
                        p,
                        queue,
                        conv,
                        "sla_breach",
                        "resolution",
                        task.resolution_due,
                        task.assignee_id,
                    )
                    await self._put(tx, p, dataclasses.replace(task, resolution_breached_at=p.now))
                else:
                    p.wake_at(task.resolution_due)

    def _alert(
        self,
        p: _Pass,
        queue: QueueSettings,
        conv: Conversation,
        kind: Any,
        target: str,
        due: datetime,
        operator_id: OperatorId | None,
    ) -> None:
        p.events.append(
            RoutingAlert(kind, conv, queue.id, queue.name, target, due, p.now, operator_id)
        )
        if kind != "sla_warning" and queue.alert_telegram is not None:
            what = {
                "sla_breach": f"SLA breached ({target.replace('_', ' ')})",
                "response_overdue": "no answer from the operator in time",
            }[kind]
            who = conv.contact_name or "a customer"
            p.alerts.append(
                (
                    queue.alert_telegram,
                    f"[{queue.name}] {what}: conversation with {who} ({conv.id})",
                )
            )

    async def _route(self, tx: RoutingTx, p: _Pass) -> None:
        """Run the policy per queue; an overflow moves a task to a queue that may already
        have had its turn, so repeat (a bounded number of rounds) while tasks moved."""
        for _round in range(4):
            moved = False
            for qid in sorted(p.queues, key=lambda q: p.queues[q].name):
                moved |= await self._route_queue(tx, p, qid)
            if not moved:
                break

    def _states(self, p: _Pass, record: QueueRecord | None) -> dict[OperatorId, OperatorState]:
        turns: Mapping[str, int] = (record.state.get("rr") or {}) if record else {}
        states = {}
        for op in p.operators.values():
            states[op.id] = OperatorState(
                id=op.id,
                skills=op.skills,
                capacity=float(op.capacity),
                load=max(0.0, p.loads.get(op.id, 0.0)),
                presence=Presence.OFFLINE if op.disabled else op.presence,
                last_assigned_at=op.last_assigned_at,
                rr_turn=int(turns.get(op.id, 0)),
            )
        return states

    def _task_state(self, p: _Pass, task: RoutingTask) -> TaskState:
        try:
            kind = ChannelKind(task.channel_kind)
        except ValueError:
            kind = ChannelKind.WEBCHAT
        return TaskState(
            conversation_id=task.conversation_id,
            queue_id=task.queue_id,
            channel_kind=kind,
            entered_queue_at=task.entered_queue_at,
            priority=task.priority,
            last_operator_id=task.last_operator_id,
            declined_by=task.declined_by,
            offered_to=frozenset(o.operator_id for o in p.offers.get(task.conversation_id, [])),
        )

    async def _route_queue(self, tx: RoutingTx, p: _Pass, qid: QueueId) -> bool:
        queue = p.queues[qid]
        base = self._config(p, queue)
        waiting = [
            t for t in p.tasks.values() if t.status is TaskStatus.WAITING and t.queue_id == qid
        ]
        if not waiting:
            return False
        # Tasks transferred to extra skills need other operators than the rest, so the
        # policy runs once per run of consecutive tasks with the same skills, in the
        # queue's service order: a transferred task keeps its place (the states carry
        # every earlier decision of the pass, through ``p``).
        ordered = service_order(self._task_state(p, t) for t in waiting)
        runs: list[tuple[tuple[tuple[str, int], ...], list[TaskState]]] = []
        for ts in ordered:
            extra = tuple(sorted(p.tasks[ts.conversation_id].extra_skills.items()))
            if runs and runs[-1][0] == extra:
                runs[-1][1].append(ts)
            else:
                runs.append((extra, [ts]))
        moved = False
        for extra, tasks in runs:
            config = base
            if extra:
                required = dict(base.required_skills)
                for name, level in extra:
                    required[name] = max(level, required.get(name, 0))
                config = dataclasses.replace(base, required_skills=required)
            states = self._states(p, p.records.get(qid))
            # Offers made earlier in this pass are pending now.
            tasks = [self._task_state(p, p.tasks[t.conversation_id]) for t in tasks]
            decisions = decide(config, tasks, list(states.values()), p.now, weights=self._weights)
            for d in decisions:
                task = p.tasks[d.task.conversation_id]
                match d:
                    case Assign():
                        ok = await self._assign(
                            tx, p, task, d.operator.id, "assign", stored_explanation(d.explanation)
                        )
                        if ok and config.strategy.value == "round_robin":
                            self._set_turn(p, qid, d.operator)
                    case Offer():
                        await self._offer(tx, p, task, d)
                        if config.strategy.value == "round_robin":
                            self._set_turn(p, qid, d.operators[0])
                    case Overflow():
                        moved |= await self._overflow(tx, p, task, d)
                    case _:
                        p.wake_at(next_step_at(config, d.task, p.now))
        return moved

    def _set_turn(self, p: _Pass, qid: QueueId, op: OperatorState) -> None:
        record = p.records.get(qid)
        if record is None:
            return
        state = dict(record.state)
        turns = dict(state.get("rr") or {})
        turns[op.id] = op.rr_turn
        state["rr"] = turns
        p.records[qid] = dataclasses.replace(record, state=state)
        p.changed_queues.add(qid)

    async def _assign(
        self,
        tx: RoutingTx,
        p: _Pass,
        task: RoutingTask,
        operator_id: OperatorId,
        outcome: str,
        why: Mapping[str, Any],
        *,
        require_online: bool = True,
    ) -> bool:
        """Assign under the operator's and the conversation's row locks (taken in that
        order everywhere); False when either changed since the snapshot."""
        operator = await tx.operators.get_for_update(operator_id)
        if operator is None or operator.disabled:
            return False
        if require_online and operator.presence is not Presence.ONLINE:
            p.operators[operator.id] = operator
            return False
        conv = await tx.conversations.get_for_update(task.conversation_id)
        if conv is None or conv.status is not ConversationStatus.QUEUED:
            return False
        assigned = conv.moved_to(ConversationStatus.ASSIGNED, p.now, operator.id)
        await tx.conversations.update(assigned)
        updated = dataclasses.replace(operator, last_assigned_at=p.now)
        await tx.operators.update(updated)
        p.operators[operator.id] = updated
        p.convs[conv.id] = assigned
        p.loads[operator.id] += self._weight(conv.channel_kind)
        await self._withdraw(tx, p, assigned, "taken", keep=operator.id)
        # The accepted offer's reservation becomes the assignment's load.
        for offer in p.offers.pop(conv.id, []):
            await tx.routing.delete_offers(conv.id, offer.operator_id)
            p.loads[offer.operator_id] -= offer.weight
        task = await self._put(
            tx,
            p,
            dataclasses.replace(
                task,
                status=TaskStatus.ASSIGNED,
                assignee_id=operator.id,
                assigned_at=p.now,
                response_alerted_at=None,
            ),
        )
        await self._decision(tx, p, task, outcome, why)
        p.events.append(ConversationChanged(assigned, "assigned", conv.assignee_id, conv.status))
        return True

    async def _offer(self, tx: RoutingTx, p: _Pass, task: RoutingTask, d: Offer) -> None:
        conv = p.convs.get(task.conversation_id)
        if conv is None:
            return
        weight = self._weight(task.channel_kind)
        made = []
        for state in d.operators:
            operator = await tx.operators.get_for_update(state.id)
            if operator is None or operator.disabled or operator.presence is not Presence.ONLINE:
                continue
            offer = OfferRecord(conv.id, state.id, task.queue_id, p.now, d.expires_at, weight)
            await tx.routing.add_offer(offer)
            updated = dataclasses.replace(operator, last_assigned_at=p.now)
            await tx.operators.update(updated)
            p.operators[operator.id] = updated
            p.offers.setdefault(conv.id, []).append(offer)
            p.loads[state.id] += weight
            p.events.append(self._offer_event(p, conv, offer, "created"))
            made.append(state.id)
        if made:
            await self._decision(tx, p, task, "offer", stored_explanation(d.explanation))
            p.wake_at(d.expires_at)

    async def _overflow(self, tx: RoutingTx, p: _Pass, task: RoutingTask, d: Overflow) -> bool:
        target = QueueId(d.queue_id)
        if target not in p.queues:
            match = [q for q in p.queues.values() if q.name == d.queue_id]
            if not match:
                logger.error("queue %s overflows into unknown queue %s", task.queue_id, d.queue_id)
                return False
            target = match[0].id
        conv = p.convs.get(task.conversation_id)
        if conv is not None:
            await self._withdraw(tx, p, conv, "overflow")
        why = dict(stored_explanation(d.explanation))
        why["to_queue"] = target
        await self._decision(tx, p, task, "overflow", why)
        await self._put(
            tx,
            p,
            dataclasses.replace(
                task,
                queue_id=target,
                entered_queue_at=p.now,
                declined_by=frozenset(),
                extra_skills={},
            ),
        )
        return True

    async def _positions(self, tx: RoutingTx, p: _Pass) -> None:
        """Tell waiting customers their place and the expected wait, at most every
        ``interval`` seconds and only when the place changed."""
        for qid, queue in p.queues.items():
            settings = queue.position
            if settings.interval is None:
                continue
            waiting = [
                self._task_state(p, t)
                for t in p.tasks.values()
                if t.status is TaskStatus.WAITING and t.queue_id == qid
            ]
            if not waiting:
                continue
            record = p.records.get(qid)
            handle = float(
                (record.state if record else {}).get("handle_seconds", DEFAULT_HANDLE_SECONDS)
            )
            config = self._config(p, queue)
            online = sum(
                float(p.operators[m].capacity)
                for m in config.members
                if m in p.operators
                and p.operators[m].presence is Presence.ONLINE
                and not p.operators[m].disabled
            )
            for index, ts in enumerate(service_order(waiting)):
                task = p.tasks[ts.conversation_id]
                position = index + 1
                first_at = task.started_at + timedelta(seconds=settings.first_after)
                if task.position_sent_at is None:
                    due = first_at
                elif position != task.position_sent:
                    due = task.position_sent_at + timedelta(seconds=settings.interval)
                else:
                    continue
                if due > p.now:
                    p.wake_at(due)
                    continue
                eta = position * handle / max(1.0, online)
                text = position_text(settings, position, eta)
                p.events.extend(await write_system_message(tx, task.conversation_id, text, p.now))
                await self._put(
                    tx,
                    p,
                    dataclasses.replace(task, position_sent_at=p.now, position_sent=position),
                )

    async def _save_queue_state(self, tx: RoutingTx, p: _Pass) -> None:
        for qid in p.changed_queues:
            record = p.records[qid]
            await tx.routing.update_queue(dataclasses.replace(record, updated_at=p.now))

    # ------------------------------------------------------------------ console commands

    async def _command(self, work: Callable[[RoutingTx, _Pass], Awaitable[Any]]) -> Any:
        """Run a console command under the routing lock with a fresh snapshot."""

        async def unit(tx: RoutingTx) -> Outcome[Any]:
            await tx.routing.lock()
            p = await self._snapshot(tx)
            await self._reconcile(tx, p)
            value = await work(tx, p)
            await self._save_queue_state(tx, p)
            return Outcome(value, p.events)

        value = await self._run(unit)
        self._kick.set()
        return value

    async def accept_offer(self, actor: Operator, conversation_id: ConversationId) -> Conversation:
        async def work(tx: RoutingTx, p: _Pass) -> Conversation:
            offer = next(
                (o for o in p.offers.get(conversation_id, []) if o.operator_id == actor.id), None
            )
            if offer is None or offer.expires_at <= p.now:
                raise Conflict("this offer is no longer open")
            task = p.tasks.get(conversation_id)
            if task is None:
                raise Conflict("this conversation is no longer waiting")
            p.events.append(self._offer_event(p, p.convs[conversation_id], offer, "accepted"))
            why = {
                "operator": actor.id,
                "offered_at": offer.offered_at.isoformat(),
                "reason": "the operator accepted the offer",
            }
            if not await self._assign(tx, p, task, actor.id, "accept", why, require_online=False):
                raise Conflict("this conversation is no longer waiting")
            return p.convs[conversation_id]

        result: Conversation = await self._command(work)
        return result

    async def decline_offer(self, actor: Operator, conversation_id: ConversationId) -> None:
        async def work(tx: RoutingTx, p: _Pass) -> None:
            offers = p.offers.get(conversation_id, [])
            offer = next((o for o in offers if o.operator_id == actor.id), None)
            if offer is None:
                raise Conflict("this offer is no longer open")
            await tx.routing.delete_offers(conversation_id, actor.id)
            offers.remove(offer)
            task = p.tasks.get(conversation_id)
            conv = p.convs.get(conversation_id)
            if conv is not None:
                p.events.append(self._offer_event(p, conv, offer, "declined"))
            if task is not None:
                task = await self._put(
                    tx, p, dataclasses.replace(task, declined_by=task.declined_by | {actor.id})
                )
                await self._decision(
                    tx,
                    p,
                    task,
                    "decline",
                    {"operator": actor.id, "reason": "the operator declined"},
                )

        await self._command(work)

    async def pick(self, actor: Operator, conversation_id: ConversationId) -> Conversation:
        if actor.disabled:
            raise Forbidden("your account is disabled")

        async def work(tx: RoutingTx, p: _Pass) -> Conversation:
            conv = p.convs.get(conversation_id)
            task = p.tasks.get(conversation_id)
            if conv is None or task is None or conv.status is not ConversationStatus.QUEUED:
                if await tx.conversations.get(conversation_id) is None:
                    raise NotFound("no such conversation")
                raise Conflict("the conversation is not waiting in a queue")
            queue = p.queues[task.queue_id]
            supervisor = actor.role.sees_everything
            if not supervisor:
                if not queue.allow_pick:
                    raise Forbidden(f"the queue {queue.name} does not allow picking by hand")
                if actor.id not in self._config(p, queue).members:
                    raise Forbidden(f"you are not a member of the queue {queue.name}")
            own_offer = any(o.operator_id == actor.id for o in p.offers.get(conversation_id, []))
            weight = self._weight(conv.channel_kind)
            load = p.loads.get(actor.id, 0.0) - (weight if own_offer else 0.0)
            operator = p.operators.get(actor.id)
            if operator is None or load + weight > operator.capacity + 1e-9:
                raise Conflict("you have no free capacity")
            why = {"operator": actor.id, "by": actor.id, "reason": "picked from the queue by hand"}
            if not await self._assign(tx, p, task, actor.id, "pick", why, require_online=False):
                raise Conflict("the conversation is not waiting in a queue")
            return p.convs[conversation_id]

        result: Conversation = await self._command(work)
        return result

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
        if operator_id is None and queue is None and not skills:
            raise InvalidInput("say where to: an operator, a queue or skills")
        if operator_id is not None and (queue is not None or skills):
            raise InvalidInput("transfer to an operator or to a queue, not both")
        if skills:
            skills = validate_skills(skills)

        async def work(tx: RoutingTx, p: _Pass) -> Conversation:
            conv = await tx.conversations.get_for_update(conversation_id)
            if conv is None:
                raise NotFound("no such conversation")
            if conv.status is ConversationStatus.ASSIGNED:
                require_act(actor, conv)
            if conv.status is ConversationStatus.QUEUED and not actor.role.sees_everything:
                raise Forbidden("only supervisors move conversations that wait in a queue")
            if not conv.status.is_open or conv.status is ConversationStatus.BOT:
                raise Conflict(f"a {conv.status} conversation cannot be transferred")
            task = p.tasks.get(conversation_id)
            if task is None:
                task = await self._new_task(tx, p, conv, await tx.routing.get_task(conv.id))
            by = f"{actor.display_name}"
            if operator_id is not None:
                target = await tx.operators.get_for_update(operator_id)
                if target is None:
                    raise NotFound("no such operator")
                if target.disabled:
                    raise Conflict("that operator is disabled")
                if target.id == conv.assignee_id:
                    raise Conflict("the conversation is already theirs")
                if target.presence is not Presence.ONLINE and not actor.role.sees_everything:
                    raise Conflict(f"{target.display_name} is not online")
                weight = self._weight(conv.channel_kind)
                if p.loads.get(target.id, 0.0) + weight > target.capacity + 1e-9:
                    raise Conflict(f"{target.display_name} has no free capacity")
                moved = conv.moved_to(ConversationStatus.ASSIGNED, p.now, target.id)
                text = f"Transferred to {target.display_name} by {by}"
            else:
                qid = task.queue_id
                if queue is not None:
                    found = p.queues.get(QueueId(queue)) or next(
                        (q for q in p.queues.values() if q.name == queue), None
                    )
                    if found is None:
                        raise NotFound(f"no queue {queue!r}")
                    qid = found.id
                moved = (
                    conv.moved_to(ConversationStatus.QUEUED, p.now)
                    if conv.status is ConversationStatus.ASSIGNED
                    else dataclasses.replace(conv, updated_at=p.now)
                )
                what = p.queues[qid].name + (
                    " (" + ", ".join(f"{k}>={v}" for k, v in sorted((skills or {}).items())) + ")"
                    if skills
                    else ""
                )
                text = f"Transferred to the queue {what} by {by}"
            if note.strip():
                text += f": {note.strip()}"
            moved, note_events = await write_note(tx, moved, actor, text, p.now)
            await tx.conversations.update(moved)
            p.convs[conv.id] = moved
            await self._withdraw(tx, p, moved, "transferred")
            if conv.status is ConversationStatus.ASSIGNED and conv.assignee_id is not None:
                p.loads[conv.assignee_id] -= self._weight(conv.channel_kind)
            why: dict[str, Any] = {"by": actor.id, "from": conv.assignee_id, "note": note.strip()}
            if operator_id is not None:
                p.loads[operator_id] += self._weight(conv.channel_kind)
                task = dataclasses.replace(
                    task,
                    status=TaskStatus.ASSIGNED,
                    assignee_id=operator_id,
                    assigned_at=p.now,
                    last_operator_id=conv.assignee_id or task.last_operator_id,
                    response_alerted_at=None,
                )
                why["to"] = operator_id
            else:
                task = dataclasses.replace(
                    task,
                    status=TaskStatus.WAITING,
                    queue_id=qid,
                    entered_queue_at=p.now,
                    declined_by=frozenset(),
                    extra_skills=dict(skills or {}),
                    last_operator_id=conv.assignee_id or task.last_operator_id,
                    assignee_id=None,
                    assigned_at=None,
                )
                why["to_queue"] = qid
                why["skills"] = dict(skills or {})
            task = await self._put(tx, p, task)
            await self._decision(tx, p, task, "transfer", why)
            p.events.append(
                ConversationChanged(
                    moved,
                    "assigned" if operator_id is not None else "unassigned",
                    conv.assignee_id,
                    conv.status,
                )
            )
            p.events.extend(note_events)
            return moved

        result: Conversation = await self._command(work)
        return result

    async def offers_for(self, actor: Operator) -> list[dict[str, object]]:
        async def work(tx: RoutingTx) -> list[dict[str, object]]:
            out: list[dict[str, object]] = []
            now = self._core.clock.now()
            queues = {q.id: q for q in await tx.routing.list_queues()}
            for offer in await tx.routing.list_offers(operator_id=actor.id):
                if offer.expires_at <= now:
                    continue
                conv = await tx.conversations.get(offer.conversation_id)
                if conv is None:
                    continue
                q = queues.get(offer.queue_id)
                out.append(
                    offer_view(
                        conv,
                        offer.queue_id,
                        q.name if q else "",
                        offer.offered_at,
                        offer.expires_at,
                    )
                )
            return out

        return await self._store.read(work)

    async def explain(self, actor: Operator, conversation_id: ConversationId) -> dict[str, object]:
        if not actor.role.sees_everything:
            raise Forbidden("routing decisions are for supervisors")

        async def work(tx: RoutingTx) -> dict[str, object]:
            conv = await tx.conversations.get(conversation_id)
            if conv is None:
                raise NotFound("no such conversation")
            task = await tx.routing.get_task(conversation_id)
            decisions = await tx.routing.list_decisions(conversation_id)
            offers = await tx.routing.list_offers(conversation_id=conversation_id)
            now = self._core.clock.now()
            current: object = None
            if task is not None and task.status is TaskStatus.WAITING:
                p = await self._snapshot(tx, write=False)
                queue = p.queues.get(task.queue_id)
                if queue is not None:
                    config = self._config(p, queue)
                    if task.extra_skills:
                        config = dataclasses.replace(
                            config, required_skills={**config.required_skills, **task.extra_skills}
                        )
                    states = self._states(p, p.records.get(task.queue_id))
                    ds = decide(
                        config,
                        [self._task_state(p, task)],
                        list(states.values()),
                        now,
                        weights=self._weights,
                    )
                    current = to_json(ds[0].explanation)  # live: every candidate
            return {
                "conversation_id": conversation_id,
                "task": task_view(task) if task else None,
                "offers": [
                    {"operator_id": o.operator_id, "expires_at": o.expires_at.isoformat()}
                    for o in offers
                ],
                "decisions": [
                    {
                        "id": d.id,
                        "decided_at": d.decided_at.isoformat(),
                        "queue_id": d.queue_id,
                        "outcome": d.outcome,
                        "explanation": dict(d.explanation),
                    }
                    for d in decisions
                ],
                "now": current,
            }

        return await self._store.read(work)

    async def list_queues(self, actor: Operator) -> list[dict[str, object]]:
        async def work(tx: RoutingTx) -> list[dict[str, object]]:
            p = await self._snapshot(tx, write=False)
            out = []
            for qid, record in sorted(p.records.items(), key=lambda kv: kv[1].name):
                queue = p.queues.get(qid)
                waiting = [
                    t
                    for t in p.tasks.values()
                    if t.status is TaskStatus.WAITING and t.queue_id == qid
                ]
                members = self._config(p, queue).members if queue else ()
                view = queue_view(record)
                if actor.role is Role.OPERATOR:
                    # Operators see how a queue works, not who else is in it or where
                    # alerts go.
                    settings = view["settings"]
                    assert isinstance(settings, dict)
                    view["settings"] = {
                        k: v for k, v in settings.items() if k in OPERATOR_VISIBLE_SETTINGS
                    }
                view["stats"] = {
                    "waiting": len(waiting),
                    "longest_wait_seconds": max(
                        ((p.now - t.entered_queue_at).total_seconds() for t in waiting), default=0.0
                    ),
                    "offers": sum(1 for t in waiting for _ in p.offers.get(t.conversation_id, [])),
                    "assigned": sum(
                        1
                        for t in p.tasks.values()
                        if t.status is TaskStatus.ASSIGNED and t.queue_id == qid
                    ),
                    "members_online": sum(
                        1
                        for m in members
                        if m in p.operators and p.operators[m].presence is Presence.ONLINE
                    ),
                    "sla_breaches": sum(
                        1
                        for t in p.tasks.values()
                        if t.queue_id == qid
                        and (t.first_response_breached_at or t.resolution_breached_at)
                    ),
                }
                out.append(view)
            return out

        return await self._store.read(work)

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
        if actor.role is Role.OPERATOR:
            raise Forbidden("queues are managed by supervisors and admins")
        name = name.strip()
        if create and not 1 <= len(name) <= 100:
            raise InvalidInput("a queue name is 1..100 characters")

        async def work(tx: RoutingTx, p: _Pass) -> dict[str, object]:
            existing = p.records.get(QueueId(name)) or next(
                (r for r in p.records.values() if r.name == name), None
            )
            if create and existing is not None:
                raise Conflict(f"a queue named {name!r} exists")
            if not create and existing is None:
                raise NotFound(f"no queue {name!r}")
            merged = dict(existing.settings) if existing is not None else {}
            merged.update(settings)
            merged = await self._resolve_refs(tx, p, merged)
            if existing is None:
                record = QueueRecord(
                    QueueId(new_id()), name, merged, p.now, p.now, bool(is_default)
                )
            else:
                record = dataclasses.replace(existing, settings=merged, updated_at=p.now)
                if is_default is not None:
                    record = dataclasses.replace(record, is_default=is_default)
            if new_name is not None:
                new_name_clean = new_name.strip()
                if not 1 <= len(new_name_clean) <= 100:
                    raise InvalidInput("a queue name is 1..100 characters")
                if any(r.name == new_name_clean and r.id != record.id for r in p.records.values()):
                    raise Conflict(f"a queue named {new_name_clean!r} exists")
                record = dataclasses.replace(record, name=new_name_clean)
            parse_settings(record)  # raises InvalidInput
            for step in record.settings.get("escalation") or []:
                if (
                    isinstance(step, Mapping)
                    and step.get("target") == "overflow"
                    and step.get("queue") not in p.records
                ):
                    raise InvalidInput(f"overflow queue {step.get('queue')!r} does not exist")
            if record.is_default:
                for other in p.records.values():
                    if other.is_default and other.id != record.id:
                        await tx.routing.update_queue(
                            dataclasses.replace(other, is_default=False, updated_at=p.now)
                        )
            elif existing is not None and existing.is_default:
                raise InvalidInput("one queue must stay the default; make another one default")
            if existing is None:
                await tx.routing.add_queue(record)
            else:
                await tx.routing.update_queue(record)
            return queue_view(record)

        result: dict[str, object] = await self._command(work)
        return result

    async def _resolve_refs(
        self, tx: RoutingTx, p: _Pass, settings: dict[str, Any]
    ) -> dict[str, Any]:
        """Members by login or id → ids; overflow queues by name or id → ids; channels
        must exist."""
        members = settings.get("members")
        if isinstance(members, list):
            by_login = {o.login: o.id for o in p.operators.values()}
            resolved = []
            for m in members:
                if not isinstance(m, str):
                    raise InvalidInput("members must be operator logins or ids")
                if m in p.operators:
                    resolved.append(m)
                elif m in by_login:
                    resolved.append(by_login[m])
                else:
                    raise InvalidInput(f"no operator {m!r}")
            settings["members"] = resolved
        channels = settings.get("channels")
        if isinstance(channels, list):
            known = {c.id for c in await tx.channels.list()}
            for c in channels:
                if c not in known:
                    raise InvalidInput(f"no channel {c!r}")
        steps = settings.get("escalation")
        if isinstance(steps, list):
            fixed = []
            for step in steps:
                if isinstance(step, Mapping) and step.get("target") == "overflow":
                    ref = step.get("queue")
                    found = next((r.id for r in p.records.values() if ref in (r.id, r.name)), ref)
                    step = {**step, "queue": found}
                fixed.append(step)
            settings["escalation"] = fixed
        return settings


def _plus(at: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else at + timedelta(seconds=seconds)
