"""Keeping the facts: every unit of work's events, applied to the episodes' facts in the
same transaction, before it commits (docs/reports.md, "Where the facts come from").

The root runs :meth:`FactRecorder.record` inside each transaction with the events the
work is about to publish (the store's transaction hook ``server.reports.facts_hook``).
The facts therefore commit or roll back with the change they describe: a crash can lose
neither, and no second copy of the events is needed. Only a few events matter, and the
hottest path -- a customer message in an open conversation -- matters not at all, so
ingest pays nothing for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.events import ConversationChanged, Event, MessageCreated
from inbox.domain.ids import ConversationId, OperatorId
from inbox.domain.messages import AuthorKind, Direction, Message, MessageKind
from reports.ports import BusinessClock, ReportsTx
from reports.records import EpisodeFacts

__all__ = ["FactRecorder", "RatingGiven", "is_reply"]


@dataclass(frozen=True, slots=True)
class RatingGiven:
    """A customer's CSAT rating of a conversation (the root translates the bots' event)."""

    conversation_id: ConversationId
    rating: int
    at: datetime


def is_reply(message: Message) -> bool:
    """An operator's message to the customer: what makes an episode answered. Notes,
    the bot's and the system's messages are not."""
    return (
        message.author_kind is AuthorKind.OPERATOR
        and message.direction is Direction.OUTBOUND
        and message.kind is MessageKind.MESSAGE
    )


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


class FactRecorder:
    """Applies events to the facts through ``tx.reports``. ``business`` gives the open
    seconds of a first response (``None``: that variant is not kept); ``rating_of``
    recognises a feature's CSAT event (the reports may not import the bots)."""

    def __init__(
        self,
        business: BusinessClock | None = None,
        rating_of: Callable[[Event], RatingGiven | None] | None = None,
    ) -> None:
        self._business = business
        self._rating_of = rating_of or (lambda _event: None)

    async def record(self, tx: ReportsTx, events: Sequence[Event]) -> None:
        """Apply ``events`` (in order) to the facts. Safe to run again with the work: it
        reads what it changes through ``tx``."""
        steps: list[Event | RatingGiven] = []
        inbound: set[ConversationId] = set()
        for event in events:
            if isinstance(event, ConversationChanged):
                steps.append(event)
            elif isinstance(event, MessageCreated):
                if event.message.author_kind is AuthorKind.CUSTOMER:
                    inbound.add(event.conversation.id)
                elif is_reply(event.message):
                    steps.append(event)
            else:
                rating = self._rating_of(event)
                if rating is not None:
                    steps.append(rating)
        if not steps:
            return
        work = _Batch(tx, self._business)
        for step in steps:
            if isinstance(step, ConversationChanged):
                await work.changed(step, reopened_by_customer=step.conversation.id in inbound)
            elif isinstance(step, MessageCreated):
                await work.replied(step.message)
            elif isinstance(step, RatingGiven):
                await work.rated(step)
        await work.flush()


class _Batch:
    """One transaction's facts: read once per conversation, written once at the end."""

    def __init__(self, tx: ReportsTx, business: BusinessClock | None) -> None:
        self._tx = tx
        self._business = business
        self._facts: dict[ConversationId, EpisodeFacts | None] = {}
        self._dirty: set[ConversationId] = set()

    async def _current(self, cid: ConversationId) -> EpisodeFacts | None:
        if cid not in self._facts:
            self._facts[cid] = await self._tx.reports.current(cid)
        return self._facts[cid]

    def _set(self, facts: EpisodeFacts) -> None:
        self._facts[facts.conversation_id] = facts
        self._dirty.add(facts.conversation_id)

    async def _open(self, conv: Conversation, at: datetime, previous: EpisodeFacts | None) -> None:
        """A new episode: the previous one (written at once) ends where this one begins."""
        if previous is not None:
            await self._tx.reports.put(
                dataclasses.replace(previous, current=False, next_received_at=at)
            )
            self._dirty.discard(previous.conversation_id)
            new_customer = False
        else:
            new_customer = not await self._tx.reports.has_episodes(conv.contact_id)
        self._set(
            EpisodeFacts(
                conversation_id=conv.id,
                episode=previous.episode + 1 if previous is not None else 1,
                contact_id=conv.contact_id,
                channel_id=conv.channel_id,
                channel_kind=conv.channel_kind,
                received_at=at,
                new_customer=new_customer,
            )
        )

    async def changed(self, event: ConversationChanged, *, reopened_by_customer: bool) -> None:
        conv = event.conversation
        if event.reason == "created":
            self._facts.setdefault(conv.id, None)  # a new conversation has no episode yet
        facts = await self._current(conv.id)
        at = conv.last_inbound_at or conv.updated_at
        if facts is None:
            if event.reason not in ("created", "reopened"):
                return  # a conversation older than the facts, and not a new request
            await self._open(conv, at, None)
        elif event.reason == "reopened" and reopened_by_customer:
            await self._open(conv, at, facts)
        elif event.reason == "reopened":
            # Reopened by hand: the same request goes on, no longer resolved.
            self._set(
                dataclasses.replace(
                    facts,
                    resolved_at=None,
                    resolution_seconds=None,
                    close_reason="",
                    bot_resolved=False,
                )
            )
        facts = await self._current(conv.id)
        assert facts is not None
        if facts.queued_at is None and conv.status in (
            ConversationStatus.QUEUED,
            ConversationStatus.ASSIGNED,
        ):
            facts = dataclasses.replace(facts, queued_at=conv.queued_at or conv.updated_at)
        if conv.assignee_id is not None and conv.assignee_id != facts.operator_id:
            facts = dataclasses.replace(facts, operator_id=conv.assignee_id)
        if event.reason == "resolved" and conv.resolved_at is not None:
            facts = dataclasses.replace(
                facts,
                resolved_at=conv.resolved_at,
                resolution_seconds=_seconds(facts.received_at, conv.resolved_at),
                close_reason=conv.close_reason,
                bot_resolved=not facts.answered and event.previous_status is ConversationStatus.BOT,
            )
        if facts != self._facts[conv.id]:
            self._set(facts)

    async def replied(self, message: Message) -> None:
        facts = await self._current(message.conversation_id)
        if facts is None or facts.answered or message.created_at < facts.received_at:
            return
        since = facts.queued_at or facts.received_at
        business = None
        if self._business is not None:
            business = await self._business(
                self._tx, message.conversation_id, since, message.created_at
            )
        author = OperatorId(message.author_id) if message.author_id else None
        self._set(
            dataclasses.replace(
                facts,
                first_response_at=message.created_at,
                first_response_seconds=_seconds(since, message.created_at),
                first_response_business_seconds=business,
                responder_id=author,
                operator_id=facts.operator_id or author,
            )
        )

    async def rated(self, rating: RatingGiven) -> None:
        facts = await self._current(rating.conversation_id)
        if facts is None:
            return
        if facts.episode > 1 and not facts.answered and facts.queued_at is None:
            # The customer's "5" reopened the conversation for the bot, which took it as
            # the rating and closed it again: no new request, the rating is the last one's.
            previous = await self._tx.reports.get(rating.conversation_id, facts.episode - 1)
            if previous is not None and previous.resolved_at is not None:
                await self._tx.reports.delete(facts.conversation_id, facts.episode)
                facts = dataclasses.replace(previous, current=True, next_received_at=None)
        self._set(dataclasses.replace(facts, csat_rating=rating.rating, csat_at=rating.at))

    async def flush(self) -> None:
        for cid in sorted(self._dirty):
            facts = self._facts[cid]
            if facts is not None:
                await self._tx.reports.put(facts)
        self._dirty.clear()
