"""Backing up and restoring the SQLite database (``inbox backup`` / ``inbox restore``).

Backup uses SQLite's online backup API (``sqlite3.Connection.backup``): it copies a
consistent snapshot page by page while the server keeps running and writing (a write
that lands during the copy makes SQLite restart the copy, so the result is always one
point in time), WAL included. The copy is then checked (``PRAGMA integrity_check``)
before the command reports success. Restore copies a checked backup into the configured
database the same way -- through SQLite, so its WAL and shared memory stay consistent --
and the caller migrates it to the current schema afterwards. Restore needs the server
stopped: it waits ``busy_seconds`` for the write lock and fails otherwise.

PostgreSQL has ``pg_dump`` / ``pg_restore`` for this (docs/reliability.md); these
functions refuse a PostgreSQL URL with that advice.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.engine import normalise_url

__all__ = ["BackupError", "BackupResult", "backup_sqlite", "restore_sqlite", "sqlite_path"]

PG_ADVICE = (
    "the database is PostgreSQL: back it up with pg_dump --format=custom --file=FILE "
    "DATABASE and restore with pg_restore --clean --dbname=DATABASE FILE (docs/reliability.md)"
)


class BackupError(Exception):
    """The backup or restore could not be made; the message says why. Nothing was
    changed in the configured database."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: str
    bytes: int
    pages: int


def sqlite_path(url: str) -> Path:
    """The database file of a SQLite URL; :class:`BackupError` for PostgreSQL."""
    parsed = normalise_url(make_url(url))
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(PG_ADVICE)
    database = parsed.database or ""
    if database in ("", ":memory:"):
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(database).expanduser()


def backup_sqlite(url: str, destination: Path, *, busy_seconds: float = 30.0) -> BackupResult:
    """A checked copy of the database of ``url`` at ``destination`` (which must not
    exist: a backup never overwrites anything)."""
    source_path = sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"there is no database at {source_path}")
    if destination.exists():
        raise BackupError(f"{destination} exists already; a backup never overwrites")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with (
            closing(_connect(source_path, busy_seconds)) as source,
            closing(_connect(partial, busy_seconds)) as copy,
        ):
            source.backup(copy, pages=256, progress=_deadline(busy_seconds))
            pages = int(copy.execute("PRAGMA page_count").fetchone()[0])
            _check(copy, partial)
        partial.replace(destination)
    except _InUse as exc:
        raise BackupError(f"the database stayed locked for {busy_seconds:g} s") from exc
    except sqlite3.Error as exc:
        raise BackupError(f"the backup failed: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(str(destination), destination.stat().st_size, pages)


def restore_sqlite(url: str, source: Path, *, busy_seconds: float = 5.0) -> BackupResult:
    """Replace the database of ``url`` with the checked backup ``source``. The server
    must be stopped; migrate afterwards."""
    target_path = sqlite_path(url)
    if not source.is_file():
        raise BackupError(f"there is no backup at {source}")
    in_use = "the database is in use: stop the server before restoring"
    try:
        with closing(_connect(source, busy_seconds)) as backup:
            _check(backup, source)
            if not _has_table(backup, "alembic_version"):
                raise BackupError(f"{source} is not a backup of this server's database")
            target_path.parent.mkdir(parents=True, exist_ok=True)
            with closing(_connect(target_path, busy_seconds)) as target:
                # sqlite3's backup loop waits for a locked destination for ever; the
                # progress callback gives up after busy_seconds instead.
                backup.backup(target, pages=256, progress=_deadline(busy_seconds))
                pages = int(target.execute("PRAGMA page_count").fetchone()[0])
    except _InUse as exc:
        raise BackupError(in_use) from exc
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise BackupError(in_use) from exc
        raise BackupError(f"the restore failed: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is not a SQLite database: {exc}") from exc
    return BackupResult(str(target_path), target_path.stat().st_size, pages)


class _InUse(Exception):
    """A backup step found its database locked for longer than allowed."""


def _deadline(seconds: float) -> Callable[[int, int, int], None]:
    """A backup progress callback that aborts the copy once SQLite has answered
    "busy"/"locked" for ``seconds`` in a row (a step that copies pages resets it)."""
    since: list[float] = []

    def progress(status: int, _remaining: int, _total: int) -> None:
        if status not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            since.clear()
            return
        if not since:
            since.append(time.monotonic())
        elif time.monotonic() - since[0] > seconds:
            raise _InUse

    return progress


def _connect(path: Path, busy_seconds: float) -> sqlite3.Connection:
    return sqlite3.connect(str(path), timeout=busy_seconds, isolation_level=None)


def _check(conn: sqlite3.Connection, path: Path) -> None:
    answer = conn.execute("PRAGMA integrity_check").fetchone()
    if answer is None or answer[0] != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check: {answer}")


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,))
    return row.fetchone() is not None
