"""Tables of the integrations (docs/api.md): API tokens, login-failure counters, and the
contacts' external ids. On the one :data:`storage.tables.metadata`; registered by
``storage.tables`` importing this module, so the migrations and their checks see them."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text, UniqueConstraint

from storage.tables import ID, contacts, metadata
from storage.types import UtcDateTime, json_document

__all__ = ["api_tokens", "login_failures"]

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", Text, nullable=False),
    # Only the SHA-256 of the token: a leaked table grants nothing (docs/api.md).
    Column("token_hash", String(64), nullable=False),
    # A JSON list of scope names.
    Column("scopes", json_document(), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # The login of the admin who created it, or "" (the command line).
    Column("created_by", Text, nullable=False),
    # Written at most every few minutes (ApiToken.needs_touch), not per request.
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
)

login_failures = Table(
    "login_failures",
    metadata,
    # "login:<login>" or "addr:<client address>" (inbox.domain.throttle).
    Column("key", String(320), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", UtcDateTime, nullable=False),
)

# The shop's id of a customer (PUT /api/v1/contacts); looked up through contact_points.
contacts.append_column(Column("external_id", Text, nullable=True))
