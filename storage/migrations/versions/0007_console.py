"""The console's customer card, close reasons and canned replies (docs/console.md).

* ``contacts``: ``extra_phones`` and ``extra_emails`` (JSON lists, NULL for none) after
  the existing single ``phone``/``email``, which stay the first ones; ``notes``.
* ``contact_points``: every phone and e-mail of a contact as compared for duplicates,
  filled here from the existing ``phone``/``email`` columns, so contacts stored before
  are found too.
* ``conversations.close_reason`` (``""`` for the ones resolved before).
* ``close_reasons``, seeded with a default list; ``canned_replies``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime, json_document

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The list an administrator starts with (as inbox.domain.close_reasons had it).
_DEFAULT_REASONS = (
    "Sold",
    "Question answered",
    "Not in stock",
    "Too expensive",
    "No reply from the customer",
    "Spam",
    "Other",
)


def _phone_key(phone: str) -> str:
    # inbox.domain.contacts.phone_key as it stood when this migration was written.
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    return digits if len(digits) >= 5 else ""


def _email_key(email: str) -> str:
    key = email.strip().lower()
    return key if "@" in key else ""


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("extra_phones", json_document(), nullable=True))
        batch.add_column(sa.Column("extra_emails", json_document(), nullable=True))
        batch.add_column(sa.Column("notes", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("close_reason", sa.Text(), nullable=False, server_default=""))
    points = op.create_table(
        "contact_points",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(320), nullable=False),
        sa.Column("contact_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_contact_points_contact_id_contacts"
        ),
        sa.PrimaryKeyConstraint("kind", "key", "contact_id", name="pk_contact_points"),
    )
    op.create_index("ix_contact_points_contact_id", "contact_points", ["contact_id"])
    reasons = op.create_table(
        "close_reasons",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_close_reasons"),
    )
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("shortcut", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_canned_replies"),
        sa.UniqueConstraint("owner_id", "shortcut", name="uq_canned_replies_owner_id_shortcut"),
    )
    assert points is not None and reasons is not None
    op.bulk_insert(reasons, [{"position": i, "name": n} for i, n in enumerate(_DEFAULT_REASONS)])
    contacts = sa.table(
        "contacts",
        sa.column("id", sa.String(64)),
        sa.column("phone", sa.Text()),
        sa.column("email", sa.Text()),
    )
    rows = op.get_bind().execute(sa.select(contacts.c.id, contacts.c.phone, contacts.c.email))
    found: set[tuple[str, str, str]] = set()
    for contact_id, phone, email in rows.all():
        for kind, key in (("phone", _phone_key(phone or "")), ("email", _email_key(email or ""))):
            if key:
                found.add((kind, key, contact_id))
    if found:
        op.bulk_insert(
            points, [{"kind": k, "key": key, "contact_id": c} for k, key, c in sorted(found)]
        )


def downgrade() -> None:
    op.drop_table("canned_replies")
    op.drop_table("close_reasons")
    op.drop_index("ix_contact_points_contact_id", table_name="contact_points")
    op.drop_table("contact_points")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("close_reason")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("notes")
        batch.drop_column("extra_emails")
        batch.drop_column("extra_phones")
