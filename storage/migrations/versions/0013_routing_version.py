"""The routing version: ``routing_lock.version``, raised by every routing transaction, so a
router that keeps its state between passes can tell whether another process (or another
unit of its own) wrote routing rows since (docs/routing.md, "Kept state").

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("routing_lock") as batch:
        batch.add_column(
            sa.Column("version", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("routing_lock") as batch:
        batch.drop_column("version")
