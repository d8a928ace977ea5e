"""Applying the Alembic migrations in ``storage/migrations`` (docs/storage.md).

Alembic is configured in code (no ``alembic.ini`` to find): :func:`alembic_config` points
it at the migrations inside this package, so an installed wheel migrates as well as a
checkout does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.engine import SQLITE_BEGIN_OPTION, make_engine

__all__ = ["MIGRATIONS_DIR", "alembic_config", "migrate", "migrate_sync"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: Key of the PostgreSQL advisory lock that serialises migrations when several server
#: processes start at once (an arbitrary constant, ``int.from_bytes(b"inbox-mg")``).
_PG_MIGRATION_LOCK = int.from_bytes(b"inbox-mg", "big") & 0x7FFF_FFFF_FFFF_FFFF


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for this package's migrations; with ``url`` the Alembic command
    line functions (``command.revision(cfg, autogenerate=True)``, ...) work too."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation: a literal % (URL-encoded passwords) must be doubled.
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _upgrade_head(connection: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


async def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (Alembic ``upgrade head``).

    Idempotent, and safe to call at every start, also from several processes at once: the
    whole upgrade is one transaction holding SQLite's write lock or, on PostgreSQL, an
    advisory lock. Runs inside the caller's event loop (Alembic's synchronous code runs
    through ``AsyncConnection.run_sync``).
    """
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                await conn.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"})
            async with conn.begin():
                if conn.dialect.name == "postgresql":
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                    )
                await conn.run_sync(_upgrade_head)
    finally:
        await engine.dispose()


def migrate_sync(url: str) -> None:
    """:func:`migrate` for scripts and the CLI. Must not be called from a running event
    loop (``asyncio.run`` refuses); async code awaits :func:`migrate` instead."""
    asyncio.run(migrate(url))
