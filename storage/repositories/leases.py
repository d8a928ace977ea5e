"""Leases for singleton jobs (pollers, timers): one owner at a time, across processes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select, update

from inbox.ports import Lease
from storage.repositories.base import SqlRepo
from storage.tables import leases

__all__ = ["SqlLeaseRepo"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SqlLeaseRepo(SqlRepo):
    """Implements :class:`inbox.ports.LeaseRepo`. The row is locked while it is decided on
    (PostgreSQL ``FOR UPDATE``; SQLite has one writer), so two processes never both win."""

    async def acquire(self, name: str, owner: str, now: datetime, until: datetime) -> Lease | None:
        row = await self._first(self._locking(select(leases).where(leases.c.name == name)))
        if row is None:
            await self._run(
                insert(leases).values(name=name, owner=owner, expires_at=until, cursor=None)
            )
            return Lease(name, owner, until, None)
        if row["owner"] != owner and row["expires_at"] > now:
            return None
        await self._run(
            update(leases).where(leases.c.name == name).values(owner=owner, expires_at=until)
        )
        return Lease(name, owner, until, row["cursor"])

    async def release(self, name: str, owner: str) -> None:
        await self._run(
            update(leases)
            .where(leases.c.name == name, leases.c.owner == owner)
            .values(expires_at=_EPOCH)
        )

    async def set_cursor(self, name: str, owner: str, cursor: str | None) -> bool:
        row = await self._first(self._locking(select(leases).where(leases.c.name == name)))
        if row is None or row["owner"] != owner:
            return False
        await self._run(update(leases).where(leases.c.name == name).values(cursor=cursor))
        return True
