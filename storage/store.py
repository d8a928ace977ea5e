"""The SQL unit of work: :class:`SqlStore` implements :class:`inbox.ports.Store` and every
feature's store over its extended transaction (:class:`routing.ports.RoutingStore`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.batcher import Committer, Work
from storage.engine import make_engine, make_sqlite_sync_engine
from storage.group_commit import GroupCommitter
from storage.repositories import SqlTx
from storage.sqlite_threads import SqliteReaders, SqliteWriter

__all__ = [
    "DEFAULT_PG_WRITERS",
    "DEFAULT_SQLITE_READERS",
    "CommitObserver",
    "SqlStore",
    "TransactionHook",
    "open_store",
]

T = TypeVar("T")

logger = logging.getLogger(__name__)

#: Runs at the end of every unit of work, inside its transaction, with what the work
#: returned (the webhook recorder writes its deliveries there). It must await nothing but
#: the transaction (on SQLite it runs in the writer thread).
TransactionHook = Callable[[SqlTx, object], Awaitable[None]]

#: Called on the event loop after a unit of work committed, with what it returned (the
#: metrics count this process's changes there). Must be quick and must not raise.
CommitObserver = Callable[[object], None]

#: Concurrent writer transactions on PostgreSQL. More lets independent batches overlap
#: their round trips; each holds a pool connection while it commits.
DEFAULT_PG_WRITERS = 4

#: Reader threads on SQLite (WAL lets them read while the writer writes). Reads are short
#: and mostly hold the GIL, so more threads than cores buys nothing.
DEFAULT_SQLITE_READERS = 2


class SqlStore:
    """Writes through group commit (:mod:`storage.batcher`), reads on their own connection.

    PostgreSQL: writer tasks and reads on the event loop, through asyncpg. SQLite: a writer
    thread and ``sqlite_readers`` reader threads on synchronous pysqlite connections
    (:mod:`storage.sqlite_threads`); ``engine`` then only gives the database's URL.

    Build it with :func:`open_store`; end it with :meth:`close`, which the owner must call.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        batch_max: int = 64,
        pg_writers: int = DEFAULT_PG_WRITERS,
        sqlite_readers: int = DEFAULT_SQLITE_READERS,
    ) -> None:
        """Does not start anything; :meth:`start` does (``open_store`` calls both)."""
        self._engine = engine
        self._committer: Committer
        self._readers: SqliteReaders | None = None
        if self.dialect_name == "sqlite":
            # SQLite allows one writer at a time; a second writer would only queue on its
            # lock. The worker threads have engines of their own, without pooling.
            self._sync_engine = make_sqlite_sync_engine(engine.url)
            self._committer = SqliteWriter(self._sync_engine, SqlTx, batch_max=batch_max)
            self._readers = SqliteReaders(self._sync_engine, SqlTx, threads=sqlite_readers)
        else:
            self._sync_engine = engine.sync_engine
            self._committer = GroupCommitter(engine, SqlTx, batch_max=batch_max, writers=pg_writers)
        self._closed = False
        self._hooks: tuple[TransactionHook, ...] = ()
        self._observers: tuple[CommitObserver, ...] = ()

    def add_transaction_hook(self, hook: TransactionHook) -> None:
        """Run ``hook`` inside every later :meth:`transact` (see :data:`TransactionHook`):
        what it writes commits or rolls back with the work."""
        self._hooks = (*self._hooks, hook)

    def add_commit_observer(self, observer: CommitObserver) -> None:
        """Call ``observer`` after every later committed :meth:`transact`."""
        self._observers = (*self._observers, observer)

    @property
    def engine(self) -> AsyncEngine:
        """The async engine the store was built on (on SQLite, the store does not use it)."""
        return self._engine

    @property
    def sync_engine(self) -> Engine:
        """The synchronous :class:`Engine` under every connection the store uses, for
        event listeners (tests and the benchmark count COMMITs with one). On SQLite its
        listeners run in the store's worker threads."""
        return self._sync_engine

    @property
    def dialect_name(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    def start(self) -> None:
        """Start the writers (tasks on the running event loop, or SQLite's threads)."""
        self._committer.start()
        if self._readers is not None:
            self._readers.start()

    async def transact(self, work: Callable[[SqlTx], Awaitable[T]]) -> T:
        """See :class:`inbox.ports.Store`. ``work`` gets a :class:`SqlTx`, so the store is
        also every feature's store (its transaction carries every repository). A second
        IntegrityError of the same work becomes :class:`inbox.domain.errors.Conflict`.
        Raises RuntimeError once the store is closed.

        On SQLite ``work`` runs in the writer thread: it must await nothing but ``tx``
        (anything else fails it with RuntimeError: :func:`storage.sqlite_threads.drive`).
        """
        if self._closed:
            raise RuntimeError("the store is closed")
        hooks = self._hooks
        if hooks:
            inner = work

            async def hooked(tx: SqlTx) -> T:
                value = await inner(tx)
                for hook in hooks:
                    await hook(tx, value)
                return value

            work = hooked
        result: T = await self._committer.submit(_as_work(work))
        for observer in self._observers:
            try:
                observer(result)
            except Exception:
                logger.exception("commit observer %r failed", observer)
        return result

    async def read(self, work: Callable[[SqlTx], Awaitable[T]]) -> T:
        """Runs ``work`` in a transaction of its own, which is rolled back at the end: reads
        must not write (writes go through :meth:`transact`). On SQLite ``work`` runs in a
        reader thread, under the same rule as in :meth:`transact`."""
        if self._closed:
            raise RuntimeError("the store is closed")
        if self._readers is not None:
            result: T = await self._readers.submit(_as_work(work))
            return result
        async with self._engine.connect() as conn:
            # Leaving connect() without commit rolls the transaction back.
            await conn.begin()
            return await work(SqlTx(conn))

    async def close(self) -> None:
        """Finish the queued works, stop the writers (and join SQLite's threads), close
        every connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._committer.stop()
        finally:
            try:
                if self._readers is not None:
                    await self._readers.stop()
            finally:
                await self._engine.dispose()
                if self._sync_engine is not self._engine.sync_engine:
                    self._sync_engine.dispose()


def _as_work(work: Callable[[SqlTx], Awaitable[T]]) -> Work:
    # The committer and the readers are typed over the core's Tx; both were built with
    # SqlTx as their tx_factory (see SqlStore.__init__), so every work does get a SqlTx.
    return cast(Work, work)


async def open_store(
    url: str,
    *,
    batch_max: int = 64,
    pg_writers: int = DEFAULT_PG_WRITERS,
    sqlite_readers: int = DEFAULT_SQLITE_READERS,
) -> SqlStore:
    """An open store on ``url`` (which must already be migrated: see :func:`storage.migrate`).

    ``batch_max`` caps the works in one transaction; ``pg_writers`` is the number of
    concurrent writer transactions on PostgreSQL (SQLite always has one writer thread);
    ``sqlite_readers`` the number of reader threads on SQLite.
    """
    engine = make_engine(url)
    store = SqlStore(
        engine, batch_max=batch_max, pg_writers=pg_writers, sqlite_readers=sqlite_readers
    )
    store.start()
    return store
