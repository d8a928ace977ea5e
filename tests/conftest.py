"""Fixtures shared by every test package.

Each of these runs a test once per backend: ``sqlite`` and ``postgres`` (marked
``postgres``; ``-m "not postgres"`` deselects those runs). The PostgreSQL server comes from
``INBOX_TEST_POSTGRES_URL`` (e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``).
Without it the PostgreSQL runs are skipped, with the reason, unless ``CI=true``: there they
fail, because CI must never skip PostgreSQL silently.

``database_url``
    A migrated database that no other test sees and that starts empty: on SQLite a fresh
    file in ``tmp_path``; on PostgreSQL a schema of its own (the URL carries
    ``?schema=...``, which :func:`storage.make_engine` turns into the ``search_path``, so
    an application under test needs no other setting). Pass it to the app as its database
    URL; the app's own ``migrate`` at start-up is then a quick no-op.

``store``
    An open :class:`storage.SqlStore` on ``database_url``, closed after the test.

``empty_database_url``
    Like ``database_url`` but not migrated (migration tests). Do not combine it with the
    other two in one test: each is parametrised on its own.

Speed: migrating takes ~0.1 s, so each test module migrates once per backend. SQLite tests
get a copy of the module's migrated file; PostgreSQL tests share the module's schema,
emptied (``DELETE``, children first) before each test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url

from storage import SqlStore, make_engine, migrate, open_store, sqlite_prepared
from storage.tables import metadata
from tests.ci import in_ci

# Every read that the SQLite threads run from a plan (storage/sqlite_prepared.py) is
# compared with SQLAlchemy's own result in every test of the suite.
sqlite_prepared.VERIFY = True

POSTGRES_URL_ENV = "INBOX_TEST_POSTGRES_URL"

_BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def _postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_URL_ENV, "").strip()
    if url:
        return url
    missing = (
        f"{POSTGRES_URL_ENV} is not set (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)"
    )
    if in_ci():
        pytest.fail(f"CI=true requires the PostgreSQL tests, but {missing}", pytrace=False)
    pytest.skip(f"{missing}: PostgreSQL variant skipped")


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _with_schema(base_url: str, schema: str) -> str:
    url = make_url(base_url).update_query_dict({"schema": schema})
    return url.render_as_string(hide_password=False)


def _new_schema_name() -> str:
    # Lowercase letters, digits and underscores: safe unquoted in SQL.
    return f"test_{uuid.uuid4().hex[:20]}"


async def _execute(url: str, *statements: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _empty_tables(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(delete(table))
    finally:
        await engine.dispose()


def _copy_sqlite(template: Path, path: Path) -> None:
    # Closing migrate()'s engine checkpointed the WAL into the file; copy leftovers anyway.
    for suffix in ("", "-wal"):
        source = Path(f"{template}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{path}{suffix}")


@dataclass(frozen=True, slots=True)
class _Migrated:
    """A module's migrated database: a SQLite file to copy, or a PostgreSQL URL to share."""

    sqlite_template: Path | None = None
    postgres_url: str | None = None


# Module-scoped fixtures below are synchronous and drive their own short event loop with
# asyncio.run: no test's loop is running while they set up or tear down.


@pytest.fixture(scope="module", params=_BACKENDS)
def _migrated_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[_Migrated]:
    if request.param == "sqlite":
        template = tmp_path_factory.mktemp("migrated") / "template.db"
        asyncio.run(migrate(_sqlite_url(template)))
        yield _Migrated(sqlite_template=template)
        return
    base = _postgres_base_url()
    schema = _new_schema_name()
    asyncio.run(_execute(base, f"CREATE SCHEMA {schema}"))
    try:
        url = _with_schema(base, schema)
        asyncio.run(migrate(url))
        yield _Migrated(postgres_url=url)
    finally:
        asyncio.run(_execute(base, f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


@pytest.fixture
async def database_url(_migrated_backend: _Migrated, tmp_path: Path) -> str:
    """A migrated, empty database of this test's own (see the module docstring)."""
    if _migrated_backend.sqlite_template is not None:
        path = tmp_path / "inbox.db"
        await asyncio.to_thread(_copy_sqlite, _migrated_backend.sqlite_template, path)
        return _sqlite_url(path)
    assert _migrated_backend.postgres_url is not None
    await _empty_tables(_migrated_backend.postgres_url)
    return _migrated_backend.postgres_url


@pytest.fixture(params=_BACKENDS)
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database without any table, dropped afterwards."""
    if request.param == "sqlite":
        yield _sqlite_url(tmp_path / "empty.db")
        return
    base = _postgres_base_url()
    schema = _new_schema_name()
    await _execute(base, f"CREATE SCHEMA {schema}")
    try:
        yield _with_schema(base, schema)
    finally:
        await _execute(base, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    """An open store on ``database_url``; closed after the test."""
    opened = await open_store(database_url)
    try:
        yield opened
    finally:
        await opened.close()
