"""What every repository shares: the transaction's connection and small query helpers.

Statements that do not change shape are built once, at import, with their values as
parameters (``bindparam``, or an ``insert(table)`` given the row): building and hashing a
statement per call costs several times what SQLite takes to run it (docs/storage.md).
Parameters of an UPDATE's WHERE clause are named ``b_*``, as a column's own name is
reserved for its SET value.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, Result, Select, Table, bindparam, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable

from storage.rows import Row

__all__ = [
    "DirectConnection",
    "LeaseColumns",
    "Parameters",
    "SqlConnection",
    "SqlRepo",
    "WriteCounter",
]


#: One statement's parameters, or a list of them (executemany).
Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


class SqlConnection(Protocol):
    """All a repository needs of its connection: run a statement, know the dialect.

    An :class:`~sqlalchemy.ext.asyncio.AsyncConnection` is one (PostgreSQL); on SQLite the
    store's worker threads pass :class:`storage.sqlite_threads.SyncConnection`, whose
    ``execute`` runs the statement synchronously and never suspends.
    """

    @property
    def dialect(self) -> Dialect: ...

    async def execute(
        self, statement: Executable, parameters: Parameters = None, /
    ) -> Result[Any]: ...


class DirectConnection(ABC):
    """A :class:`SqlConnection` that also runs a statement and hands its rows back
    synchronously, without SQLAlchemy's per-call result objects where it can (the SQLite
    worker threads' connection: storage/sqlite_prepared.py). The repositories' helpers
    below use it when their connection is one."""

    @abstractmethod
    def run_now(self, statement: Executable, parameters: Parameters, /) -> None:
        """Run a statement whose result nobody reads (a list of parameters: for each)."""

    @abstractmethod
    def first_now(
        self, statement: Executable, parameters: Mapping[str, Any] | None, /
    ) -> Row | None:
        """The first row of a statement's result as a mapping, or None."""

    @abstractmethod
    def all_now(self, statement: Executable, parameters: Mapping[str, Any] | None, /) -> list[Row]:
        """Every row of a statement's result as mappings."""

    @abstractmethod
    def scalar_one_now(self, statement: Executable, parameters: Mapping[str, Any] | None, /) -> Any:
        """The one value of a statement's one row (raises as ``Result.scalar_one``)."""


class LeaseColumns:
    """The statements over a job table's ``lease_owner`` / ``lease_until`` columns that
    take over from owners that are gone (inbox.owners): who holds a lease that has not
    run out, and dropping every lease of some owners."""

    def __init__(self, table: Table) -> None:
        owner, until = table.c.lease_owner, table.c.lease_until
        self.holders = select(owner).where(owner.is_not(None), until > bindparam("now")).distinct()
        self.release = (
            update(table)
            .where(owner.in_(bindparam("owners", expanding=True)))
            .values(lease_owner=None, lease_until=None)
        )


class WriteCounter:
    """How many writing statements a transaction's repositories have run. The group
    committer reads it to know whether a failed work left writes behind."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


class SqlRepo:
    """Base of the repositories: Core statements on the connection of one transaction.

    A repository never begins, commits or rolls back; the store owns the transaction.
    Every writing statement goes through :meth:`_run`, which counts it.
    """

    def __init__(self, conn: SqlConnection, writes: WriteCounter | None = None) -> None:
        self._conn = conn
        self._direct = conn if isinstance(conn, DirectConnection) else None
        self._writes = writes if writes is not None else WriteCounter()

    @property
    def _is_postgres(self) -> bool:
        return self._conn.dialect.name == "postgresql"

    def _locked(self, plain: Select[Any], for_update: Select[Any]) -> Select[Any]:
        """``for_update`` (``plain`` with ``FOR UPDATE``) on PostgreSQL, ``plain`` on SQLite.
        SQLite has no row locks and needs none: the store runs one writer, and SQLite
        serialises writing transactions."""
        return for_update if self._is_postgres else plain

    async def _run(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> None:
        self._writes.count += 1  # counted before it runs: a failed write counts too
        if self._direct is not None:
            self._direct.run_now(stmt, params)
            return
        await self._conn.execute(stmt, params)

    async def _run_many(self, stmt: Executable, params: Sequence[Mapping[str, Any]]) -> None:
        """:meth:`_run` for each of ``params`` in one executemany (one round trip)."""
        self._writes.count += 1
        if self._direct is not None:
            self._direct.run_now(stmt, params)
            return
        await self._conn.execute(stmt, params)

    async def _lease_holders(self, leases: LeaseColumns, now: datetime) -> list[str]:
        return [str(r["lease_owner"]) for r in await self._all(leases.holders, {"now": now})]

    async def _release_leases(self, leases: LeaseColumns, owners: Sequence[str]) -> int:
        if not owners:
            return 0
        self._writes.count += 1
        result = await self._conn.execute(leases.release, {"owners": list(owners)})
        return int(cast(CursorResult[Any], result).rowcount)

    async def _first(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> Row | None:
        if self._direct is not None:
            return self._direct.first_now(stmt, params)
        result = await self._conn.execute(stmt, params)
        return result.mappings().first()

    async def _all(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> list[Row]:
        if self._direct is not None:
            return self._direct.all_now(stmt, params)
        result = await self._conn.execute(stmt, params)
        return list(result.mappings().all())

    async def _scalar(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> Any:
        if self._direct is not None:
            return self._direct.scalar_one_now(stmt, params)
        result = await self._conn.execute(stmt, params)
        return result.scalar_one()
