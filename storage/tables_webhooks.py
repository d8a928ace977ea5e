"""The outgoing webhooks' tables (docs/webhooks.md), on the schema's one MetaData.

``webhook_deliveries`` is the durable queue: a row is inserted in the transaction of the
change it tells of, leased by a worker while it is posted (``lease_owner``,
``lease_until``), and kept afterwards as the delivery log, with one
``webhook_attempts`` row per POST.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from storage.tables import ENUM, ID, metadata
from storage.types import UtcDateTime, json_document

__all__ = ["webhook_attempts", "webhook_deliveries", "webhooks"]

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("url", Text, nullable=False),
    # ["conversation.created", ...]
    Column("events", json_document(), nullable=False),
    # The HMAC key: the server must read it to sign, so it cannot be hashed; no API or
    # log shows it (docs/webhooks.md, "The secret").
    Column("secret", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text, nullable=False),
    Column("consecutive_failures", Integer, nullable=False),
    Column("failing_since", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("webhook_id", String(ID), ForeignKey("webhooks.id"), nullable=False),
    Column("event_id", String(ID), nullable=False),
    Column("event", String(ENUM), nullable=False),
    # The exact JSON posted, built at the change's commit.
    Column("body", Text, nullable=False),
    Column("state", String(ENUM), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(ID), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    # The worker's claim: pending and due, oldest first.
    Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    # The log: a webhook's newest deliveries.
    Index("ix_webhook_deliveries_webhook", "webhook_id", "created_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("delivery_id", String(ID), ForeignKey("webhook_deliveries.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("status", Integer, nullable=True),
    Column("error", Text, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    PrimaryKeyConstraint("delivery_id", "number", name="pk_webhook_attempts"),
)
