"""``inbox backup`` and ``inbox restore`` (storage/backup.py) on real SQLite files: a
backup taken while a store writes is a consistent, checked copy; a restore brings it back
into an empty place and migrates it; refusals exit non-zero and change nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from inbox.bus import InProcessEventBus
from inbox.domain.channels import ChannelKind
from inbox.domain.clock import SystemClock
from inbox.domain.content import Text
from inbox.domain.messages import InboundMessage, SenderProfile
from inbox.usecases import Core, add_channel, ingest_inbound
from server.channels import CATALOG
from server.cli import main
from storage import migrate, open_store


def _use(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db: Path) -> None:
    monkeypatch.setenv("INBOX_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    monkeypatch.setenv("INBOX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INBOX_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("INBOX_LOG_LEVEL", "WARNING")


def _messages(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM messages").fetchone()[0])


async def test_a_backup_taken_while_writing_restores_to_a_working_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "live.db"
    url = f"sqlite+aiosqlite:///{live}"
    await migrate(url)
    store = await open_store(url)
    core = Core(store=store, bus=InProcessEventBus(), clock=SystemClock(), channels=CATALOG)
    channel = await add_channel(core, ChannelKind("webchat"), "Site", {})

    async def write(n: int) -> None:
        await ingest_inbound(
            core,
            InboundMessage(channel.id, f"m{n}", SenderProfile(f"v{n % 7}"), (Text(f"№{n}"),)),
        )

    try:
        await asyncio.gather(*(write(n) for n in range(20)))
        _use(monkeypatch, tmp_path, live)
        copy = tmp_path / "backups" / "inbox-1.db"
        # The server keeps writing while the backup runs.
        writing = asyncio.gather(*(write(n) for n in range(20, 60)))
        code = await asyncio.to_thread(main, ["backup", str(copy)])
        await writing
    finally:
        await store.close()
    out, err = capsys.readouterr()
    assert code == 0, err
    assert '"path"' in out
    assert str(copy) in out
    backed_up = _messages(copy)
    assert 20 <= backed_up <= 60  # one point in time during the writes
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    restored = tmp_path / "restored" / "inbox.db"
    _use(monkeypatch, tmp_path, restored)
    assert await asyncio.to_thread(main, ["restore", str(copy)]) == 0
    assert _messages(restored) == backed_up
    reopened = await open_store(f"sqlite+aiosqlite:///{restored}")
    try:
        count = await reopened.read(lambda tx: tx.outbox.pending_count())
        assert count == 0
    finally:
        await reopened.close()


def test_refusals_exit_non_zero_and_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "inbox.db"
    asyncio.run(migrate(f"sqlite+aiosqlite:///{db}"))
    _use(monkeypatch, tmp_path, db)
    taken = tmp_path / "taken.db"
    taken.write_bytes(b"keep me")
    assert main(["backup", str(taken)]) == 1
    assert "never overwrites" in capsys.readouterr().err
    assert taken.read_bytes() == b"keep me"

    assert main(["restore", str(taken)]) == 1  # not a database
    assert "not a SQLite database" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "missing.db")]) == 1
    assert "no backup" in capsys.readouterr().err

    good = tmp_path / "good.db"
    assert main(["backup", str(good)]) == 0
    capsys.readouterr()
    # A server holding the write lock: the restore refuses instead of waiting for ever.
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert main(["restore", str(good)]) == 1
        assert "stop the server" in capsys.readouterr().err
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_postgresql_gets_the_pg_dump_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(monkeypatch, tmp_path, tmp_path / "x.db")
    monkeypatch.setenv("INBOX_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1/test")
    assert main(["backup", str(tmp_path / "b.db")]) == 2
    assert "pg_dump" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "b.db")]) == 2
    assert "pg_restore" in capsys.readouterr().err
