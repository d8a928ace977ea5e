"""Queue-restricted visibility (docs/routing.md, ``visible_to``): ``conversations.queue_id``.

The conversation carries the routing queue it waits in, so the visibility rule can hide
the waiting conversations of a members-only queue in the list's SQL as well as in Python.
Routing keeps it current from now on; the existing rows take it from their routing task.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("queue_id", sa.String(64), nullable=True))
    op.execute(
        "UPDATE conversations SET queue_id = (SELECT routing_tasks.queue_id FROM routing_tasks"
        " WHERE routing_tasks.conversation_id = conversations.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("queue_id")
