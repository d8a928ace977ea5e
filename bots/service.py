"""The bots' service: the intake policy that gives new conversations to a bot, the worker
that answers customer messages in them and asks for ratings; the settings it reads are
:mod:`bots.settings`.

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

from bots.csat import rating_of
from bots.dialogue import Turn, respond
from bots.events import BotSettingsChanged
from bots.hours import describe_next_open, is_open
from bots.ports import BotsStore, BotsTx, OrderLinks, QueueOf
from bots.ratings import BOT_NAME, Ratings, awaits_rating
from bots.records import DEFAULT_SCOPE, BotSession, Scope, SessionState
from bots.settings import BotSettings
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
    write_automatic_reply,
    write_hand_off,
)

__all__ = ["BOT_NAME", "BotIntake", "BotService"]

logger = logging.getLogger(__name__)

#: At most this many unanswered bot conversations are looked at per sweep.
SWEEP_LIMIT = 200
#: How often the running service sweeps for messages no event brought.
SWEEP_SECONDS = 30.0


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
            if session is not None and awaits_rating(session):
                return ConversationStatus.BOT
        scope = await self._service.scope_of(tx, request)
        flow = self._service.settings.settings_for(scope).flow
        if flow is not None and flow.enabled:
            return ConversationStatus.BOT
        return ConversationStatus.QUEUED


class BotService:
    """Built once by the root with the core, the store (as the bots' unit of work) and the
    root's :class:`~bots.ports.QueueOf`. Subscribe :meth:`on_event` to the bus and call
    ``settings.load()`` before serving."""

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
        #: The scopes' hours and flows, in memory (bots.settings).
        self.settings = BotSettings(core, store)
        self.ratings = Ratings(core, store, self.settings, self.scope_of)
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
                    await self.settings.load()
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
                await self.settings.load()
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
            if pending and awaits_rating(session):
                rated = rating_of(pending[-1].parts)
                if rated is not None:
                    session = await self.ratings.record(
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
        settings = self.settings.settings_for(session.scope)
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
        flow = self.settings.settings_for(turn.session.scope).flow
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

    async def request_csat(self, conversation_id: ConversationId) -> bool:
        """See :meth:`bots.ratings.Ratings.request`."""
        return await self.ratings.request(conversation_id)

    async def csat(self, conversation_id: ConversationId) -> Mapping[str, object] | None:
        """See :meth:`bots.ratings.Ratings.view`."""
        return await self.ratings.view(conversation_id)

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
