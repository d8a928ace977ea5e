"""What every repository shares: the transaction's connection and small query helpers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from storage.rows import Row

__all__ = ["SqlRepo", "WriteCounter"]


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

    def __init__(self, conn: AsyncConnection, writes: WriteCounter | None = None) -> None:
        self._conn = conn
        self._writes = writes if writes is not None else WriteCounter()

    @property
    def _is_postgres(self) -> bool:
        return self._conn.dialect.name == "postgresql"

    def _locking(self, stmt: Select[Any]) -> Select[Any]:
        """``stmt`` with ``FOR UPDATE`` on PostgreSQL. SQLite has no row locks and needs
        none: the store runs one writer, and SQLite serialises writing transactions."""
        return stmt.with_for_update() if self._is_postgres else stmt

    async def _run(self, stmt: Executable) -> None:
        self._writes.count += 1  # counted before it runs: a failed write counts too
        await self._conn.execute(stmt)

    async def _first(self, stmt: Executable) -> Row | None:
        result = await self._conn.execute(stmt)
        return result.mappings().first()

    async def _all(self, stmt: Executable) -> list[Row]:
        result = await self._conn.execute(stmt)
        return list(result.mappings().all())

    async def _scalar(self, stmt: Executable) -> Any:
        result = await self._conn.execute(stmt)
        return result.scalar_one()
