"""The bots feature's ports: its repository and its unit of work that extends the core's.

``BotsTx`` is the core's :class:`~inbox.ports.Tx` plus ``.bots``; ``BotsStore`` runs work
on one. The storage implements both (its transaction carries every feature's
repositories), so the bot's answer, its session and the core's outbox row commit
together or not at all.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from bots.records import BotSession, Scope, ScopeRecord
from inbox.domain.content import Part
from inbox.domain.conversations import Conversation
from inbox.domain.ids import ChannelId, ConversationId
from inbox.ports import Tx

__all__ = ["BotsRepo", "BotsStore", "BotsTx", "OrderLinks", "QueueOf"]

T = TypeVar("T")


class BotsRepo(Protocol):
    async def get_scope(self, scope: Scope) -> ScopeRecord | None: ...

    async def list_scopes(self) -> builtins.list[ScopeRecord]:
        """Every scope with settings, by name."""

    async def put_scope(self, record: ScopeRecord) -> None:
        """Insert or overwrite the scope's hours, flow and updated_at."""

    async def get_session(
        self, conversation_id: ConversationId, *, for_update: bool = False
    ) -> BotSession | None:
        """With ``for_update`` the row stays locked until the transaction ends
        (PostgreSQL), so two processes handling one message serialise on it."""

    async def put_session(self, session: BotSession) -> None:
        """Insert or overwrite the session of ``session.conversation_id``."""

    async def list_sessions(
        self, conversation_ids: builtins.list[ConversationId]
    ) -> builtins.list[BotSession]: ...


class BotsTx(Tx, Protocol):
    @property
    def bots(self) -> BotsRepo: ...


class BotsStore(Protocol):
    async def transact(self, work: Callable[[BotsTx], Awaitable[T]]) -> T: ...

    async def read(self, work: Callable[[BotsTx], Awaitable[T]]) -> T: ...


class QueueOf(Protocol):
    """Which scope a channel's new conversations belong to: the id of the routing queue
    that takes them. The root wires it to routing's choice of queue, so this feature never
    reads routing's records itself."""

    async def __call__(self, tx: Tx, channel_id: ChannelId) -> Scope | None: ...


class OrderLinks(Protocol):
    """The payment link of an order the customer names ("оплатить заказ 1042"), given by
    the root over the payments feature: the link's message parts when the order with that
    number is the conversation's customer's and awaits payment, else ``None`` (never
    another customer's order). Runs inside the bot's transaction."""

    async def link_for(
        self, tx: Tx, conversation: Conversation, number: int
    ) -> tuple[Part, ...] | None: ...
