"""Group commit on the event loop (PostgreSQL through asyncpg): the queue of pending works
and the writer tasks that commit them in batches under :class:`storage.batcher.BatchRules`
(docs/storage.md). SQLite has its own runner of the same rules,
:class:`storage.sqlite_threads.SqliteWriter`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.batcher import (
    STOP,
    BatchRules,
    Job,
    Outcome,
    Stop,
    TxFactory,
    Work,
    WriteConnection,
    collect_batch,
    resolve,
)

__all__ = ["GroupCommitter"]

logger = logging.getLogger(__name__)


@asynccontextmanager
async def _engine_transaction(engine: AsyncEngine) -> AsyncIterator[WriteConnection]:
    async with engine.connect() as conn, conn.begin():
        yield conn


class GroupCommitter:
    """Group commit on the event loop: the queue of pending works and the writer tasks
    that commit them in batches, on connections of an :class:`AsyncEngine` (PostgreSQL).

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
        self._rules = BatchRules(lambda: _engine_transaction(engine), tx_factory)
        self._batch_max = batch_max
        self._writers = writers
        self._queue: asyncio.Queue[Job | Stop] = asyncio.Queue()
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
        self._queue.put_nowait(Job(work, future))
        # Cancelling the caller cancels the future; a writer skips a cancelled job that has
        # not started, and drops the outcome of one that has.
        return await future

    async def stop(self) -> None:
        """Refuse new works, finish every queued one, then end the writer tasks."""
        if self._stopping:
            return
        self._stopping = True
        for _ in self._tasks:
            self._queue.put_nowait(STOP)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._fail_queued(RuntimeError("the store is closed"))

    # ------------------------------------------------------------------ writer loop

    def _take(self) -> Job | Stop | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    async def _writer(self) -> None:
        while True:
            first = await self._queue.get()
            if isinstance(first, Stop):
                return
            batch, stop_after = collect_batch(first, self._take, self._batch_max)
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
        while (item := self._take()) is not None:
            if isinstance(item, Job) and not item.future.done():
                item.future.set_exception(error)

    async def _commit(self, batch: list[Job]) -> None:
        """Run ``batch`` and resolve every future in it, whatever happens."""
        jobs = [job for job in batch if not job.future.done()]
        if not jobs:
            return
        try:
            await self._rules.run(jobs, _resolve_now)
        except BaseException as exc:
            # Cancellation or a bug: no caller may wait forever.
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(RuntimeError("the store's writer stopped"))
            if not isinstance(exc, Exception):
                raise
            logger.exception("storage writer failed on a batch")


def _resolve_now(outcomes: Sequence[tuple[Job, Outcome]]) -> None:
    for job, outcome in outcomes:
        job.answered = True
        resolve(job, outcome)
