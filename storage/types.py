"""Column types shared by the tables and the migrations.

Alembic's migration scripts import these by their dotted path, so moving or renaming them
breaks old migrations: add new types instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["UtcDateTime", "json_document"]


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC ``datetime`` in, the same out, on SQLite and PostgreSQL.

    PostgreSQL stores ``timestamptz``. SQLite has no time zones: the value is stored as
    naive UTC text (which also sorts chronologically) and made aware again when read.
    Naive datetimes are refused on the way in, because guessing their zone hides bugs.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to the database; use aware UTC datetimes")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_document() -> TypeEngine[Any]:
    """JSON on SQLite (text), JSONB on PostgreSQL (compact, validated on write)."""
    return JSON().with_variant(JSONB(), "postgresql")
