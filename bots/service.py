"""The bots' service: the intake policy that gives new conversations to a bot, the worker
that answers customer messages in them, and the settings (hours, flows) it keeps in memory.

Exactly once per customer message: the answer, the session (``handled_seq``) and, on a
hand-off, the queued conversation are written in one transaction that first locks the
conversation row, and a message at or below ``handled_seq`` is skipped. A redelivered
webhook is a duplicate for ingest and publishes nothing; a second server process that gets
the same event waits for the lock and then finds the message handled; after a restart,
:meth:`BotService.sweep` answers what an event lost in the crash left unanswered. The
replies' ``client_id`` is derived from the message, so even a retried transaction cannot
store a reply twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from bots.csat import rating_of, request_parts
from bots.dialogue import Turn, respond
from bots.events import BotSettingsChanged, CsatReceived, CsatRequested, csat_view
from bots.faq import FaqMatcher
from bots.flow import BotFlow, flow_from_json, flow_to_json
from bots.hours import Schedule, describe_next_open, is_open, schedule_from_json, schedule_to_json
from bots.ports import BotsStore, BotsTx, OrderLinks, QueueOf
from bots.records import DEFAULT_SCOPE, BotSession, Scope, ScopeRecord, SessionState
from inbox.domain.content import Text
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.errors import NotFound
from inbox.domain.events import ConversationChanged, Event, MessageCreated
from inbox.domain.ids import ConversationId
from inbox.domain.messages import AuthorKind, Direction, Message
from inbox.ports import ConversationFilter, IntakeRequest, IntakeStatus, Tx
from inbox.usecases import (
    Core,
    Outcome,
    write_automatic_note,
    write_automatic_reply,
    write_bot_resolve,
    write_hand_off,
)

__all__ = ["BOT_NAME", "BotIntake", "BotService", "ScopeSettings", "settings_view"]

logger = logging.getLogger(__name__)

#: The author name of the bot's messages when the flow gives none.
BOT_NAME = "Bot"
#: At most this many unanswered bot conversations are looked at per sweep.
SWEEP_LIMIT = 200
#: How often the running service sweeps for messages no event brought.
SWEEP_SECONDS = 30.0


@dataclasses.dataclass(frozen=True, slots=True)
class ScopeSettings:
    """A scope's settings as the service uses them (parsed once, when loaded)."""

    scope: Scope
    hours: Schedule | None = None
    flow: BotFlow | None = None
    matcher: FaqMatcher | None = None


class BotIntake:
    """The core's intake policy (:class:`inbox.ports.IntakePolicy`): a conversation whose
    scope (its queue, else the whole inbox) has an enabled bot flow starts as the bot's;
    every other one goes to routing. A customer's rating of a resolved conversation goes
    to the bot, which records it and closes the conversation again. Reads the settings
    from memory."""

    def __init__(self, service: BotService) -> None:
        self._service = service

    async def take(self, tx: Tx, request: IntakeRequest) -> IntakeStatus:
        if request.reopening is not None and rating_of(request.inbound.parts) is not None:
            session = await self._service.narrow(tx).bots.get_session(request.reopening.id)
            if session is not None and _awaits_rating(session):
                return ConversationStatus.BOT
        scope = await self._service.scope_of(tx, request)
        flow = self._service.settings_for(scope).flow
        if flow is not None and flow.enabled:
            return ConversationStatus.BOT
        return ConversationStatus.QUEUED


class BotService:
    """Built once by the root with the core, the store (as the bots' unit of work) and the
    root's :class:`~bots.ports.QueueOf`. Subscribe :meth:`on_event` to the bus and call
    :meth:`load` before serving."""

    def __init__(
        self,
        core: Core,
        store: BotsStore,
        queue_of: QueueOf,
        narrow: Callable[[Tx], BotsTx],
        order_links: OrderLinks | None = None,
    ) -> None:
        self._core = core
        self._store = store
        self._queue_of = queue_of
        #: The core's transaction as the bots' (the root knows the storage's is both).
        self.narrow = narrow
        #: Set by the root once the payments service exists (it needs the bots' language).
        self.order_links = order_links
        self._settings: dict[Scope, ScopeSettings] = {}
        self.intake = BotIntake(self)
        self._pending: set[ConversationId] = set()
        self._resolved: set[ConversationId] = set()
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sweep_seconds = SWEEP_SECONDS

    # -- lifecycle (a serving process)

    def start(self) -> None:
        """Answer in the background: events only note which conversation has news, so
        the ingest that published them never waits for the bot. A first sweep runs at
        once (whatever a restart left unanswered)."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="bots-service")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        sweep_due = True
        while True:
            if sweep_due:
                try:
                    # Settings saved by the command line (a process of its own, whose
                    # events stay local) reach a running server this way.
                    await self.load()
                    await self.sweep()
                except Exception:
                    logger.exception("the bots' sweep failed")
            if not self._pending and not self._resolved:
                sweep_due = False
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.sweep_seconds):
                        await self._kick.wait()
                sweep_due = not self._kick.is_set()
            self._kick.clear()
            batch, self._pending = self._pending, set()
            resolved, self._resolved = self._resolved, set()
            for conversation_id in batch:
                try:
                    await self.answer(conversation_id)
                except Exception:
                    logger.exception("the bot failed to answer a conversation")
            for conversation_id in resolved:
                try:
                    await self.request_csat(conversation_id)
                except Exception:
                    logger.exception("the bot failed to ask for a rating")

    # -- settings

    async def load(self) -> None:
        """Read every scope's settings into memory (at start and when another process
        saved some). A stored document that no longer parses is logged and skipped."""

        async def work(tx: BotsTx) -> list[ScopeRecord]:
            return await tx.bots.list_scopes()

        loaded: dict[Scope, ScopeSettings] = {}
        for record in await self._store.read(work):
            try:
                loaded[record.scope] = _parse(record)
            except Exception:
                logger.exception("the stored bot settings of scope %s do not parse", record.scope)
        self._settings = loaded

    def settings_for(self, scope: Scope | None) -> ScopeSettings:
        """The scope's settings, each part falling back to the whole inbox's."""
        default = self._settings.get(DEFAULT_SCOPE, ScopeSettings(DEFAULT_SCOPE))
        own = self._settings.get(scope) if scope is not None else None
        if own is None:
            return default
        flow, matcher = (own.flow, own.matcher) if own.flow else (default.flow, default.matcher)
        return ScopeSettings(own.scope, own.hours or default.hours, flow, matcher)

    def all_settings(self) -> list[ScopeSettings]:
        """Every scope with settings of its own, by scope."""
        return [self._settings[s] for s in sorted(self._settings)]

    def stored(self, scope: Scope) -> ScopeSettings | None:
        """The scope's own settings, without the fallback (for ``show``)."""
        return self._settings.get(scope)

    async def save_hours(self, scope: Scope, hours: Schedule | None) -> ScopeSettings:
        return await self._save(scope, hours=hours, replace_hours=True)

    async def save_flow(self, scope: Scope, flow: BotFlow | None) -> ScopeSettings:
        return await self._save(scope, flow=flow, replace_flow=True)

    async def _save(
        self,
        scope: Scope,
        *,
        hours: Schedule | None = None,
        flow: BotFlow | None = None,
        replace_hours: bool = False,
        replace_flow: bool = False,
    ) -> ScopeSettings:
        now = self._core.clock.now()

        async def work(tx: BotsTx) -> ScopeRecord:
            record = await tx.bots.get_scope(scope) or ScopeRecord(scope, now)
            record = dataclasses.replace(
                record,
                updated_at=now,
                hours=schedule_to_json(hours)
                if replace_hours and hours
                else (None if replace_hours else record.hours),
                flow=flow_to_json(flow)
                if replace_flow and flow
                else (None if replace_flow else record.flow),
            )
            await tx.bots.put_scope(record)
            return record

        record = await self._store.transact(work)
        parsed = _parse(record)
        self._settings[scope] = parsed
        await self._core.bus.publish([BotSettingsChanged(str(scope))])
        return parsed

    async def scope_of(self, tx: Tx, request: IntakeRequest | Conversation) -> Scope:
        channel_id = (
            request.channel.id if isinstance(request, IntakeRequest) else (request.channel_id)
        )
        return await self._queue_of(tx, channel_id) or DEFAULT_SCOPE

    # -- the bus

    async def on_event(self, event: Event) -> None:
        """Note a customer message in a bot conversation for the background loop; reload
        settings another process saved. Errors are logged: the sweep retries what was not
        answered."""
        try:
            if isinstance(event, BotSettingsChanged):
                await self.load()
            elif (
                isinstance(event, MessageCreated)
                and event.message.direction is Direction.INBOUND
                and event.conversation.status is ConversationStatus.BOT
            ):
                self._pending.add(event.conversation.id)
                self._kick.set()
            elif isinstance(event, ConversationChanged) and event.reason == "resolved":
                self._resolved.add(event.conversation.id)
                self._kick.set()
        except Exception:
            logger.exception("the bots failed on %s", type(event).__name__)

    # -- answering

    async def answer(self, conversation_id: ConversationId) -> int:
        """Deal with every customer message of a bot conversation that the bot has not
        handled yet, in one transaction; returns how many it handled (0: nothing new,
        another process did it, or the conversation is no longer the bot's)."""
        core = self._core

        async def work(tx: BotsTx) -> Outcome[int]:
            now = core.clock.now()
            conversation = await tx.conversations.get_for_update(conversation_id)
            if conversation is None or conversation.status is not ConversationStatus.BOT:
                return Outcome(0)
            session = await tx.bots.get_session(conversation_id, for_update=True)
            fresh = session is None or session.state is SessionState.HANDED_OFF
            if session is None:
                scope = await self.scope_of(tx, conversation)
                session = BotSession(conversation_id, scope, SessionState.TALKING, now)
            elif session.state is SessionState.HANDED_OFF:
                # The bot has it again (reopened while it is on duty): a new dialogue.
                session = dataclasses.replace(
                    session, state=SessionState.TALKING, step=0, menu=(), updated_at=now
                )
            if conversation.last_message_seq <= session.handled_seq:
                return Outcome(0)
            pending = [
                m
                for m in await tx.messages.list_last(conversation_id, limit=20, include_notes=False)
                if m.seq > session.handled_seq and m.direction is Direction.INBOUND
            ]
            events: list[Event] = []
            handled = 0
            if pending and _awaits_rating(session):
                rated = rating_of(pending[-1].parts)
                if rated is not None:
                    session = await self._record_rating(
                        tx, conversation, session, rated.rating, rated.comment, now, events
                    )
                    await tx.bots.put_session(session)
                    return Outcome(len(pending), events)
            for message in pending:
                turn = self._turn(session, message, now, first=fresh and not handled)
                events += await self._apply(tx, conversation, message, turn, now)
                session = dataclasses.replace(turn.session, handled_seq=message.seq)
                handled += 1
                if turn.hand_off:
                    break
            session = dataclasses.replace(
                session, handled_seq=max(session.handled_seq, conversation.last_message_seq)
            )
            await tx.bots.put_session(session)
            return Outcome(handled, events)

        outcome = await self._store.transact(work)
        if outcome.events:
            await core.bus.publish(outcome.events)
        return outcome.value

    def _turn(self, session: BotSession, message: Message, now: datetime, *, first: bool) -> Turn:
        settings = self.settings_for(session.scope)
        flow = settings.flow
        if flow is None:  # the flow was removed while the bot had the conversation
            return Turn((), session, hand_off=True)
        hours = settings.hours
        open_now = hours is None or is_open(hours, now)
        next_open = (
            "" if hours is None or open_now else describe_next_open(hours, now, flow.language)
        )
        return respond(
            flow,
            session,
            message.parts,
            first=first,
            open_now=open_now,
            next_open=next_open,
            now=now,
            matcher=settings.matcher,
        )

    async def _apply(
        self, tx: BotsTx, conversation: Conversation, message: Message, turn: Turn, now: datetime
    ) -> list[Event]:
        flow = self.settings_for(turn.session.scope).flow
        name = (flow.text("bot_name") if flow is not None else "") or BOT_NAME
        events: list[Event] = []
        for n, parts in enumerate(turn.replies):
            written = await write_automatic_reply(
                tx,
                conversation.id,
                parts,
                now,
                author=AuthorKind.BOT,
                author_name=name,
                client_id=f"bot:{message.id}:{n}",
                channels=self._core.channels,
            )
            events += written.events
        if turn.pay_order is not None:
            link = (
                await self.order_links.link_for(tx, conversation, turn.pay_order)
                if self.order_links is not None
                else None
            )
            parts = link or (Text(flow.text("pay_not_found") if flow else ""),)
            written = await write_automatic_reply(
                tx,
                conversation.id,
                parts,
                now,
                author=AuthorKind.BOT,
                author_name=name,
                client_id=f"bot:{message.id}:pay",
                channels=self._core.channels,
            )
            events += written.events
        if turn.hand_off:
            note = "; ".join(f"{c.field}: {c.value}" for c in turn.collected)
            handed = await write_hand_off(
                tx,
                conversation.id,
                now,
                note=f"The bot collected {note}" if note else "",
                author_name=name,
            )
            events += handed.events
            if turn.collected:
                details = {c.field: c.value for c in turn.collected}
                await tx.contacts.set_details(
                    conversation.contact_id,
                    phone=details.get("phone"),
                    email=details.get("email"),
                )
        return events

    async def _record_rating(
        self,
        tx: BotsTx,
        conversation: Conversation,
        session: BotSession,
        rating: int,
        comment: str,
        now: datetime,
        events: list[Event],
    ) -> BotSession:
        flow = self.settings_for(session.scope).flow
        if flow is not None:
            thanks = await write_automatic_reply(
                tx,
                conversation.id,
                (Text(flow.text("csat_thanks")),),
                now,
                author=AuthorKind.BOT,
                author_name=flow.text("bot_name") or BOT_NAME,
                client_id=f"csat-thanks:{conversation.id}",
                channels=self._core.channels,
            )
            events += thanks.events
        closed = await write_bot_resolve(tx, conversation.id, now)
        events += closed.events
        events.append(CsatReceived(closed.value, rating, comment, now))
        return dataclasses.replace(
            session,
            state=SessionState.HANDED_OFF,
            handled_seq=conversation.last_message_seq,
            csat_rating=rating,
            csat_comment=comment,
            csat_at=now,
            updated_at=now,
        )

    async def request_csat(self, conversation_id: ConversationId) -> bool:
        """Ask the customer of a resolved conversation for a rating, once (its scope must
        have an enabled flow). When the channel's reply window has closed (WhatsApp's 24
        hours), nothing is sent and the operators get a note saying so. Returns whether a
        request went out."""
        core = self._core

        async def work(tx: BotsTx) -> Outcome[bool]:
            now = core.clock.now()
            conversation = await tx.conversations.get_for_update(conversation_id)
            if conversation is None or conversation.status is not ConversationStatus.RESOLVED:
                return Outcome(False)
            session = await tx.bots.get_session(conversation_id, for_update=True)
            if session is None:
                scope = await self.scope_of(tx, conversation)
                session = BotSession(conversation_id, scope, SessionState.HANDED_OFF, now)
            if session.csat_requested_at is not None:
                return Outcome(False)  # never ask twice
            flow = self.settings_for(session.scope).flow
            if flow is None or not flow.enabled:
                return Outcome(False)
            session = dataclasses.replace(
                session,
                csat_requested_at=now,
                handled_seq=conversation.last_message_seq,
                updated_at=now,
            )
            name = flow.text("bot_name") or BOT_NAME
            ends = conversation.reply_window_ends_at
            if ends is not None and now >= ends:
                noted = await write_automatic_note(
                    tx,
                    conversation_id,
                    "No rating request was sent: the channel's reply window has closed.",
                    now,
                    author_name=name,
                )
                await tx.bots.put_session(session)
                return Outcome(False, noted.events)
            written = await write_automatic_reply(
                tx,
                conversation_id,
                request_parts(flow),
                now,
                author=AuthorKind.BOT,
                author_name=name,
                client_id=f"csat:{conversation_id}",
                channels=core.channels,
            )
            await tx.bots.put_session(
                dataclasses.replace(session, handled_seq=written.value.message.seq)
            )
            return Outcome(True, [*written.events, CsatRequested(written.value.conversation)])

        outcome = await self._store.transact(work)
        if outcome.events:
            await core.bus.publish(outcome.events)
        return outcome.value

    async def csat(self, conversation_id: ConversationId) -> Mapping[str, object] | None:
        """The conversation's rating as its JSON shows it (``null`` without one)."""

        async def work(tx: BotsTx) -> BotSession | None:
            return await tx.bots.get_session(conversation_id)

        session = await self._store.read(work)
        if session is None:
            return None
        return csat_view(session.csat_rating, session.csat_comment, session.csat_at)

    async def sweep(self) -> int:
        """Answer bot conversations whose newest customer message the bot has not handled
        (an event lost in a crash or a restart). Returns how many it answered."""

        async def work(tx: BotsTx) -> list[ConversationId]:
            bot = await tx.conversations.list(
                ConversationFilter(statuses=(ConversationStatus.BOT,), limit=SWEEP_LIMIT)
            )
            sessions = {
                s.conversation_id: s for s in await tx.bots.list_sessions([c.id for c in bot])
            }
            return [
                c.id
                for c in bot
                if c.last_message_seq > getattr(sessions.get(c.id), "handled_seq", 0)
            ]

        answered = 0
        for conversation_id in await self._store.read(work):
            try:
                answered += 1 if await self.answer(conversation_id) else 0
            except NotFound:
                continue
        return answered


def _awaits_rating(session: BotSession) -> bool:
    return session.csat_requested_at is not None and session.csat_at is None


def _parse(record: ScopeRecord) -> ScopeSettings:
    hours = schedule_from_json(record.hours) if record.hours is not None else None
    flow = flow_from_json(record.flow) if record.flow is not None else None
    matcher = FaqMatcher(flow.faq, flow.language) if flow is not None else None
    return ScopeSettings(record.scope, hours, flow, matcher)


def settings_view(settings: ScopeSettings | None) -> Mapping[str, object]:
    """JSON of a scope's own settings (``None`` parts where it has none)."""
    if settings is None:
        return {"hours": None, "flow": None}
    return {
        "hours": schedule_to_json(settings.hours) if settings.hours else None,
        "flow": flow_to_json(settings.flow) if settings.flow else None,
    }
