"""The schema, as SQLAlchemy Core tables (docs/storage.md explains the keys).

These objects only describe the schema (no I/O). The migrations in
``storage/migrations/versions`` create it; ``tests/storage`` checks that both agree.

Ids are the server's 32-hex-character strings; 64 leaves room for ids made elsewhere (the
CLI, tests). Enums are stored as their plain string values so that adding a member needs
no migration. Datetimes are :class:`~storage.types.UtcDateTime`.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from storage.types import UtcDateTime, json_document

__all__ = [
    "auth_sessions",
    "channel_identities",
    "channels",
    "contacts",
    "conversations",
    "leases",
    "messages",
    "metadata",
    "operators",
    "outbox",
]

ID = 64
ENUM = 32

#: Names for anything not named explicitly, so migrations can refer to constraints by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

channels = Table(
    "channels",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(ENUM), nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Credentials live here; they never leave the server (see Channel.public_view).
    Column("options", json_document(), nullable=False),
    Column("enabled", Boolean, nullable=False),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("phone", Text, nullable=False),
    Column("email", Text, nullable=False),
)

channel_identities = Table(
    "channel_identities",
    metadata,
    Column("channel_id", String(ID), ForeignKey("channels.id"), nullable=False),
    # Every inbound message looks its sender up by (channel, external user id): the key.
    Column("external_user_id", Text, nullable=False),
    Column("contact_id", String(ID), ForeignKey("contacts.id"), nullable=False),
    Column("display_name", Text, nullable=False),
    Column("username", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("email", Text, nullable=False),
    PrimaryKeyConstraint("channel_id", "external_user_id", name="pk_channel_identities"),
    Index("ix_channel_identities_contact_id", "contact_id"),
)

operators = Table(
    "operators",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("login", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("role", String(ENUM), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("skills", json_document(), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("presence", String(ENUM), nullable=False),
    Column("presence_changed_at", UtcDateTime, nullable=True),
    Column("last_assigned_at", UtcDateTime, nullable=True),
    Column("disabled", Boolean, nullable=False),
    UniqueConstraint("login", name="uq_operators_login"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("channel_id", String(ID), ForeignKey("channels.id"), nullable=False),
    Column("contact_id", String(ID), ForeignKey("contacts.id"), nullable=False),
    Column("status", String(ENUM), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("assignee_id", String(ID), ForeignKey("operators.id"), nullable=True),
    Column("last_message_seq", Integer, nullable=False),
    Column("last_message_at", UtcDateTime, nullable=True),
    Column("last_inbound_at", UtcDateTime, nullable=True),
    Column("unread_count", Integer, nullable=False),
    Column("queued_at", UtcDateTime, nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("subject", Text, nullable=False),
    Column("preview", Text, nullable=False),
    Column("contact_name", Text, nullable=False),
    Column("channel_kind", String(ENUM), nullable=False),
    Column("thread_key", Text, nullable=False),
    # The queue: queued conversations, longest waiting first.
    Index("ix_conversations_status_queued_at", "status", "queued_at"),
    # An operator's own list and the capacity count.
    Index("ix_conversations_assignee_id_status", "assignee_id", "status"),
    # find_latest: the newest conversation of a contact on a channel.
    Index("ix_conversations_contact_id_channel_id", "contact_id", "channel_id", "created_at"),
    # Lists, newest activity first.
    Index("ix_conversations_last_message_at", "last_message_at"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("conversation_id", String(ID), ForeignKey("conversations.id"), nullable=False),
    Column("channel_id", String(ID), ForeignKey("channels.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(ENUM), nullable=False),
    Column("direction", String(ENUM), nullable=False),
    Column("author_kind", String(ENUM), nullable=False),
    Column("author_id", Text, nullable=True),
    Column("parts", json_document(), nullable=False),
    Column("status", String(ENUM), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("client_id", Text, nullable=True),
    Column("external_id", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("author_name", Text, nullable=False),
    Column("meta", json_document(), nullable=False),
    # One order per conversation; two writers picking the same seq collide here.
    UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_id_seq"),
    # Provider retries of an inbound message (and echoes of our own) are stored once.
    # NULLs never collide, on SQLite and PostgreSQL alike, so outbound rows without an
    # external id yet are fine.
    UniqueConstraint("channel_id", "external_id", name="uq_messages_channel_id_external_id"),
    # A console that resends a reply after a reconnect gets the first one back.
    UniqueConstraint("conversation_id", "client_id", name="uq_messages_conversation_id_client_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("message_id", String(ID), ForeignKey("messages.id"), nullable=False),
    Column("conversation_id", String(ID), ForeignKey("conversations.id"), nullable=False),
    Column("channel_id", String(ID), ForeignKey("channels.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("available_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("lease_owner", Text, nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Index("ix_outbox_available_at", "available_at"),
    # "Is this the oldest job of its conversation?" in claim_due.
    Index("ix_outbox_conversation_id_created_at", "conversation_id", "created_at"),
)

auth_sessions = Table(
    "auth_sessions",
    metadata,
    # Only a hash of the bearer token is stored: a leaked table grants no sessions.
    Column("token_hash", Text, primary_key=True),
    Column("operator_id", String(ID), ForeignKey("operators.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Index("ix_auth_sessions_operator_id", "operator_id"),
)


leases = Table(
    "leases",
    metadata,
    # One row per singleton job (a poller, a timer): who runs it, until when, and how far
    # it got, so that the next owner resumes instead of starting over.
    Column("name", String(200), primary_key=True),
    Column("owner", String(ID), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("cursor", Text, nullable=True),
)
