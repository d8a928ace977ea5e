"""SQLite on synchronous pysqlite connections in worker threads.

Why: through aiosqlite every statement is two thread hand-offs (the event loop to
aiosqlite's thread and back), and through SQLAlchemy's async adaptation a statement costs
about 1 ms on a small server, while the statement itself takes tens of microseconds. An
ingest is ~7 statements. Here a worker thread owns a synchronous connection and runs a
whole unit of work — for the writer, a whole batch and its COMMIT — in that thread: one
hand-off to the thread and one back per batch, none per statement. docs/storage.md has
the numbers.

How: the works are ``async def work(tx)`` coroutines that touch the database only through
``tx`` (:class:`inbox.ports.Store`), and the repositories only ``await conn.execute``. A
thread gives them a :class:`SyncConnection`, whose ``execute`` runs the statement
synchronously and returns without ever suspending, so the coroutine of a whole batch
runs to its end in one ``send`` (:func:`drive`); no event loop is needed in the thread.

- :class:`SqliteWriter`: one thread (SQLite has one write lock anyway) that runs the group
  commit rules of :class:`storage.batcher.BatchRules` on its connection, with
  ``BEGIN IMMEDIATE``.
- :class:`SqliteReaders`: a few threads for ``store.read``; in WAL mode readers run
  concurrently with each other and with the writer.

Callers wait on an :class:`asyncio.Future` of their own loop; a thread resolves futures
with ``loop.call_soon_threadsafe``, once per batch and loop, and for writes only after the
COMMIT. Each thread opens its connection itself, uses it alone and closes it when it ends
(``check_same_thread`` is on). ``stop`` lets the threads finish every queued work, then
joins them: no thread outlives the store's ``close``. The threads are daemons only so that
a store nobody closed cannot keep the process from exiting.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from sqlalchemy import Result
from sqlalchemy.engine import Connection, Dialect, Engine, NestedTransaction
from sqlalchemy.sql import Executable

from storage.batcher import (
    STOP,
    BatchRules,
    Job,
    Outcome,
    Stop,
    TxFactory,
    Work,
    WriteConnection,
    cancelled_work,
    collect_batch,
    resolve,
)
from storage.engine import SQLITE_BEGIN_OPTION
from storage.repositories.base import Parameters
from storage.sqlite_prepared import DirectSqlite, PreparedStatements

__all__ = ["SqliteReaders", "SqliteWriter", "SyncConnection", "drive"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_SUSPENDED = (
    "a store work awaited something other than the database ({!r}); in the SQLite worker "
    "thread nothing could ever wake it up (a work may only await its tx)"
)


def drive(awaitable: Awaitable[T]) -> T:
    """Run ``awaitable`` (a coroutine, usually) to its end in this thread, without an
    event loop.

    Meant for coroutines that never suspend: units of work whose only awaits are the
    statements of a :class:`SyncConnection`. A bare yield (``await asyncio.sleep(0)``)
    simply continues, and so does anything that completes without suspending (a free
    ``asyncio.Lock``, a done future). Anything that would really suspend fails the work
    with an exception at that await instead of waiting: there is no loop here that could
    ever wake it, and waiting for the caller's loop while holding SQLite's write lock
    would invite deadlocks. A pending future gets a :class:`RuntimeError` thrown in;
    asyncio helpers that need a running loop raise by themselves (``asyncio.sleep(0.1)``,
    ``wait_for``, ``timeout``: RuntimeError; waiting on a fresh ``Event`` or ``Queue``:
    AttributeError). Either way the work fails, its caller gets the error (after the
    batch's other works were redone alone, if it had written), and the thread goes on:
    nothing hangs.
    """
    coro = awaitable if isinstance(awaitable, Coroutine) else _await(awaitable)
    error: BaseException | None = None
    while True:
        try:
            yielded = coro.send(None) if error is None else coro.throw(error)
        except StopIteration as stop:
            result: T = stop.value
            return result
        if yielded is None:
            error = None
            continue
        if getattr(yielded, "_asyncio_future_blocking", False):
            # As an asyncio Task does with a future it took: the next await of the same
            # future (the work may run again) then fails the same way, not differently.
            yielded._asyncio_future_blocking = False
        error = RuntimeError(_SUSPENDED.format(yielded))


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


class SyncConnection(DirectSqlite):
    """A synchronous :class:`Connection` behind the async interface of the repositories
    (:class:`storage.repositories.base.SqlConnection`) and of the batch rules
    (:class:`storage.batcher.WriteConnection`). No method ever suspends. The ``*_now``
    methods (:class:`storage.sqlite_prepared.DirectSqlite`) run the repositories'
    constant statements on the sqlite3 connection itself."""

    __slots__ = ()

    @property
    def dialect(self) -> Dialect:
        return self._conn.dialect

    async def execute(self, statement: Executable, parameters: Parameters = None, /) -> Result[Any]:
        # Not buffered: the repositories consume every result before their next statement,
        # and nothing else runs on this connection meanwhile.
        return self._conn.execute(statement, parameters)

    async def begin_nested(self) -> _SyncSavepoint:
        return _SyncSavepoint(self._conn.begin_nested())


class _SyncSavepoint:
    __slots__ = ("_savepoint",)

    def __init__(self, savepoint: NestedTransaction) -> None:
        self._savepoint = savepoint

    async def rollback(self) -> None:
        self._savepoint.rollback()

    async def commit(self) -> None:
        self._savepoint.commit()


class _ThreadConnection:
    """A worker thread's one connection: opened on first use, kept, closed when the thread
    ends. After a transaction that failed and left the connection in doubt it is closed
    (which rolls back whatever is left) and the next transaction opens a fresh one. Only
    ever used from its thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        #: The thread's plans of constant statements; they outlive a reopened connection.
        self.prepared = PreparedStatements()

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
        return self._conn

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Connection]:
        """A transaction on the connection, committed at the end of the block if
        ``commit``, otherwise rolled back; rolled back if the block raises."""
        conn = self._connection()
        try:
            # The context manager also rolls back after a COMMIT that failed.
            with conn.begin() as trans:
                yield conn
                if not commit:
                    trans.rollback()
        except BaseException:
            if _in_doubt(conn):
                self.close()
            raise

    @asynccontextmanager
    async def async_transaction(self) -> AsyncIterator[WriteConnection]:
        """:meth:`transaction` that commits, as :data:`storage.batcher.Transactions`."""
        with self.transaction(commit=True) as conn:
            yield SyncConnection(conn, self.prepared)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.close()
        except Exception:
            logger.warning("closing a SQLite worker connection failed", exc_info=True)


def _in_doubt(conn: Connection) -> bool:
    """Whether a connection whose transaction failed may be unfit for the next one:
    invalidated, or a transaction still open in SQLAlchemy or in SQLite (a COMMIT that
    failed before it reached SQLite leaves SQLite's transaction open)."""
    if conn.invalidated or conn.get_transaction() is not None:
        return True
    try:
        raw = conn.connection.dbapi_connection
    except Exception:
        return True
    return raw is None or bool(getattr(raw, "in_transaction", True))


def _hand_over(outcomes: Sequence[tuple[Job, Outcome]]) -> None:
    """From a worker thread: resolve the futures on their loops, one wake-up per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Job, Outcome]]] = {}
    for job, outcome in outcomes:
        job.answered = True
        by_loop.setdefault(job.future.get_loop(), []).append((job, outcome))
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve_all, items)
        except RuntimeError:  # the loop was closed: nobody is waiting any more
            logger.warning("dropped %d storage outcomes: their event loop is closed", len(items))


def _resolve_all(outcomes: list[tuple[Job, Outcome]]) -> None:
    for job, outcome in outcomes:
        resolve(job, outcome)


class _WorkerThreads(ABC):
    """Threads that take jobs from one queue, each with its own connection of ``engine``.

    Subclasses say what a thread does with the queue (:meth:`_serve`). Callers
    :meth:`submit` from their event loop; :meth:`stop` queues one :class:`Stop` per thread
    behind everything queued, then waits (without blocking the loop) until every thread
    ended and joins them.
    """

    def __init__(self, engine: Engine, *, name: str, threads: int) -> None:
        if threads < 1:
            raise ValueError("a worker pool needs at least one thread")
        self._engine = engine
        self._name = name
        self._count = threads
        self._queue: queue.SimpleQueue[Job | Stop] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        # Guards _running and the queue's last drain, so that no job is queued after it.
        self._lock = threading.Lock()
        self._running = 0
        self._ended: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._stopping = False

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("already started")
        self._threads = [
            threading.Thread(
                target=self._main,
                name=self._name if self._count == 1 else f"{self._name}-{n}",
                daemon=True,
            )
            for n in range(self._count)
        ]
        self._running = self._count
        for thread in self._threads:
            thread.start()

    async def submit(self, work: Work) -> Any:
        """Queue ``work`` and wait for its outcome. Cancelling the caller cancels only the
        wait: a job not yet started is skipped, the outcome of a running one dropped."""
        if self._stopping:
            raise RuntimeError("the store is closed")
        if not self._threads:
            raise RuntimeError("the store is not started")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        with self._lock:
            if not self._running:
                raise RuntimeError(f"the store's {self._name} threads have stopped (see the log)")
            self._queue.put(Job(work, future))
        return await future

    async def stop(self) -> None:
        """Refuse new works, finish every queued one, end and join the threads."""
        if self._stopping:
            return
        self._stopping = True
        if not self._threads:
            return
        for _ in self._threads:
            self._queue.put(STOP)
        await asyncio.wrap_future(self._ended)
        for thread in self._threads:
            thread.join()

    def _take(self) -> Job | Stop | None:
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    @abstractmethod
    def _serve(self, conn: _ThreadConnection) -> None:
        """Take jobs from the queue until a :class:`Stop`; in a worker thread."""

    def _main(self) -> None:
        conn = _ThreadConnection(self._engine)
        try:
            self._serve(conn)
        except BaseException:
            logger.exception("storage %s thread failed", self._name)
        finally:
            conn.close()
            self._thread_ended()

    def _thread_ended(self) -> None:
        with self._lock:
            self._running -= 1
            if self._running:
                return
            leftovers: list[Job] = []
            while (item := self._take()) is not None:
                if isinstance(item, Job):
                    leftovers.append(item)
        if leftovers:  # only if the threads died: stop() queues its Stops behind every job
            error = RuntimeError(f"the store's {self._name} threads have stopped")
            _hand_over([(job, Outcome(error=error)) for job in leftovers])
        self._ended.set_result(None)


class SqliteWriter(_WorkerThreads):
    """Group commit in a thread of its own: the rules of :class:`BatchRules` on one
    pysqlite connection of ``engine``, each transaction opened with ``BEGIN IMMEDIATE``
    (see :data:`storage.engine.SQLITE_BEGIN_OPTION`).

    A batch's coroutine runs in the thread by :func:`drive`; its futures are resolved on
    their loops after its COMMIT. A work that raises fails alone as the rules say; even a
    BaseException out of a work or a bug fails only the batch's callers, never the thread.
    """

    def __init__(self, engine: Engine, tx_factory: TxFactory, *, batch_max: int = 64) -> None:
        if batch_max < 1:
            raise ValueError("batch_max must be at least 1")
        super().__init__(
            engine.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"}),
            name="storage-sqlite-writer",
            threads=1,
        )
        self._tx_factory = tx_factory
        self._batch_max = batch_max

    def _serve(self, conn: _ThreadConnection) -> None:
        rules = BatchRules(conn.async_transaction, self._tx_factory)
        while True:
            first = self._queue.get()
            if isinstance(first, Stop):
                return
            batch, stop_after = collect_batch(first, self._take, self._batch_max)
            self._commit(rules, batch)
            if stop_after:
                return

    @staticmethod
    def _commit(rules: BatchRules, batch: list[Job]) -> None:
        # done() read across threads: a caller cancelled at this very moment still has its
        # work run, and its outcome is dropped on its loop, as for one cancelled later.
        jobs = [job for job in batch if not job.future.done()]
        if not jobs:
            return
        try:
            drive(rules.run(jobs, _hand_over))
        except BaseException:
            logger.exception("storage writer failed on a batch")
            error = RuntimeError("the store's writer failed on this batch (see the log)")
            _hand_over([(job, Outcome(error=error)) for job in jobs if not job.answered])


class SqliteReaders(_WorkerThreads):
    """``store.read`` on ``threads`` threads, each with a pysqlite connection of ``engine``:
    every read work runs in a (deferred) transaction of its own that is rolled back."""

    def __init__(self, engine: Engine, tx_factory: TxFactory, *, threads: int = 2) -> None:
        super().__init__(engine, name="storage-sqlite-reader", threads=threads)
        self._tx_factory = tx_factory

    def _serve(self, conn: _ThreadConnection) -> None:
        while True:
            job = self._queue.get()
            if isinstance(job, Stop):
                return
            if job.future.done():  # the caller gave up before we started
                continue
            try:
                outcome = self._read(conn, job)
            except Exception as exc:  # the ROLLBACK failed
                outcome = Outcome(error=exc)
            except BaseException:
                logger.exception("storage reader failed on a read")
                outcome = Outcome(error=RuntimeError("the read failed (see the log)"))
            _hand_over([(job, outcome)])

    def _read(self, conn: _ThreadConnection, job: Job) -> Outcome:
        with conn.transaction(commit=False) as sync:
            try:
                return Outcome(
                    result=drive(job.work(self._tx_factory(SyncConnection(sync, conn.prepared))))
                )
            except asyncio.CancelledError as exc:  # raised by the work: it failed
                return Outcome(error=cancelled_work(exc))
            except Exception as exc:
                return Outcome(error=exc)
