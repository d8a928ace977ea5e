"""The reports' table: one row of facts per episode (``reports.records.EpisodeFacts``),
on the schema's one :data:`storage.tables.metadata` (docs/reports.md).

A report is one range scan of ``ix_report_facts_received_at`` and a GROUP BY: every
figure a report shows is a column here, kept up to date in the transaction of each change
(``reports.recorder``), so no report ever joins the messages.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from storage.tables import ENUM, ID, metadata
from storage.types import UtcDateTime

__all__ = ["report_facts"]

report_facts = Table(
    "report_facts",
    metadata,
    Column("conversation_id", String(ID), ForeignKey("conversations.id"), nullable=False),
    # 1 for the conversation's first request, +1 for each reopen by the customer.
    Column("episode", Integer, nullable=False),
    Column("current", Boolean, nullable=False),
    Column("contact_id", String(ID), ForeignKey("contacts.id"), nullable=False),
    Column("channel_id", String(ID), nullable=False),
    Column("channel_kind", String(ENUM), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    # received_at in 15-minute buckets since the epoch: the heat map groups by it.
    Column("received_bucket", Integer, nullable=False),
    Column("new_customer", Boolean, nullable=False),
    Column("queued_at", UtcDateTime, nullable=True),
    Column("first_response_at", UtcDateTime, nullable=True),
    Column("first_response_seconds", Float, nullable=True),
    Column("first_response_business_seconds", Float, nullable=True),
    Column("responder_id", String(ID), nullable=True),
    Column("operator_id", String(ID), nullable=True),
    # Routing's: copied from each routing task written for the episode (ROUTING_INTO_FACTS).
    Column("queue_id", String(ID), nullable=True),
    Column("sla_met", Boolean, nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolution_seconds", Float, nullable=True),
    Column("close_reason", Text, nullable=False),
    Column("bot_resolved", Boolean, nullable=False),
    Column("csat_rating", Integer, nullable=True),
    Column("csat_at", UtcDateTime, nullable=True),
    Column("next_received_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("conversation_id", "episode", name="pk_report_facts"),
    # Every report: the episodes received in a period.
    Index("ix_report_facts_received_at", "received_at"),
    # New or returning: has the contact had an episode before?
    Index("ix_report_facts_contact_id", "contact_id"),
)
