"""Routing: queues, routing tasks, offers, decisions, the routing lock row, and
operators.last_seen_at and contacts.tags (see storage/tables.py and docs/storage.md).

Revision ID: 0002
Revises: 0001
Create Date: 2026-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime, json_document

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        batch.add_column(sa.Column("last_seen_at", UtcDateTime(), nullable=True))
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("tags", json_document(), nullable=True))
    op.create_table(
        "queues",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("settings", json_document(), nullable=False),
        sa.Column("state", json_document(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_queues"),
        sa.UniqueConstraint("name", name="uq_queues_name"),
    )
    op.create_table(
        "routing_tasks",
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("queue_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("channel_kind", sa.String(32), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("entered_queue_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("last_operator_id", sa.String(64), nullable=True),
        sa.Column("declined_by", json_document(), nullable=False),
        sa.Column("extra_skills", json_document(), nullable=False),
        sa.Column("assignee_id", sa.String(64), nullable=True),
        sa.Column("assigned_at", UtcDateTime(), nullable=True),
        sa.Column("awaiting_reply_since", UtcDateTime(), nullable=True),
        sa.Column("first_response_at", UtcDateTime(), nullable=True),
        sa.Column("first_response_due", UtcDateTime(), nullable=True),
        sa.Column("resolution_due", UtcDateTime(), nullable=True),
        sa.Column("sla_warned_at", UtcDateTime(), nullable=True),
        sa.Column("first_response_breached_at", UtcDateTime(), nullable=True),
        sa.Column("resolution_breached_at", UtcDateTime(), nullable=True),
        sa.Column("sla_met", sa.Boolean(), nullable=True),
        sa.Column("response_alerted_at", UtcDateTime(), nullable=True),
        sa.Column("position_sent_at", UtcDateTime(), nullable=True),
        sa.Column("position_sent", sa.Integer(), nullable=True),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_routing_tasks_conversation_id_conversations",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_routing_tasks"),
    )
    op.create_index(
        "ix_routing_tasks_status_queue_id",
        "routing_tasks",
        ["status", "queue_id", "entered_queue_at"],
    )
    op.create_index(
        "ix_routing_tasks_status_resolved_at", "routing_tasks", ["status", "resolved_at"]
    )
    op.create_table(
        "routing_offers",
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("operator_id", sa.String(64), nullable=False),
        sa.Column("queue_id", sa.String(64), nullable=False),
        sa.Column("offered_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "operator_id", name="pk_routing_offers"),
    )
    op.create_index("ix_routing_offers_operator_id", "routing_offers", ["operator_id"])
    op.create_table(
        "routing_decisions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("queue_id", sa.String(64), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("explanation", json_document(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_routing_decisions"),
    )
    op.create_index(
        "ix_routing_decisions_conversation_id",
        "routing_decisions",
        ["conversation_id", "decided_at"],
    )
    routing_lock = op.create_table(
        "routing_lock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_routing_lock"),
    )
    op.bulk_insert(routing_lock, [{"id": 1}])


def downgrade() -> None:
    op.drop_table("routing_lock")
    op.drop_index("ix_routing_decisions_conversation_id", table_name="routing_decisions")
    op.drop_table("routing_decisions")
    op.drop_index("ix_routing_offers_operator_id", table_name="routing_offers")
    op.drop_table("routing_offers")
    op.drop_index("ix_routing_tasks_status_resolved_at", table_name="routing_tasks")
    op.drop_index("ix_routing_tasks_status_queue_id", table_name="routing_tasks")
    op.drop_table("routing_tasks")
    op.drop_table("queues")
    with op.batch_alter_table("operators") as batch:
        batch.drop_column("last_seen_at")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("tags")
