"""outbox.seq: a conversation's delivery jobs go out in message order.

Jobs queued in one transaction share ``created_at``; their random ids made the order of,
say, a bot's greeting and its menu a coin toss. The head of a conversation's jobs is now
the one with the lowest message ``seq``. Existing jobs take their message's seq.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_index("ix_outbox_conversation_id_created_at")
        batch.create_index("ix_outbox_conversation_id_seq", ["conversation_id", "seq"])
    op.execute(
        "UPDATE outbox SET seq = (SELECT messages.seq FROM messages"
        " WHERE messages.id = outbox.message_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_conversation_id_seq")
        batch.create_index("ix_outbox_conversation_id_created_at", ["conversation_id", "created_at"])
        batch.drop_column("seq")
