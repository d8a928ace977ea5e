"""Conversation search and keyset paging (docs/search.md).

``message_search`` holds one row per message with text: a ``tsvector`` with a GIN index on
PostgreSQL, the stemmed words indexed by the FTS5 table ``message_fts`` on SQLite.
Contacts are searched through a GIN expression index (PostgreSQL) or the FTS5 table
``contact_fts`` kept by triggers (SQLite). Existing messages are indexed here, in Python
and in batches, by the same code the message repository uses. The list index gains the
columns of the paging order.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

from inbox.domain.content import parts_from_json, plain_text
from storage import search

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000

#: Contacts' FTS5 rows follow the contacts table (whoever writes it); ё is folded to е as
#: storage.search.stems does for the query.
_CONTACT_VALUES = (
    "new.id, replace(replace(new.display_name, 'ё', 'е'), 'Ё', 'Е'), new.phone, new.email"
)
_SQLITE_DDL = (
    "CREATE VIRTUAL TABLE message_fts USING fts5("
    "document, content='message_search', content_rowid='id', tokenize='unicode61')",
    "CREATE TRIGGER message_search_ai AFTER INSERT ON message_search BEGIN"
    " INSERT INTO message_fts(rowid, document) VALUES (new.id, new.document); END",
    "CREATE TRIGGER message_search_au AFTER UPDATE OF document ON message_search BEGIN"
    " INSERT INTO message_fts(message_fts, rowid, document)"
    " VALUES ('delete', old.id, old.document);"
    " INSERT INTO message_fts(rowid, document) VALUES (new.id, new.document); END",
    "CREATE TRIGGER message_search_ad AFTER DELETE ON message_search BEGIN"
    " INSERT INTO message_fts(message_fts, rowid, document)"
    " VALUES ('delete', old.id, old.document); END",
    "CREATE VIRTUAL TABLE contact_fts USING fts5("
    "contact_id UNINDEXED, display_name, phone, email, tokenize='unicode61')",
    "CREATE TRIGGER contacts_search_ai AFTER INSERT ON contacts BEGIN"
    " INSERT INTO contact_fts(rowid, contact_id, display_name, phone, email)"
    f" VALUES (new.rowid, {_CONTACT_VALUES}); END",
    "CREATE TRIGGER contacts_search_au AFTER UPDATE OF display_name, phone, email ON contacts"
    " BEGIN DELETE FROM contact_fts WHERE contact_id = old.id;"
    " INSERT INTO contact_fts(rowid, contact_id, display_name, phone, email)"
    f" VALUES (new.rowid, {_CONTACT_VALUES}); END",
    "CREATE TRIGGER contacts_search_ad AFTER DELETE ON contacts BEGIN"
    " DELETE FROM contact_fts WHERE contact_id = old.id; END",
    "INSERT INTO contact_fts(rowid, contact_id, display_name, phone, email)"
    " SELECT rowid, id, replace(replace(display_name, 'ё', 'е'), 'Ё', 'Е'), phone, email"
    " FROM contacts",
)


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.create_table(
        "message_search",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("document", sa.Text().with_variant(TSVECTOR(), "postgresql"), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_message_search_message_id_messages"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_message_search_conversation_id_conversations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_message_search"),
        sa.UniqueConstraint("message_id", name="uq_message_search_message_id"),
    )
    op.create_index("ix_message_search_conversation_id", "message_search", ["conversation_id"])
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_last_message_at")
        batch.create_index(
            "ix_conversations_last_message_at_created_at_id",
            ["last_message_at", "created_at", "id"],
        )
    if postgres:
        op.execute(
            "CREATE INDEX ix_message_search_document ON message_search USING gin (document)"
        )
        op.execute(
            f"CREATE INDEX ix_contacts_search ON contacts USING gin ({search.PG_CONTACT_VECTOR})"
        )
    else:
        for statement in _SQLITE_DDL:
            op.execute(statement)
    _backfill(bind, postgres)


def _backfill(bind: sa.Connection, postgres: bool) -> None:
    """Index every stored message, ``BATCH`` at a time in id order (keyset, not OFFSET)."""
    msgs = sa.table(
        "messages", sa.column("id"), sa.column("conversation_id"), sa.column("parts", sa.JSON())
    )
    insert = sa.text(
        "INSERT INTO message_search (message_id, conversation_id, document)"
        " VALUES (:message_id, :conversation_id, "
        + (
            "to_tsvector('russian', :text_) || to_tsvector('english', :text_))"
            if postgres
            else ":document)"
        )
    )
    last = ""
    while True:
        rows = bind.execute(
            sa.select(msgs.c.id, msgs.c.conversation_id, msgs.c.parts)
            .where(msgs.c.id > last)
            .order_by(msgs.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        values = []
        for row in rows:
            plain = plain_text(parts_from_json(row.parts))[: search.MAX_DOCUMENT_CHARS]
            if not plain.strip():
                continue
            value = {"message_id": row.id, "conversation_id": row.conversation_id}
            if postgres:
                value["text_"] = plain
            else:
                value["document"] = search.sqlite_document(plain)
            values.append(value)
        if values:
            bind.execute(insert, values)
        last = rows[-1].id


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_contacts_search")
    else:
        for name in (
            "contacts_search_ad",
            "contacts_search_au",
            "contacts_search_ai",
            "message_search_ad",
            "message_search_au",
            "message_search_ai",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS contact_fts")
        op.execute("DROP TABLE IF EXISTS message_fts")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_last_message_at_created_at_id")
        batch.create_index("ix_conversations_last_message_at", ["last_message_at"])
    op.drop_index("ix_message_search_conversation_id", table_name="message_search")
    op.drop_table("message_search")
