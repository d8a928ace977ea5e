"""Customer satisfaction, the service's part (the pure part is :mod:`bots.csat`): the rating
request sent once when a conversation is resolved (not inside a closed reply window,
where the operators get a note instead), and recording the customer's answer, after which
the bot thanks and closes the conversation again."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from bots.csat import request_parts
from bots.events import CsatReceived, CsatRequested, csat_view
from bots.ports import BotsStore, BotsTx
from bots.records import BotSession, Scope, SessionState
from bots.settings import BotSettings
from inbox.domain.content import Text
from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.events import Event
from inbox.domain.ids import ConversationId
from inbox.domain.messages import AuthorKind
from inbox.ports import Tx
from inbox.usecases import (
    Core,
    Outcome,
    write_automatic_note,
    write_automatic_reply,
    write_bot_resolve,
)

__all__ = ["BOT_NAME", "Ratings", "awaits_rating"]

#: The author name of the bot's messages when the flow gives none.
BOT_NAME = "Bot"


def awaits_rating(session: BotSession) -> bool:
    return session.csat_requested_at is not None and session.csat_at is None


class Ratings:
    def __init__(
        self,
        core: Core,
        store: BotsStore,
        settings: BotSettings,
        scope_of: Callable[[Tx, Conversation], Awaitable[Scope]],
    ) -> None:
        self._core = core
        self._store = store
        self._settings = settings
        self._scope_of = scope_of

    async def record(
        self,
        tx: BotsTx,
        conversation: Conversation,
        session: BotSession,
        rating: int,
        comment: str,
        now: datetime,
        events: list[Event],
    ) -> BotSession:
        flow = self._settings.settings_for(session.scope).flow
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

    async def request(self, conversation_id: ConversationId) -> bool:
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
                scope = await self._scope_of(tx, conversation)
                session = BotSession(conversation_id, scope, SessionState.HANDED_OFF, now)
            if session.csat_requested_at is not None:
                return Outcome(False)  # never ask twice
            flow = self._settings.settings_for(session.scope).flow
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

    async def view(self, conversation_id: ConversationId) -> Mapping[str, object] | None:
        """The conversation's rating as its JSON shows it (``null`` without one)."""

        async def work(tx: BotsTx) -> BotSession | None:
            return await tx.bots.get_session(conversation_id)

        session = await self._store.read(work)
        if session is None:
            return None
        return csat_view(session.csat_rating, session.csat_comment, session.csat_at)
