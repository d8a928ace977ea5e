"""Leases for singleton jobs (pollers, timers): one owner at a time, across processes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select, update

from inbox.ports import Lease
from storage.repositories.base import SqlRepo
from storage.tables import leases

__all__ = ["SqlLeaseRepo"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_GET = select(leases).where(leases.c.name == bindparam("name"))
_GET_FOR_UPDATE = _GET.with_for_update()
_INSERT = insert(leases)
_UPDATE = update(leases).where(leases.c.name == bindparam("b_name"))
_RELEASE = update(leases).where(
    leases.c.name == bindparam("b_name"), leases.c.owner == bindparam("b_owner")
)


class SqlLeaseRepo(SqlRepo):
    """Implements :class:`inbox.ports.LeaseRepo`. The row is locked while it is decided on
    (PostgreSQL ``FOR UPDATE``; SQLite has one writer), so two processes never both win."""

    async def acquire(
        self,
        name: str,
        owner: str,
        now: datetime,
        until: datetime,
        *,
        holder_gone: Callable[[str], bool] | None = None,
    ) -> Lease | None:
        row = await self._first(self._locked(_GET, _GET_FOR_UPDATE), {"name": name})
        if row is None:
            await self._run(
                _INSERT, {"name": name, "owner": owner, "expires_at": until, "cursor": None}
            )
            return Lease(name, owner, until, None)
        holder = str(row["owner"] or "")
        held = holder != owner and row["expires_at"] > now
        if held and not (holder_gone is not None and holder and holder_gone(holder)):
            return None
        await self._run(_UPDATE, {"b_name": name, "owner": owner, "expires_at": until})
        return Lease(name, owner, until, row["cursor"])

    async def release(self, name: str, owner: str) -> None:
        await self._run(_RELEASE, {"b_name": name, "b_owner": owner, "expires_at": _EPOCH})

    async def set_cursor(self, name: str, owner: str, cursor: str | None) -> bool:
        row = await self._first(self._locked(_GET, _GET_FOR_UPDATE), {"name": name})
        if row is None or row["owner"] != owner:
            return False
        await self._run(_UPDATE, {"b_name": name, "cursor": cursor})
        return True
