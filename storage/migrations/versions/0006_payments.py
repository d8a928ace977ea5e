"""Payments: providers, orders and the provider notifications acted on (see
storage/tables.py and docs/payments.md).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime, json_document

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_providers",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("options", json_document(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payment_providers"),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("contact_id", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(32), nullable=False),
        sa.Column("lines", json_document(), nullable=False),
        sa.Column("total_minor", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_times", json_document(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("tracking_number", sa.Text(), nullable=False),
        sa.Column("manager_id", sa.String(64), nullable=True),
        sa.Column("payment", json_document(), nullable=True),
        sa.Column("payment_provider_id", sa.String(64), nullable=True),
        sa.Column("payment_id", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name="fk_orders_conversation_id_conversations"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_orders_contact_id_contacts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("number", name="uq_orders_number"),
        sa.UniqueConstraint("external_id", name="uq_orders_external_id"),
    )
    op.create_index("ix_orders_conversation_id", "orders", ["conversation_id", "created_at"])
    op.create_index("ix_orders_payment", "orders", ["payment_provider_id", "payment_id"])
    op.create_table(
        "payment_notices",
        sa.Column("provider_id", sa.String(64), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("provider_id", "key", name="pk_payment_notices"),
    )


def downgrade() -> None:
    op.drop_table("payment_notices")
    op.drop_index("ix_orders_payment", table_name="orders")
    op.drop_index("ix_orders_conversation_id", table_name="orders")
    op.drop_table("orders")
    op.drop_table("payment_providers")
