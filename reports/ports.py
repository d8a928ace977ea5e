"""The reports feature's ports: its repository (the facts and the report queries), its
unit of work that extends the core's, and what the root tells it about business hours.

The storage implements ``ReportsRepo`` over the table ``report_facts`` (one row per
episode) and answers a report with one indexed range scan of it, grouped in SQL.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol, TypeVar

from inbox.domain.ids import ContactId, ConversationId
from inbox.ports import Tx
from reports.records import Aggregate, EpisodeFacts, GroupBy, ReportFilter

__all__ = ["BusinessClock", "ReportsRepo", "ReportsStore", "ReportsTx"]

T = TypeVar("T")


class ReportsRepo(Protocol):
    # ------------------------------------------------------------ facts (writes)

    async def current(self, conversation_id: ConversationId) -> EpisodeFacts | None:
        """The conversation's latest episode, or ``None`` before its first."""

    async def get(self, conversation_id: ConversationId, episode: int) -> EpisodeFacts | None: ...

    async def put(self, facts: EpisodeFacts) -> None:
        """Insert or overwrite the episode ``(conversation_id, episode)``."""

    async def delete(self, conversation_id: ConversationId, episode: int) -> None: ...

    async def has_episodes(self, contact_id: ContactId) -> bool:
        """Whether the contact has had any episode (on any channel)."""

    # ------------------------------------------------------------ reports (reads)

    async def aggregate(
        self, flt: ReportFilter, group_by: GroupBy | None = None
    ) -> dict[str | None, Aggregate]:
        """The figures of the episodes received in ``[flt.start, flt.end)`` that pass the
        filter, per group (the key ``None`` holds everything when ``group_by`` is None,
        and the episodes without a group otherwise: no queue, no operator). By tag, an
        episode counts in each of its contact's tags."""

    async def buckets(self, flt: ReportFilter) -> dict[int, int]:
        """Episodes received per 15-minute bucket (:func:`reports.records.bucket_of`)."""

    async def names(self, group_by: GroupBy, keys: builtins.list[str]) -> dict[str, str]:
        """Display names of channels, queues or operators by id (tags are their names)."""


class ReportsTx(Tx, Protocol):
    """One database transaction's view of the core's repositories and the reports'."""

    @property
    def reports(self) -> ReportsRepo: ...


class ReportsStore(Protocol):
    async def transact(self, work: Callable[[ReportsTx], Awaitable[T]]) -> T: ...

    async def read(self, work: Callable[[ReportsTx], Awaitable[T]]) -> T: ...


class BusinessClock(Protocol):
    """Open seconds between two instants for a conversation (its queue's business hours,
    else the whole inbox's; all seconds when no hours are set). Called inside the
    transaction, so it reads through ``tx`` only."""

    async def __call__(
        self, tx: ReportsTx, conversation_id: ConversationId, start: datetime, end: datetime
    ) -> float | None: ...
