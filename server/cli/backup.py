"""``inbox backup PATH`` and ``inbox restore PATH`` (docs/reliability.md, "Backups").

``backup`` copies the SQLite database online (the server may keep running) into a new
file, checks the copy and prints ``{"path", "bytes", "pages"}``; ``restore`` puts a
checked backup in the configured database's place (stop the server first) and migrates
it to the current schema. On PostgreSQL both exit 2 with the ``pg_dump`` /
``pg_restore`` commands to use instead. Failures exit 1 and change nothing."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from server.cli.common import print_json
from server.config import Settings
from storage import migrate
from storage.backup import PG_ADVICE, BackupError, backup_sqlite, restore_sqlite

__all__ = ["register"]


def register(sub: Any) -> None:
    backup = sub.add_parser("backup", help="copy the SQLite database online into a new file")
    backup.add_argument("path", type=Path)
    backup.set_defaults(handler=_backup)
    restore = sub.add_parser("restore", help="replace the database with a backup (server stopped)")
    restore.add_argument("path", type=Path)
    restore.set_defaults(handler=_restore)


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    return _run(lambda: backup_sqlite(settings.database_url, args.path), settings)


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    def restore() -> object:
        result = restore_sqlite(settings.database_url, args.path)
        asyncio.run(migrate(settings.database_url))  # an older backup gets today's schema
        return result

    return _run(restore, settings)


def _run(action: Any, settings: Settings) -> int:
    try:
        result = action()
    except BackupError as exc:
        message = str(exc)
        print(f"inbox: {message}", file=sys.stderr)
        return 2 if message == PG_ADVICE else 1
    print_json({"path": result.path, "bytes": result.bytes, "pages": result.pages})
    return 0
