"""SQLite's worker threads (storage.sqlite_threads): where works run, how their outcomes
come back, and what survives failures, cancellation and close.

SQLite only: the rules of group commit themselves run on both databases in
test_storage_group_commit.py. Some works here block the writer thread on a
``threading.Event`` on purpose, to hold a work "running" while the test acts; that is only
possible because the work does not run on the event loop. Nothing here measures time.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from inbox.domain.errors import Conflict
from inbox.domain.ids import OperatorId
from inbox.domain.operators import Operator
from inbox.ports import Tx
from storage import SqlStore, migrate, open_store
from storage.engine import make_sqlite_sync_engine
from storage.repositories.base import SqlConnection
from storage.sqlite_threads import SyncConnection, drive
from tests.storage.builders import make_operator

WRITER = "storage-sqlite-writer"
READER = "storage-sqlite-reader"


class Boom(Exception):
    pass


class Fatal(BaseException):
    """Not an Exception: what the writer must survive although the rules do not catch it."""


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-threads") / "template.db"
    asyncio.run(migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
def sqlite_url(_template: Path, tmp_path: Path) -> str:
    """A migrated, empty SQLite database of this test's own."""
    path = tmp_path / "inbox.db"
    for suffix in ("", "-wal"):
        source = Path(f"{_template}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{path}{suffix}")
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[SqlStore]:
    opened = await open_store(sqlite_url)
    try:
        yield opened
    finally:
        await opened.close()


def adding(operator: Operator) -> Callable[[Tx], Awaitable[OperatorId]]:
    async def work(tx: Tx) -> OperatorId:
        await tx.operators.add(operator)
        return operator.id

    return work


async def _logins(store: SqlStore) -> set[str]:
    return {o.login for o in await store.read(lambda tx: tx.operators.list())}


def _worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(("storage-sqlite-",))]


# --------------------------------------------------------------------------- where works run


async def test_works_run_in_the_writer_thread_and_callers_resume_on_their_loop(
    store: SqlStore,
) -> None:
    ran_in: list[str] = []

    async def work(tx: Tx) -> int:
        ran_in.append(threading.current_thread().name)
        await tx.operators.add(make_operator())
        return threading.get_ident()

    tasks = [asyncio.ensure_future(store.transact(work)) for _ in range(5)]
    resumed_in: list[int] = []
    for task in tasks:
        task.add_done_callback(lambda _: resumed_in.append(threading.get_ident()))
    idents = await asyncio.gather(*tasks)

    assert ran_in == [WRITER] * 5
    assert len(set(idents)) == 1
    assert idents[0] != threading.get_ident()
    # The futures were completed on the loop's own thread (call_soon_threadsafe).
    assert resumed_in == [threading.get_ident()] * 5


async def test_reads_run_in_reader_threads(store: SqlStore) -> None:
    async def where(tx: Tx) -> str:
        await tx.operators.list()
        return threading.current_thread().name

    names = await asyncio.gather(*(store.read(where) for _ in range(10)))
    assert {name.rsplit("-", 1)[0] for name in names} == {READER}


# --------------------------------------------------------------------------- failures


async def test_an_exception_inside_a_work_reaches_its_caller(store: SqlStore) -> None:
    before_writing = Boom("a domain check failed")
    after_writing = Boom("after a write")

    async def refusing(tx: Tx) -> None:
        await tx.operators.list()
        raise before_writing

    async def failing(tx: Tx) -> None:
        await tx.operators.add(make_operator(login="ghost"))
        raise after_writing

    with pytest.raises(Boom) as caught:
        await store.transact(refusing)
    assert caught.value is before_writing
    with pytest.raises(Boom) as caught:
        await store.transact(failing)
    assert caught.value is after_writing
    with pytest.raises(Boom) as caught:
        await store.read(failing)
    assert caught.value is after_writing
    assert await _logins(store) == set()


async def test_integrity_retry_and_conflict_in_the_writer_thread(store: SqlStore) -> None:
    await store.transact(adding(make_operator(login="amy")))
    attempts: list[str] = []

    async def stubborn(tx: Tx) -> None:
        attempts.append(threading.current_thread().name)
        await tx.operators.add(make_operator(login="amy"))

    bob = make_operator(login="bob")
    results = await asyncio.gather(
        store.transact(stubborn), store.transact(adding(bob)), return_exceptions=True
    )
    # In the batch, then alone in a savepoint: the second integrity error is a Conflict,
    # and the work that shared the spoiled batch still committed.
    assert isinstance(results[0], Conflict)
    assert isinstance(results[0].__cause__, IntegrityError)
    assert results[1] == bob.id
    assert attempts == [WRITER, WRITER]
    assert await _logins(store) == {"amy", "bob"}


async def test_a_work_that_finds_the_row_on_its_retry_succeeds(store: SqlStore) -> None:
    existing = make_operator(login="amy")
    await store.transact(adding(existing))
    attempts = 0

    async def racy_create(tx: Tx) -> OperatorId:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            found = await tx.operators.get_by_login("amy")
            assert found is not None
            return found.id
        duplicate = make_operator(login="amy")
        await tx.operators.add(duplicate)
        return duplicate.id

    assert await store.transact(racy_create) == existing.id
    assert attempts == 2


async def test_a_base_exception_fails_its_batch_not_the_threads(
    store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    async def fatal(tx: Tx) -> None:
        await tx.operators.add(make_operator(login="ghost"))
        raise Fatal

    with caplog.at_level(logging.ERROR, "storage"):
        with pytest.raises(RuntimeError, match="writer failed"):
            await store.transact(fatal)
        with pytest.raises(RuntimeError, match="read failed"):
            await store.read(fatal)
    assert "storage writer failed on a batch" in caplog.text
    assert await store.transact(adding(make_operator(login="amy")))
    assert await _logins(store) == {"amy"}


async def test_a_work_that_awaits_something_else_fails_instead_of_hanging(
    store: SqlStore,
) -> None:
    """Documented in storage.sqlite_threads.drive: a bare yield continues; anything that
    would suspend fails the work with RuntimeError, and the threads go on."""

    async def yielding(tx: Tx) -> str:
        await asyncio.sleep(0)
        await tx.operators.add(make_operator(login="amy"))
        return "done"

    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def waiting(tx: Tx) -> None:
        await tx.operators.add(make_operator(login="ghost"))
        await never

    async def sleeping(tx: Tx) -> None:
        await asyncio.sleep(0.01)

    assert await store.transact(yielding) == "done"
    with pytest.raises(RuntimeError, match="other than the database"):
        await store.transact(waiting)
    with pytest.raises(RuntimeError, match="other than the database"):
        await store.read(waiting)
    with pytest.raises(RuntimeError, match="no running event loop"):
        await store.transact(sleeping)
    assert await _logins(store) == {"amy"}


# --------------------------------------------------------------------------- cancellation


async def test_a_caller_cancelled_while_its_work_runs_does_not_break_the_writer(
    store: SqlStore,
) -> None:
    started, release = threading.Event(), threading.Event()

    async def slow(tx: Tx) -> str:
        await tx.operators.add(make_operator(login="slow"))
        started.set()
        release.wait(timeout=30)  # holds the writer thread
        return "slow"

    caller = asyncio.create_task(store.transact(slow))
    assert await asyncio.to_thread(started.wait, 30)
    caller.cancel()
    ran_behind = False

    async def behind(tx: Tx) -> str:
        nonlocal ran_behind
        ran_behind = True
        return "behind"

    # Queued while the writer is busy; its caller gives up before the work starts.
    skipped = asyncio.create_task(store.transact(behind))
    await asyncio.sleep(0)
    skipped.cancel()
    after = asyncio.create_task(store.transact(adding(make_operator(login="after"))))
    await asyncio.sleep(0)
    release.set()

    with pytest.raises(asyncio.CancelledError):
        await caller
    with pytest.raises(asyncio.CancelledError):
        await skipped
    assert await after
    assert not ran_behind
    # The running work was not undone by its caller's cancellation: only its outcome was
    # dropped (the contract of transact: cancelling a caller cancels its wait).
    assert await _logins(store) == {"slow", "after"}


# --------------------------------------------------------------------------- lifecycle


async def test_close_finishes_queued_works_then_joins_the_threads(sqlite_url: str) -> None:
    before = set(threading.enumerate())
    store = await open_store(sqlite_url, sqlite_readers=3)
    workers = [t for t in _worker_threads() if t not in before]
    assert sorted(t.name for t in workers) == [
        f"{READER}-0",
        f"{READER}-1",
        f"{READER}-2",
        WRITER,
    ]
    operators = [make_operator() for _ in range(20)]
    writes = [asyncio.ensure_future(store.transact(adding(o))) for o in operators]
    reads = [asyncio.ensure_future(store.read(lambda tx: tx.operators.list())) for _ in range(5)]
    await asyncio.sleep(0)  # let every caller queue its work

    await store.close()

    assert [w.result() for w in writes] == [o.id for o in operators]
    assert all(isinstance(r.result(), list) for r in reads)
    assert not [t for t in workers if t.is_alive()]
    with pytest.raises(RuntimeError, match="closed"):
        await store.transact(adding(make_operator()))
    with pytest.raises(RuntimeError, match="closed"):
        await store.read(lambda tx: tx.operators.list())
    await store.close()  # idempotent

    reopened = await open_store(sqlite_url)
    try:
        assert await _logins(reopened) == {o.login for o in operators}
    finally:
        await reopened.close()


async def test_a_reader_pool_needs_a_thread(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="at least one"):
        await open_store(sqlite_url, sqlite_readers=0)


# --------------------------------------------------------------------------- drive


def test_drive_runs_a_coroutine_without_a_loop() -> None:
    async def inner() -> int:
        await asyncio.sleep(0)  # a bare yield: continues at once
        return 41

    async def outer() -> int:
        return await inner() + 1

    assert drive(outer()) == 42


def test_drive_throws_into_a_coroutine_that_would_suspend() -> None:
    loop = asyncio.new_event_loop()
    try:
        pending = loop.create_future()
        seen: list[BaseException] = []

        async def waits() -> str:
            try:
                await pending
            except RuntimeError as exc:
                seen.append(exc)
                return "recovered"
            return "unreachable"

        assert drive(waits()) == "recovered"
        assert "other than the database" in str(seen[0])
    finally:
        loop.close()


def test_a_sync_connection_runs_statements_without_suspending(sqlite_url: str) -> None:
    engine = make_sqlite_sync_engine(sqlite_url)
    try:
        with engine.connect() as conn, conn.begin():
            sync: SqlConnection = SyncConnection(conn)  # what the repositories are given
            result = drive(sync.execute(text("SELECT :x + 1"), {"x": 41}))
            assert result.scalar_one() == 42
    finally:
        engine.dispose()
