"""The reports feature's records: one episode's facts (the row the reports scan), the
period and filters of a report, and the aggregates the storage answers with.

An **episode** is one customer request: it starts with the customer message that opens a
conversation or reopens a resolved one, and ends when the conversation is resolved. A
conversation on a messenger is one thread per customer and channel that reopens for every
new request, so counting conversations would count a returning customer once a year;
counting episodes counts requests (docs/reports.md, "Definitions").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from inbox.domain.ids import ChannelId, ContactId, ConversationId, OperatorId

__all__ = [
    "BUCKET_SECONDS",
    "Aggregate",
    "Durations",
    "EpisodeFacts",
    "GroupBy",
    "OrderTotals",
    "Period",
    "ReportFilter",
    "bucket_of",
]

#: The heat map's time buckets in the facts table: 15 minutes, so that the hours of a
#: zone with a half- or quarter-hour offset (India, Nepal) are still whole buckets.
BUCKET_SECONDS = 900

GroupBy = Literal["channel", "queue", "operator", "tag"]


def bucket_of(at: datetime) -> int:
    """The 15-minute bucket of an instant (seconds since the epoch // 900)."""
    return int(at.timestamp()) // BUCKET_SECONDS


@dataclass(frozen=True, slots=True)
class EpisodeFacts:
    """What the reports need of one episode, kept up to date in the transaction of every
    change (:mod:`reports.recorder`).

    ``received_at``: the customer message that opened the episode. ``queued_at``: when it
    first reached the operators (at once, or at the bot's hand-off); ``None`` while only
    the bot has it. ``first_response_at``: the first operator reply (a message sent to
    the customer, not a note) after ``received_at``; ``first_response_seconds`` counts from
    ``queued_at`` (or ``received_at`` when an operator answered a bot's conversation), and
    ``first_response_business_seconds`` only the open hours in between. ``operator_id``:
    who has it (the assignee; the one who answered when nobody was assigned).
    ``queue_id`` and ``sla_met`` are routing's: the storage copies them from each routing
    task it writes into the episode the task serves (the recorder never sets them).
    ``next_received_at``: when the conversation's next episode began (orders made before
    then belong to this one).
    ``current``: the conversation's latest episode.
    """

    conversation_id: ConversationId
    episode: int
    contact_id: ContactId
    channel_id: ChannelId
    channel_kind: str
    received_at: datetime
    new_customer: bool
    current: bool = True
    queued_at: datetime | None = None
    first_response_at: datetime | None = None
    first_response_seconds: float | None = None
    first_response_business_seconds: float | None = None
    responder_id: OperatorId | None = None
    operator_id: OperatorId | None = None
    queue_id: str | None = None
    resolved_at: datetime | None = None
    resolution_seconds: float | None = None
    close_reason: str = ""
    bot_resolved: bool = False
    sla_met: bool | None = None
    csat_rating: int | None = None
    csat_at: datetime | None = None
    next_received_at: datetime | None = None

    @property
    def answered(self) -> bool:
        return self.first_response_at is not None


@dataclass(frozen=True, slots=True)
class Period:
    """Whole local days ``first``..``last`` (inclusive) in ``tz``: the instants
    ``[start, end)`` in UTC."""

    first: date
    last: date
    tz: ZoneInfo
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """Narrows the episodes; ``None`` means any. ``abandoned_before``: an open,
    unanswered episode received before this instant counts as missed (abandoned)."""

    start: datetime
    end: datetime
    abandoned_before: datetime
    channel_id: str | None = None
    queue_id: str | None = None
    operator_id: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class OrderTotals:
    """Orders of the episodes, in one currency: made, paid (paid, shipped or delivered)
    and the paid sum in minor units."""

    created: int = 0
    paid: int = 0
    paid_minor: int = 0


@dataclass(frozen=True, slots=True)
class Durations:
    """The raw seconds the percentiles are taken over (exact, not sampled)."""

    first_response: list[float] = field(default_factory=list)
    first_response_business: list[float] = field(default_factory=list)
    resolution: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Aggregate:
    """The counts of one group of episodes (or of all of them), as the storage sums them.
    ``sla_total`` counts episodes whose SLA is settled (met or not)."""

    received: int = 0
    answered: int = 0
    missed: int = 0
    bot_resolved: int = 0
    resolved: int = 0
    new_customers: int = 0
    sla_met: int = 0
    sla_total: int = 0
    csat_sum: int = 0
    csat_count: int = 0
    #: Episodes with at least one paid order (any currency).
    converted: int = 0
    close_reasons: Mapping[str, int] = field(default_factory=dict)
    orders: Mapping[str, OrderTotals] = field(default_factory=dict)
    durations: Durations = field(default_factory=Durations)
