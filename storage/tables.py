"""The schema, as SQLAlchemy Core tables (docs/storage.md explains the keys).

These objects only describe the schema (no I/O). The migrations in
``storage/migrations/versions`` create it; ``tests/storage`` checks that both agree.

Ids are the server's 32-hex-character strings; 64 leaves room for ids made elsewhere (the
CLI, tests). Enums are stored as their plain string values so that adding a member needs
no migration. Datetimes are :class:`~storage.types.UtcDateTime`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
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
from sqlalchemy.dialects.postgresql import TSVECTOR

from storage.types import UtcDateTime, json_document

__all__ = [
    "auth_sessions",
    "bot_scopes",
    "bot_sessions",
    "canned_replies",
    "channel_identities",
    "channels",
    "close_reasons",
    "contact_points",
    "contacts",
    "conversations",
    "leases",
    "message_search",
    "messages",
    "metadata",
    "operators",
    "orders",
    "outbox",
    "payment_notices",
    "payment_providers",
    "queues",
    "routing_decisions",
    "routing_lock",
    "routing_offers",
    "routing_tasks",
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
    # A JSON list of tags ("vip", "wholesale"); NULL for none (rows older than the column).
    Column("tags", json_document(), nullable=True),
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
    # The last console heartbeat, from any server process (OperatorRepo.touch_seen).
    Column("last_seen_at", UtcDateTime, nullable=True),
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
    Column("reply_window_ends_at", UtcDateTime, nullable=True),
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
    # Lists, newest activity first, paged by keyset on exactly this order (docs/search.md).
    Index("ix_conversations_last_message_at_created_at_id", "last_message_at", "created_at", "id"),
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

message_search = Table(
    "message_search",
    metadata,
    # One row per message with any text, written with the message (storage.search). The
    # integer id is the SQLite FTS5 table's rowid (message_fts indexes this table).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(ID), ForeignKey("messages.id"), nullable=False),
    Column("conversation_id", String(ID), ForeignKey("conversations.id"), nullable=False),
    # PostgreSQL: a tsvector (GIN-indexed, see migration 0007); SQLite: the stemmed words.
    Column("document", Text().with_variant(TSVECTOR(), "postgresql"), nullable=False),
    UniqueConstraint("message_id", name="uq_message_search_message_id"),
    Index("ix_message_search_conversation_id", "conversation_id"),
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
    # The message's seq: a conversation's jobs go out in this order, also when one
    # transaction queued several with the same created_at (a bot's greeting and menu).
    Column("seq", Integer, nullable=False, server_default="0"),
    Index("ix_outbox_available_at", "available_at"),
    # "Is this the first job of its conversation?" in claim_due.
    Index("ix_outbox_conversation_id_seq", "conversation_id", "seq"),
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


queues = Table(
    "queues",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", Text, nullable=False),
    # The queue's configuration (validated by routing.queues) and what routing keeps
    # between passes (round-robin turns, recent handling times).
    Column("settings", json_document(), nullable=False),
    Column("state", json_document(), nullable=False),
    Column("is_default", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("name", name="uq_queues_name"),
)

routing_tasks = Table(
    "routing_tasks",
    metadata,
    # One task per conversation: the routing state of its current episode. queue_id has no
    # foreign key: overflows and transfers rewrite it freely.
    Column("conversation_id", String(ID), ForeignKey("conversations.id"), primary_key=True),
    Column("queue_id", String(ID), nullable=False),
    Column("status", String(ENUM), nullable=False),
    Column("channel_kind", String(ENUM), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("entered_queue_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("last_operator_id", String(ID), nullable=True),
    Column("declined_by", json_document(), nullable=False),
    Column("extra_skills", json_document(), nullable=False),
    Column("assignee_id", String(ID), nullable=True),
    Column("assigned_at", UtcDateTime, nullable=True),
    Column("awaiting_reply_since", UtcDateTime, nullable=True),
    Column("first_response_at", UtcDateTime, nullable=True),
    Column("first_response_due", UtcDateTime, nullable=True),
    Column("resolution_due", UtcDateTime, nullable=True),
    Column("sla_warned_at", UtcDateTime, nullable=True),
    Column("first_response_breached_at", UtcDateTime, nullable=True),
    Column("resolution_breached_at", UtcDateTime, nullable=True),
    Column("sla_met", Boolean, nullable=True),
    Column("response_alerted_at", UtcDateTime, nullable=True),
    Column("position_sent_at", UtcDateTime, nullable=True),
    Column("position_sent", Integer, nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    # list_tasks: waiting/assigned tasks (of a queue), longest in the queue first.
    Index("ix_routing_tasks_status_queue_id", "status", "queue_id", "entered_queue_at"),
    # list_done_since: recently resolved tasks.
    Index("ix_routing_tasks_status_resolved_at", "status", "resolved_at"),
)

routing_offers = Table(
    "routing_offers",
    metadata,
    Column("conversation_id", String(ID), nullable=False),
    Column("operator_id", String(ID), nullable=False),
    Column("queue_id", String(ID), nullable=False),
    Column("offered_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("weight", Float, nullable=False),
    # One pending offer of a conversation to an operator.
    PrimaryKeyConstraint("conversation_id", "operator_id", name="pk_routing_offers"),
    # An operator's pending offers (the capacity they reserve).
    Index("ix_routing_offers_operator_id", "operator_id"),
)

routing_decisions = Table(
    "routing_decisions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("conversation_id", String(ID), nullable=False),
    Column("queue_id", String(ID), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("outcome", String(ENUM), nullable=False),
    Column("explanation", json_document(), nullable=False),
    Index("ix_routing_decisions_conversation_id", "conversation_id", "decided_at"),
)

routing_lock = Table(
    "routing_lock",
    metadata,
    # One row (id 1), locked FOR UPDATE by every routing transaction on PostgreSQL, so
    # routing decisions are serialised across server processes.
    Column("id", Integer, primary_key=True, autoincrement=False),
    # Raised by every routing transaction (both databases): a router that kept the state
    # its last pass left knows from it whether anyone else wrote routing rows since.
    Column("version", BigInteger, nullable=False, server_default="0"),
)


# --------------------------------------------------------------------------- bots

bot_scopes = Table(
    "bot_scopes",
    metadata,
    # "default" (the whole inbox) or a routing queue's id; no foreign key, as routing
    # task rows have none either (queues may be renamed; ids stay).
    Column("scope", String(ID), primary_key=True),
    Column("hours", json_document(), nullable=True),
    Column("flow", json_document(), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

bot_sessions = Table(
    "bot_sessions",
    metadata,
    Column("conversation_id", String(ID), ForeignKey("conversations.id"), primary_key=True),
    Column("scope", String(ID), nullable=False),
    Column("state", String(ENUM), nullable=False),
    Column("step", Integer, nullable=False),
    Column("collected", json_document(), nullable=False),
    Column("menu", json_document(), nullable=False),
    # The last customer message (by seq) the bot has dealt with: never answered twice.
    Column("handled_seq", Integer, nullable=False),
    Column("csat_requested_at", UtcDateTime, nullable=True),
    Column("csat_rating", Integer, nullable=True),
    Column("csat_comment", Text, nullable=False),
    Column("csat_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)


# --------------------------------------------------------------------------- payments

payment_providers = Table(
    "payment_providers",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(ENUM), nullable=False),
    Column("name", Text, nullable=False),
    # Credentials: they never leave the server.
    Column("options", json_document(), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(ID), primary_key=True),
    # The number the customer and the manager say ("order 1042"); unique in the shop.
    Column("number", Integer, nullable=False),
    Column("conversation_id", String(ID), ForeignKey("conversations.id"), nullable=False),
    Column("contact_id", String(ID), ForeignKey("contacts.id"), nullable=False),
    Column("currency", String(ENUM), nullable=False),
    # [{"name", "quantity", "unit_price_minor", "sku"}]: money in minor units.
    Column("lines", json_document(), nullable=False),
    Column("total_minor", Integer, nullable=False),
    Column("status", String(ENUM), nullable=False),
    Column("status_times", json_document(), nullable=False),
    Column("external_id", Text, nullable=True),
    Column("tracking_number", Text, nullable=False),
    Column("manager_id", String(ID), nullable=True),
    # The current payment attempt ({"provider_id", "idempotence_key", "status", ...}).
    Column("payment", json_document(), nullable=True),
    # Looked up by the provider's notifications.
    Column("payment_provider_id", String(ID), nullable=True),
    Column("payment_id", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("number", name="uq_orders_number"),
    UniqueConstraint("external_id", name="uq_orders_external_id"),
    Index("ix_orders_conversation_id", "conversation_id", "created_at"),
    Index("ix_orders_payment", "payment_provider_id", "payment_id"),
)

payment_notices = Table(
    "payment_notices",
    metadata,
    # A provider notification acted on once (Stripe's event id; YooKassa's event and id).
    Column("provider_id", String(ID), nullable=False),
    Column("key", Text, nullable=False),
    PrimaryKeyConstraint("provider_id", "key", name="pk_payment_notices"),
)


# --------------------------------------------------------------------------- console
# The customer card, close reasons and canned replies (docs/console.md). Columns added to
# the core's tables are appended here, after the tables they belong to.

# Phones and e-mails after the first (JSON lists; NULL for none) and the operators' notes.
contacts.append_column(Column("extra_phones", json_document(), nullable=True))
contacts.append_column(Column("extra_emails", json_document(), nullable=True))
contacts.append_column(Column("notes", Text, nullable=False, server_default=""))

# One of the close reasons, or "" (none given; open).
conversations.append_column(Column("close_reason", Text, nullable=False, server_default=""))
# The routing queue it waits in or last waited in (routing sets it; no foreign key, like
# routing_tasks.queue_id); NULL: never filed in one. The visibility rule reads it.
conversations.append_column(Column("queue_id", String(ID), nullable=True))

contact_points = Table(
    "contact_points",
    metadata,
    # Every phone and e-mail of a contact as compared (inbox.domain.contacts.phone_key and
    # email_key): "which other contacts share one?" is a lookup by (kind, key).
    Column("kind", String(ENUM), nullable=False),
    Column("key", String(320), nullable=False),
    Column("contact_id", String(ID), ForeignKey("contacts.id"), nullable=False),
    PrimaryKeyConstraint("kind", "key", "contact_id", name="pk_contact_points"),
    Index("ix_contact_points_contact_id", "contact_id"),
)

close_reasons = Table(
    "close_reasons",
    metadata,
    # The administrator's list, in their order; replaced as a whole.
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("name", String(60), nullable=False),
)

canned_replies = Table(
    "canned_replies",
    metadata,
    Column("id", String(ID), primary_key=True),
    # The operator whose private reply it is, or "" for a shared one: "" (unlike NULL)
    # collides in the unique key, so shared shortcuts are unique among themselves too.
    Column("owner_id", String(ID), nullable=False),
    Column("shortcut", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("owner_id", "shortcut", name="uq_canned_replies_owner_id_shortcut"),
)


# --------------------------------------------------------------------------- webhooks
# Their tables live in a module of their own, on this MetaData; importing it here puts
# them in every user of ``metadata`` (the migrations' comparison, the tests' cleanup).
# Tables kept in modules of their own register on the same metadata here (they import it).
from storage import tables_integrations as _integrations  # noqa: E402, F401
from storage import tables_webhooks as _tables_webhooks  # noqa: E402, F401
