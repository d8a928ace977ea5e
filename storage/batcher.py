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

The rules live in :class:`BatchRules` alone, written against small async interfaces
(:data:`Transactions`, :class:`WriteConnection`) so that two runners share them:

- :class:`storage.group_commit.GroupCommitter`: writer tasks on the event loop,
  connections from an :class:`~sqlalchemy.ext.asyncio.AsyncEngine` — PostgreSQL through
  asyncpg.
- :class:`storage.sqlite_threads.SqliteWriter`: one thread with a synchronous pysqlite
  connection, which drives each batch's coroutine itself — SQLite.

A runner queues :class:`Job` s, takes them in batches (:func:`collect_batch`), asks
:meth:`BatchRules.run` to run a batch, and resolves each job's future with the
:class:`Outcome` handed over to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from inbox.domain.errors import Conflict
from inbox.ports import Tx
from storage.repositories.base import SqlConnection

__all__ = [
    "STOP",
    "BatchRules",
    "Committer",
    "HandOver",
    "Job",
    "Outcome",
    "Savepoint",
    "Stop",
    "Transactions",
    "TxFactory",
    "Work",
    "WriteConnection",
    "cancelled_work",
    "collect_batch",
    "resolve",
]

logger = logging.getLogger(__name__)

Work = Callable[[Tx], Awaitable[Any]]


class CountingTx(Tx, Protocol):
    """A :class:`~inbox.ports.Tx` that knows how many writing statements it has run."""

    @property
    def writes_done(self) -> int: ...


TxFactory = Callable[[SqlConnection], CountingTx]


class Savepoint(Protocol):
    """A SAVEPOINT that was started (an ``AsyncTransaction`` from ``begin_nested``)."""

    async def rollback(self) -> None: ...

    async def commit(self) -> None:
        """RELEASE the savepoint."""


class WriteConnection(SqlConnection, Protocol):
    """The connection of an open transaction, as the rules need it."""

    def begin_nested(self) -> Awaitable[Savepoint]: ...


#: Opens a transaction and gives its connection; the block's end commits it, an exception
#: rolls it back and propagates. A failed COMMIT raises from the block's end.
Transactions = Callable[[], AbstractAsyncContextManager[WriteConnection]]


class Committer(Protocol):
    """What :class:`storage.store.SqlStore` needs of a runner."""

    def start(self) -> None: ...

    async def submit(self, work: Work) -> Any: ...

    async def stop(self) -> None: ...


class _SpoiledBatch(Exception):
    """A work failed after writing, or the database failed: the batch must be redone."""


#: PostgreSQL SQLSTATEs after which the whole transaction is lost but a retry may succeed:
#: deadlock_detected and serialization_failure.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})

#: How often a work running alone is retried after a deadlock or serialization failure.
ALONE_ATTEMPTS = 3


@dataclass(slots=True, eq=False)
class Job:
    """One caller's work and the future it waits on (created on the caller's loop)."""

    work: Work
    future: asyncio.Future[Any]
    #: Integrity errors this work has hit so far, in a batch or alone (rule 5 allows one).
    integrity_errors: int = 0
    #: Set by the runner once it handed an outcome over: the safety net answers the rest.
    answered: bool = False


@dataclass(slots=True)
class Outcome:
    result: Any = None
    error: BaseException | None = None


#: Receives committed outcomes (rule 3), one call per transaction that committed them.
HandOver = Callable[[Sequence[tuple[Job, Outcome]]], None]


class Stop:
    """Queued once per writer by a runner's ``stop``, behind every queued work."""


STOP = Stop()


def collect_batch(
    first: Job, take: Callable[[], Job | Stop | None], batch_max: int
) -> tuple[list[Job], bool]:
    """``first`` and whatever queued up meanwhile (``take`` returns None when the queue is
    empty), at most ``batch_max`` works; and whether a :class:`Stop` came up.

    Never waits for more: an idle store commits a lone work at once; batches form only
    under load.
    """
    batch = [first]
    while len(batch) < batch_max:
        item = take()
        if item is None:
            break
        if isinstance(item, Stop):
            return batch, True
        batch.append(item)
    return batch, False


def resolve(job: Job, outcome: Outcome) -> None:
    """Complete ``job``'s future with ``outcome``, on the future's loop."""
    if job.future.done():  # the caller was cancelled meanwhile
        return
    if outcome.error is not None:
        job.future.set_exception(outcome.error)
    else:
        job.future.set_result(outcome.result)


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


def _writer_cancelling() -> bool:
    """Whether the writer task itself is being cancelled, as opposed to a work raising
    CancelledError. The SQLite writer thread has no task and is never cancelled."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop: storage.sqlite_threads.drive
        return False
    return task is not None and task.cancelling() > 0


def cancelled_work(exc: asyncio.CancelledError) -> RuntimeError:
    """What the caller of a work that raised CancelledError itself gets."""
    error = RuntimeError("the work was cancelled")
    error.__cause__ = exc
    return error


class BatchRules:
    """Rules 1-5 for one batch, whatever runs it. ``transactions`` opens the writer's
    transactions; ``tx_factory`` makes the :class:`~inbox.ports.Tx` given to each work."""

    def __init__(self, transactions: Transactions, tx_factory: TxFactory) -> None:
        self._transactions = transactions
        self._tx_factory = tx_factory

    async def run(self, jobs: Sequence[Job], hand_over: HandOver) -> None:
        """Run ``jobs`` and hand each outcome over once the transaction that holds it has
        committed: the whole batch at once, or, after the batch failed, work by work.

        Raises only when something other than the works and the database failed (a bug,
        or the writer being cancelled); the runner then answers the jobs not handed over.
        """
        try:
            outcomes = await self._run_batch(jobs)
        except Exception as exc:  # the transaction is lost, not the works
            _log_batch_failure(exc, len(jobs))
            for job in jobs:
                hand_over([(job, await self._run_alone(job))])
        else:
            hand_over(list(zip(jobs, outcomes, strict=True)))

    async def _run_batch(self, jobs: Sequence[Job]) -> list[Outcome]:
        """All of ``jobs`` in one transaction (rules 1-3). Raises if the batch must be
        redone: :class:`_SpoiledBatch`, or the database's error when it cannot commit."""
        async with self._transactions() as conn:
            tx = self._tx_factory(conn)
            outcomes = [await self._run_in_batch(tx, job) for job in jobs]
            # Leaving the block commits; only then may callers see the outcomes.
        return outcomes

    @staticmethod
    async def _run_in_batch(tx: CountingTx, job: Job) -> Outcome:
        writes_before = tx.writes_done
        try:
            return Outcome(result=await job.work(tx))
        except asyncio.CancelledError as exc:
            if _writer_cancelling():
                raise
            if tx.writes_done != writes_before:
                raise _SpoiledBatch("a cancelled work left writes behind") from exc
            return Outcome(error=cancelled_work(exc))
        except IntegrityError as exc:
            job.integrity_errors += 1
            raise _SpoiledBatch("an integrity error") from exc
        except SQLAlchemyError as exc:
            raise _SpoiledBatch("a database error") from exc
        except Exception as exc:
            if tx.writes_done != writes_before:
                raise _SpoiledBatch("a failed work left writes behind") from exc
            return Outcome(error=exc)

    async def _run_alone(self, job: Job) -> Outcome:
        """``job`` in a transaction of its own, retried after deadlocks."""
        for attempt in range(1, ALONE_ATTEMPTS + 1):
            try:
                async with self._transactions() as conn:
                    outcome = await self._run_in_savepoint(conn, self._tx_factory(conn), job)
                return outcome
            except Exception as exc:
                if _sqlstate(exc) in RETRYABLE_SQLSTATES and attempt < ALONE_ATTEMPTS:
                    continue
                return Outcome(error=exc)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    async def _run_in_savepoint(conn: WriteConnection, tx: Tx, job: Job) -> Outcome:
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
                    return Outcome(error=_conflict(exc))
                continue
            except asyncio.CancelledError as exc:
                if _writer_cancelling():
                    raise
                # Something the work awaited was cancelled: the work failed, not the writer.
                await savepoint.rollback()
                return Outcome(error=cancelled_work(exc))
            except Exception as exc:
                if _sqlstate(exc) in RETRYABLE_SQLSTATES:
                    # PostgreSQL chose this transaction as the victim: the locks it holds for
                    # the other works are the problem, so the batch must start over (rule 4).
                    raise
                await savepoint.rollback()
                return Outcome(error=exc)
            await savepoint.commit()
            return Outcome(result=result)


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
