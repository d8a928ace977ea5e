"""Engine construction for the two supported databases (docs/storage.md).

- SQLite: the embedded default. WAL, so readers never block the writer. The store runs its
  work on synchronous pysqlite connections in worker threads (:func:`make_sqlite_sync_engine`,
  :mod:`storage.sqlite_threads`); migrations and :func:`make_engine` use aiosqlite.
- PostgreSQL through asyncpg: production, several server processes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

__all__ = ["SQLITE_BEGIN_OPTION", "make_engine", "make_sqlite_sync_engine", "normalise_url"]

#: Execution option naming the statement that opens a SQLite transaction. The store's
#: writer uses ``BEGIN IMMEDIATE``: it takes the write lock up front, so a transaction that
#: read first cannot fail later with SQLITE_BUSY when it wants to write (busy_timeout cannot
#: help a deferred transaction whose snapshot went stale).
SQLITE_BEGIN_OPTION = "inbox_sqlite_begin"

#: How long a SQLite connection waits for another process's write lock (the CLI writing
#: while the server runs) before failing, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 5000

#: Query parameter of a PostgreSQL URL naming the schema to use (``search_path``). Tests
#: get a fresh schema each; a deployment may use it to share one database.
SCHEMA_PARAM = "schema"


def normalise_url(url: str | URL) -> URL:
    """The URL with its async driver made explicit (``postgresql://`` → asyncpg,
    ``sqlite://`` → aiosqlite). Raises ValueError for any other database or driver."""
    parsed = make_url(url)
    # Parsed by hand: asking SQLAlchemy for the default driver would import its dialect.
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite", "aiosqlite"):
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres") and driver in ("", "asyncpg"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(
        f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://..."
    )


def make_engine(url: str | URL, *, connect_args: Mapping[str, Any] | None = None) -> AsyncEngine:
    """An :class:`AsyncEngine` for ``url``, configured for this application.

    Does no I/O except creating the parent directory of a SQLite file. A PostgreSQL URL may
    carry ``?schema=NAME``; every connection then uses that schema (``search_path``).

    SQL parameters are hidden from error messages and logs, because they carry message
    bodies and channel credentials.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, dict(connect_args or {}))
    return _postgres_engine(parsed, dict(connect_args or {}))


def make_sqlite_sync_engine(
    url: str | URL, *, connect_args: Mapping[str, Any] | None = None
) -> Engine:
    """A synchronous pysqlite :class:`Engine` on the SQLite database of ``url`` (any SQLite
    driver may be named), with the same connection setup as :func:`make_engine`.

    The store's worker threads use it (:mod:`storage.sqlite_threads`). It does not pool:
    each thread opens one connection, keeps it, and closes it itself. ``check_same_thread``
    stays on (SQLAlchemy turns it off for file databases to suit its pool), so a sqlite3
    object used from a thread other than its own raises instead of misbehaving.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise ValueError("make_sqlite_sync_engine needs a SQLite URL")
    _prepare_sqlite_file(parsed)
    engine = create_engine(
        parsed.set(drivername="sqlite+pysqlite"),
        connect_args={"check_same_thread": True, **(connect_args or {})},
        hide_parameters=True,
        poolclass=NullPool,
    )
    _configure_sqlite(engine)
    return engine


def _prepare_sqlite_file(url: URL) -> None:
    database = url.database or ""
    if database in ("", ":memory:") or "mode=memory" in database:
        # One in-memory connection would be shared by the writer and the readers, and a
        # reader's ROLLBACK would discard the writer's batch.
        raise ValueError("an in-memory SQLite database is not supported; use a file")
    if not url.query.get("uri"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_engine(url: URL, connect_args: dict[str, Any]) -> AsyncEngine:
    _prepare_sqlite_file(url)
    engine = create_async_engine(url, connect_args=connect_args, hide_parameters=True)
    _configure_sqlite(engine.sync_engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    """Connection setup shared by the aiosqlite and the pysqlite engines."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # SQLAlchemy's documented recipe for working SAVEPOINTs (and transactional DDL) on
        # the sqlite3/aiosqlite driver: switch the driver's own transaction handling off
        # here and emit BEGIN ourselves in _on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            _switch_to_wal(cursor)
            # FULL: the WAL is synced at every COMMIT, so what was acknowledged survives
            # a power cut (NORMAL could lose the last commits). Group commit makes it one
            # sync per batch: no measurable cost on the ingest benchmark (docs/storage.md).
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        begin = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "BEGIN")
        conn.exec_driver_sql(begin)


def _switch_to_wal(cursor: Any) -> None:
    """WAL mode is stored in the file, so only a new file needs the switch. Switching needs
    the file to itself, and SQLite answers "database is locked" at once, without its busy
    handler, when another process opens the same new file at that moment (two servers
    starting together): retry for as long as the busy timeout would have waited."""
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _postgres_engine(url: URL, connect_args: dict[str, Any]) -> AsyncEngine:
    schema = url.query.get(SCHEMA_PARAM)
    if schema is not None:
        if not isinstance(schema, str):
            raise ValueError(f"give {SCHEMA_PARAM}= once in the database URL")
        url = url.difference_update_query([SCHEMA_PARAM])
        settings = dict(connect_args.get("server_settings") or {})
        settings["search_path"] = schema
        connect_args["server_settings"] = settings
    return create_async_engine(
        url,
        connect_args=connect_args,
        hide_parameters=True,
        # The store's writers (4 by default) plus concurrent reads; overflow absorbs bursts.
        pool_size=10,
        max_overflow=20,
        pool_timeout=30,
        # A server restart or an idle-killing proxy leaves dead connections in the pool;
        # one cheap round trip per checkout finds them before a transaction does.
        pool_pre_ping=True,
        pool_recycle=1800,
    )
