"""Storage: SQLAlchemy Core tables, repositories, the group-committing unit of work and
Alembic migrations, on SQLite (embedded default) and PostgreSQL. See docs/storage.md.

Typical use by the composition root::

    await migrate(url)
    store = await open_store(url)
    ...
    await store.close()
"""

from __future__ import annotations

from storage.engine import make_engine
from storage.media import FileMediaStore
from storage.migrator import migrate, migrate_sync
from storage.store import SqlStore, open_store

__all__ = ["FileMediaStore", "SqlStore", "make_engine", "migrate", "migrate_sync", "open_store"]
