"""The SQL unit of work: :class:`SqlStore` implements :class:`inbox.ports.Store`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from inbox.ports import Tx
from storage.batcher import GroupCommitter
from storage.engine import SQLITE_BEGIN_OPTION, make_engine
from storage.repositories import SqlTx

__all__ = ["DEFAULT_PG_WRITERS", "SqlStore", "open_store"]

T = TypeVar("T")

#: Concurrent writer transactions on PostgreSQL. More lets independent batches overlap
#: their round trips; each holds a pool connection while it commits.
DEFAULT_PG_WRITERS = 4


class SqlStore:
    """Writes through group commit (:mod:`storage.batcher`), reads on their own connection.

    Build it with :func:`open_store`; end it with :meth:`close`, which the owner must call.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        batch_max: int = 64,
        pg_writers: int = DEFAULT_PG_WRITERS,
    ) -> None:
        """Does not start anything; :meth:`start` does (``open_store`` calls both)."""
        self._engine = engine
        if self.dialect_name == "sqlite":
            # SQLite allows one writer at a time; more writer tasks would only queue on its
            # lock. BEGIN IMMEDIATE: see storage.engine.SQLITE_BEGIN_OPTION.
            writers = 1
            write_engine = engine.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"})
        else:
            writers = pg_writers
            write_engine = engine
        self._committer = GroupCommitter(write_engine, SqlTx, batch_max=batch_max, writers=writers)
        self._closed = False

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def dialect_name(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    def start(self) -> None:
        """Start the writer tasks on the running event loop."""
        self._committer.start()

    async def transact(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        """See :class:`inbox.ports.Store`. A second IntegrityError of the same work becomes
        :class:`inbox.domain.errors.Conflict`. Raises RuntimeError once the store is closed.
        """
        if self._closed:
            raise RuntimeError("the store is closed")
        result: T = await self._committer.submit(work)
        return result

    async def read(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        """Runs ``work`` in a transaction of its own, which is rolled back at the end: reads
        must not write (writes go through :meth:`transact`)."""
        if self._closed:
            raise RuntimeError("the store is closed")
        async with self._engine.connect() as conn:
            # Leaving connect() without commit rolls the transaction back.
            await conn.begin()
            return await work(SqlTx(conn))

    async def close(self) -> None:
        """Finish the queued works, stop the writers, close every connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._committer.stop()
        finally:
            await self._engine.dispose()


async def open_store(
    url: str,
    *,
    batch_max: int = 64,
    pg_writers: int = DEFAULT_PG_WRITERS,
) -> SqlStore:
    """An open store on ``url`` (which must already be migrated: see :func:`storage.migrate`).

    ``batch_max`` caps the works in one transaction; ``pg_writers`` is the number of
    concurrent writer transactions on PostgreSQL (SQLite always has one).
    """
    engine = make_engine(url)
    store = SqlStore(engine, batch_max=batch_max, pg_writers=pg_writers)
    store.start()
    return store
