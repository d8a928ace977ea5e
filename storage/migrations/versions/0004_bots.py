"""Bots: each scope's business hours and bot flow, and the bot's session per conversation
(see storage/tables.py and docs/bots.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime, json_document

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bot_scopes",
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("hours", json_document(), nullable=True),
        sa.Column("flow", json_document(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name="pk_bot_scopes"),
    )
    op.create_table(
        "bot_sessions",
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("collected", json_document(), nullable=False),
        sa.Column("menu", json_document(), nullable=False),
        sa.Column("handled_seq", sa.Integer(), nullable=False),
        sa.Column("csat_requested_at", UtcDateTime(), nullable=True),
        sa.Column("csat_rating", sa.Integer(), nullable=True),
        sa.Column("csat_comment", sa.Text(), nullable=False),
        sa.Column("csat_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_bot_sessions_conversation_id_conversations",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_bot_sessions"),
    )


def downgrade() -> None:
    op.drop_table("bot_sessions")
    op.drop_table("bot_scopes")
