"""Group commit: many callers' units of work, one transaction, one COMMIT.

Why: a COMMIT is the expensive part of a small write (an fsync on SQLite, a round trip and
a WAL flush on PostgreSQL). Under load, works that queue up while one batch commits share
the next COMMIT, so throughput grows with load instead of collapsing. An idle store adds no
delay: a writer that finds one work runs it at once. docs/storage.md has the full design.

Rules, per batch:

1. The works of a batch run one after another in one transaction, without savepoints: a
   SAVEPOINT and its RELEASE are two more statements per work, and statements, not commits,
   are what a small write mostly costs here (``bench/bench_ingest.py``). A work that raises
   before it wrote anything (a domain check: not found, forbidden) simply fails; its
   caller gets the exception and the batch goes on.
2. A work that raises after it wrote (the repositories count writing statements), or any
   database error, spoils the batch's transaction: it is rolled back and every work of the
   batch runs again alone (rule 5).
3. Futures are resolved only after the COMMIT succeeded.
4. If the COMMIT fails, or PostgreSQL picks the batch as a deadlock or serialization
   victim, every work of the batch runs again alone (rule 5), so one bad work cannot fail
   the others.
5. Alone, a work runs in its own transaction and SAVEPOINT. An :class:`IntegrityError`
   rolls the savepoint back and runs the work once more in a fresh savepoint (it now sees
   the row that collided); a second one becomes :class:`~inbox.domain.errors.Conflict`.
   Deadlocks and serialization failures are retried a few times.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbox.domain.errors import Conflict
from inbox.ports import Tx

__all__ = ["GroupCommitter", "TxFactory", "Work"]

logger = logging.getLogger(__name__)

Work = Callable[[Tx], Awaitable[Any]]


class CountingTx(Tx, Protocol):
    """A :class:`~inbox.ports.Tx` that knows how many writing statements it has run."""

    @property
    def writes_done(self) -> int: ...


TxFactory = Callable[[AsyncConnection], CountingTx]


class _SpoiledBatch(Exception):
    """A work failed after writing, or the database failed: the batch must be redone."""


#: PostgreSQL SQLSTATEs after which the whole transaction is lost but a retry may succeed:
#: deadlock_detected and serialization_failure.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})

#: How often a work running alone is retried after a deadlock or serialization failure.
ALONE_ATTEMPTS = 3


@dataclass(slots=True)
class _Job:
    work: Work
    future: asyncio.Future[Any]
    #: Integrity errors this work has hit so far, in a batch or alone (rule 5 allows one).
    integrity_errors: int = 0


@dataclass(slots=True)
class _Outcome:
    result: Any = None
    error: BaseException | None = None


class _Stop:
    """Queued once per writer by :meth:`GroupCommitter.stop`, behind every queued work."""


_STOP = _Stop()


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE a driver attached to ``exc`` (asyncpg does; sqlite3 does not)."""
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return code if isinstance(code, str) else None
    return None


def _conflict(exc: IntegrityError) -> Conflict:
    # The driver's message names the constraint, never the values (the engine hides SQL
    # parameters), so it is safe to keep as the cause.
    conflict = Conflict("the write conflicts with stored data (a unique key or a reference)")
    conflict.__cause__ = exc
    return conflict


class GroupCommitter:
    """Owns the queue of pending works and the writer tasks that commit them in batches.

    ``engine`` should be the one the writers use (with any execution options set);
    ``writers`` is how many batches may be in flight at once.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        tx_factory: TxFactory,
        *,
        batch_max: int = 64,
        writers: int = 1,
    ) -> None:
        if batch_max < 1:
            raise ValueError("batch_max must be at least 1")
        if writers < 1:
            raise ValueError("writers must be at least 1")
        self._engine = engine
        self._tx_factory = tx_factory
        self._batch_max = batch_max
        self._writers = writers
        self._queue: asyncio.Queue[_Job | _Stop] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self) -> None:
        """Start the writer tasks (on the running loop)."""
        if self._tasks:
            raise RuntimeError("already started")
        self._tasks = [
            asyncio.create_task(self._writer(), name=f"storage-writer-{n}")
            for n in range(self._writers)
        ]
        for task in self._tasks:
            task.add_done_callback(self._writer_done)

    async def submit(self, work: Work) -> Any:
        """Queue ``work`` and wait until its batch committed; its result or its error."""
        if self._stopping:
            raise RuntimeError("the store is closed")
        if not self._tasks:
            raise RuntimeError("the store is not started")
        if all(t.done() for t in self._tasks):
            raise RuntimeError("the store's writer tasks have stopped (see the log)")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(work, future))
        # Cancelling the caller cancels the future; a writer skips a cancelled job that has
        # not started, and drops the outcome of one that has.
        return await future

    async def stop(self) -> None:
        """Refuse new works, finish every queued one, then end the writer tasks."""
        if self._stopping:
            return
        self._stopping = True
        for _ in self._tasks:
            self._queue.put_nowait(_STOP)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._fail_queued(RuntimeError("the store is closed"))

    # ------------------------------------------------------------------ writer loop

    async def _writer(self) -> None:
        while True:
            first = await self._queue.get()
            if isinstance(first, _Stop):
                return
            batch = [first]
            stop_after = False
            # Take what queued up meanwhile, never wait for more: an idle store commits a
            # lone work at once; batches form only under load.
            while len(batch) < self._batch_max:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if isinstance(item, _Stop):
                    stop_after = True
                    break
                batch.append(item)
            await self._commit(batch)
            if stop_after:
                return

    def _writer_done(self, task: asyncio.Task[None]) -> None:
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            logger.error("storage writer task failed", exc_info=exc)
        elif not self._stopping:
            logger.error("storage writer task ended before the store was closed")
        if not self._stopping and all(t.done() for t in self._tasks):
            self._fail_queued(RuntimeError("the store's writer tasks have stopped"))

    def _fail_queued(self, error: Exception) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if isinstance(item, _Job) and not item.future.done():
                item.future.set_exception(error)

    async def _commit(self, batch: list[_Job]) -> None:
        """Run ``batch`` and resolve every future in it, whatever happens."""
        jobs = [job for job in batch if not job.future.done()]
        try:
            if not jobs:
                return
            try:
                outcomes = await self._run_batch(jobs)
            except Exception as exc:  # the transaction is lost, not the works
                self._log_batch_failure(exc, len(jobs))
                for job in jobs:
                    _resolve(job, await self._run_alone(job))
            else:
                for job, outcome in zip(jobs, outcomes, strict=True):
                    _resolve(job, outcome)
        except BaseException as exc:
            # Cancellation or a bug above: no caller may wait forever.
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(RuntimeError("the store's writer stopped"))
            if not isinstance(exc, Exception):
                raise
            logger.exception("storage writer failed on a batch")

    @staticmethod
    def _log_batch_failure(exc: Exception, size: int) -> None:
        cause: BaseException = exc
        if isinstance(exc, _SpoiledBatch) and exc.__cause__ is not None:
            cause = exc.__cause__
            if _sqlstate(cause) not in RETRYABLE_SQLSTATES:
                # Expected now and then: a duplicate arriving twice, a command that failed.
                logger.debug(
                    "batch of %d spoiled by %s; running each work alone",
                    size,
                    type(cause).__name__,
                )
                return
        code = _sqlstate(cause)
        if code in RETRYABLE_SQLSTATES:
            logger.info("batch of %d hit SQLSTATE %s; running each work alone", size, code)
        else:
            # No traceback text beyond the exception: the engine hides SQL parameters.
            logger.warning(
                "batch of %d failed (%s: %s); running each work alone",
                size,
                type(cause).__name__,
                cause,
            )

    async def _run_batch(self, jobs: Sequence[_Job]) -> list[_Outcome]:
        """All of ``jobs`` in one transaction (rules 1-3). Raises if the batch must be
        redone: :class:`_SpoiledBatch`, or the database's error when it cannot commit."""
        async with self._engine.connect() as conn, conn.begin():
            tx = self._tx_factory(conn)
            outcomes = [await self._run_in_batch(tx, job) for job in jobs]
            # Leaving the block committed; only now may callers see the outcomes.
        return outcomes

    @staticmethod
    async def _run_in_batch(tx: CountingTx, job: _Job) -> _Outcome:
        writes_before = tx.writes_done
        try:
            return _Outcome(result=await job.work(tx))
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the writer itself is being cancelled
            if tx.writes_done != writes_before:
                raise _SpoiledBatch("a cancelled work left writes behind") from exc
            error = RuntimeError("the work was cancelled")
            error.__cause__ = exc
            return _Outcome(error=error)
        except IntegrityError as exc:
            job.integrity_errors += 1
            raise _SpoiledBatch("an integrity error") from exc
        except SQLAlchemyError as exc:
            raise _SpoiledBatch("a database error") from exc
        except Exception as exc:
            if tx.writes_done != writes_before:
                raise _SpoiledBatch("a failed work left writes behind") from exc
            return _Outcome(error=exc)

    async def _run_alone(self, job: _Job) -> _Outcome:
        """``job`` in a transaction of its own, retried after deadlocks."""
        for attempt in range(1, ALONE_ATTEMPTS + 1):
            try:
                async with self._engine.connect() as conn, conn.begin():
                    outcome = await self._run_in_savepoint(conn, self._tx_factory(conn), job)
                return outcome
            except Exception as exc:
                if _sqlstate(exc) in RETRYABLE_SQLSTATES and attempt < ALONE_ATTEMPTS:
                    continue
                return _Outcome(error=exc)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _run_in_savepoint(self, conn: AsyncConnection, tx: Tx, job: _Job) -> _Outcome:
        """Rules 1 and 2. Raises (the database's error) when the transaction itself is
        lost: a deadlock or serialization failure, or a savepoint that cannot be rolled
        back or released."""
        while True:
            savepoint = await conn.begin_nested()
            try:
                result = await job.work(tx)
            except IntegrityError as exc:
                await savepoint.rollback()
                job.integrity_errors += 1
                if job.integrity_errors >= 2:
                    return _Outcome(error=_conflict(exc))
                continue
            except asyncio.CancelledError as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # the writer itself is being cancelled
                # Something the work awaited was cancelled: the work failed, not the writer.
                await savepoint.rollback()
                error = RuntimeError("the work was cancelled")
                error.__cause__ = exc
                return _Outcome(error=error)
            except Exception as exc:
                if _sqlstate(exc) in RETRYABLE_SQLSTATES:
                    # PostgreSQL chose this transaction as the victim: the locks it holds for
                    # the other works are the problem, so the batch must start over (rule 4).
                    raise
                await savepoint.rollback()
                return _Outcome(error=exc)
            await savepoint.commit()
            return _Outcome(result=result)


def _resolve(job: _Job, outcome: _Outcome) -> None:
    if job.future.done():  # the caller was cancelled meanwhile
        return
    if outcome.error is not None:
        job.future.set_exception(outcome.error)
    else:
        job.future.set_result(outcome.result)
