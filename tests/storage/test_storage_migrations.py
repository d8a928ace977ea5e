"""Migrations and engine configuration."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import Connection

from channels.whatsapp.spec import CUSTOMER_SERVICE_WINDOW
from storage import make_engine, migrate, migrate_sync, tables
from storage.engine import make_sqlite_sync_engine, normalise_url
from storage.migrator import alembic_config
from storage.search import SQLITE_SEARCH_TABLES
from storage.tables import metadata


def _is_search_index(name: str | None) -> bool:
    """SQLite's FTS5 tables (and their shadow tables): the dialect's own search index, not
    part of storage/tables.py (see storage.search)."""
    return name is not None and name.startswith(SQLITE_SEARCH_TABLES)


async def _table_names(url: str) -> set[str]:
    """The tables, but for SQLite's search index (checked on its own)."""
    return {name for name in await _all_table_names(url) if not _is_search_index(name)}


async def _all_table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def _version(url: str) -> str | None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
    finally:
        await engine.dispose()


_PG_SEARCH_INDEXES = ("ix_message_search_document", "ix_contacts_search")


async def test_migrate_creates_every_table_and_is_idempotent(empty_database_url: str) -> None:
    assert await _table_names(empty_database_url) == set()
    await migrate(empty_database_url)
    expected = {t.name for t in metadata.sorted_tables} | {"alembic_version"}
    assert await _table_names(empty_database_url) == expected
    assert await _version(empty_database_url) == "0013"
    if empty_database_url.startswith("sqlite"):
        assert set(SQLITE_SEARCH_TABLES) <= await _all_table_names(empty_database_url)

    await migrate(empty_database_url)
    await migrate(empty_database_url)
    assert await _table_names(empty_database_url) == expected
    assert await _version(empty_database_url) == "0013"


async def test_concurrent_migrations_do_not_collide(empty_database_url: str) -> None:
    """Several server processes starting at once all migrate."""
    await asyncio.gather(*(migrate(empty_database_url) for _ in range(3)))
    assert await _version(empty_database_url) == "0013"


async def test_migrate_sync_for_scripts(empty_database_url: str) -> None:
    # A script has no running loop; a thread stands in for it here.
    await asyncio.to_thread(migrate_sync, empty_database_url)
    assert await _version(empty_database_url) == "0013"


async def test_migrated_schema_matches_tables_py(database_url: str) -> None:
    """The hand-written migration and storage/tables.py describe the same schema."""

    def include_name(name: str | None, kind: str, parents: Any) -> bool:
        # The search index's dialect-specific parts (storage.search, migration 0007): the
        # FTS5 tables on SQLite, the GIN indexes on PostgreSQL.
        if kind == "table":
            return not _is_search_index(name)
        return not (kind == "index" and name in _PG_SEARCH_INDEXES)

    def diff(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_name}
        )
        return list(compare_metadata(context, metadata))

    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()


async def test_sqlite_connections_are_configured(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "inbox.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as conn:
            pragmas = {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        await engine.dispose()
    assert path.parent.is_dir()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,  # FULL: acknowledged means on disk
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }
    # The worker threads' pysqlite connections, which do the writing, too.
    sync = make_sqlite_sync_engine(f"sqlite+aiosqlite:///{path}")
    try:
        with sync.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2
    finally:
        sync.dispose()


async def test_sqlite_savepoints_roll_back_inside_the_transaction(tmp_path: Path) -> None:
    """The BEGIN recipe in storage.engine: without it pysqlite ignores SAVEPOINT scoping."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'sp.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (1)"))
            savepoint = await conn.begin_nested()
            await conn.execute(text("INSERT INTO t VALUES (2)"))
            await savepoint.rollback()
            await conn.execute(text("INSERT INTO t VALUES (3)"))
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT x FROM t ORDER BY x"))).scalars().all()
    finally:
        await engine.dispose()
    assert rows == [1, 3]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///a.db", "sqlite+aiosqlite:///a.db"),
        ("sqlite+aiosqlite:///a.db", "sqlite+aiosqlite:///a.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_urls_get_their_async_driver(given: str, expected: str) -> None:
    assert normalise_url(given).render_as_string() == expected


@pytest.mark.parametrize(
    "url",
    ["mysql+aiomysql://u@h/db", "postgresql+psycopg://u@h/db", "sqlite+aiosqlite://"],
)
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="supported"):
        make_engine(url)


async def test_0003_backfills_the_whatsapp_reply_window(empty_database_url: str) -> None:
    """Conversations stored before 0003 get the window the code used to compute: WhatsApp
    ones 24 hours after the customer's last message, every other kind none."""

    def upgrade_to(revision: str) -> Any:
        def go(conn: Connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

        return go

    last = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    engine = make_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade_to("0002"))
        async with engine.begin() as conn:
            for kind in ("whatsapp", "telegram"):
                await conn.execute(
                    insert(tables.channels).values(
                        id=f"ch-{kind}",
                        kind=kind,
                        name=kind,
                        created_at=last,
                        options={},
                        enabled=True,
                    )
                )
            await conn.execute(
                insert(tables.contacts).values(
                    id="ct", display_name="Ann", created_at=last, phone="", email=""
                )
            )
            for cid, kind, inbound in (
                ("wa", "whatsapp", last),
                ("wa-none", "whatsapp", None),
                ("tg", "telegram", last),
            ):
                await conn.execute(
                    insert(tables.conversations).values(
                        id=cid,
                        channel_id=f"ch-{kind}",
                        contact_id="ct",
                        status="queued",
                        created_at=last,
                        updated_at=last,
                        last_message_seq=1,
                        last_inbound_at=inbound,
                        unread_count=1,
                        subject="",
                        preview="",
                        contact_name="Ann",
                        channel_kind=kind,
                        thread_key="t",
                    )
                )
        async with engine.begin() as conn:
            await conn.run_sync(upgrade_to("head"))
        async with engine.connect() as conn:
            c = tables.conversations.c
            rows = dict((await conn.execute(select(c.id, c.reply_window_ends_at))).all())
    finally:
        await engine.dispose()
    # The migration's frozen copy of the window agrees with the channel's spec.
    assert rows == {"wa": last + CUSTOMER_SERVICE_WINDOW.length, "wa-none": None, "tg": None}


async def test_0009_gives_conversations_the_queue_of_their_routing_task(
    empty_database_url: str,
) -> None:
    """Conversations stored before 0009 take ``queue_id`` from their routing task; one
    that routing never filed has none."""

    def upgrade_to(revision: str) -> Any:
        def go(conn: Connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

        return go

    at = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    engine = make_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade_to("0008"))
        async with engine.begin() as conn:
            await conn.execute(
                insert(tables.channels).values(
                    id="ch", kind="webchat", name="Chat", created_at=at, options={}, enabled=True
                )
            )
            await conn.execute(
                insert(tables.contacts).values(
                    id="ct", display_name="Ann", created_at=at, phone="", email=""
                )
            )
            for cid in ("filed", "never"):
                await conn.execute(
                    insert(tables.conversations).values(
                        id=cid,
                        channel_id="ch",
                        contact_id="ct",
                        status="queued",
                        created_at=at,
                        updated_at=at,
                        last_message_seq=1,
                        unread_count=1,
                        subject="",
                        preview="",
                        contact_name="Ann",
                        channel_kind="webchat",
                        thread_key="t",
                    )
                )
            await conn.execute(
                insert(tables.routing_tasks).values(
                    conversation_id="filed",
                    queue_id="q-sales",
                    status="waiting",
                    channel_kind="webchat",
                    started_at=at,
                    entered_queue_at=at,
                    updated_at=at,
                    priority=0,
                    declined_by=[],
                    extra_skills={},
                )
            )
        async with engine.begin() as conn:
            await conn.run_sync(upgrade_to("head"))
        async with engine.connect() as conn:
            c = tables.conversations.c
            rows = dict((await conn.execute(select(c.id, c.queue_id))).all())
    finally:
        await engine.dispose()
    assert rows == {"filed": "q-sales", "never": None}
