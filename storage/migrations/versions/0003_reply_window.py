"""conversations.reply_window_ends_at: the end of the channel's reply window, stored.

The core no longer knows WhatsApp's 24 hours; ingest stores the window the channel kind
declares (channels/<kind>/spec.py). Existing WhatsApp conversations get theirs from
``last_inbound_at`` here, the rule the code applied before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: WhatsApp's customer service window as it stood when this migration was written.
_WHATSAPP_WINDOW = timedelta(hours=24)


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("reply_window_ends_at", UtcDateTime(), nullable=True))
    conversations = sa.table(
        "conversations",
        sa.column("id", sa.String(64)),
        sa.column("channel_kind", sa.String(32)),
        sa.column("last_inbound_at", UtcDateTime()),
        sa.column("reply_window_ends_at", UtcDateTime()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(conversations.c.id, conversations.c.last_inbound_at).where(
            conversations.c.channel_kind == "whatsapp",
            conversations.c.last_inbound_at.is_not(None),
        )
    ).all()
    for conversation_id, last_inbound_at in rows:
        bind.execute(
            conversations.update()
            .where(conversations.c.id == conversation_id)
            .values(reply_window_ends_at=last_inbound_at + _WHATSAPP_WINDOW)
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("reply_window_ends_at")
