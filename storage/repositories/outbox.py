"""The transactional outbox: delivery jobs committed together with their messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from inbox.domain.ids import OutboxId
from inbox.ports import OutboxItem
from storage.repositories.base import LeaseColumns, SqlRepo
from storage.rows import outbox_from_row, outbox_values
from storage.tables import outbox

__all__ = ["SqlOutboxRepo"]

_INSERT = insert(outbox)
_DELETE = delete(outbox).where(outbox.c.id == bindparam("id"))
_UPDATE = update(outbox).where(outbox.c.id == bindparam("b_id"))
_LEASES = LeaseColumns(outbox)


class SqlOutboxRepo(SqlRepo):
    """Implements :class:`inbox.ports.OutboxRepo`."""

    async def add(self, item: OutboxItem) -> None:
        await self._run(_INSERT, outbox_values(item))

    async def claim_due(
        self, now: datetime, *, limit: int, lease_until: datetime, owner: str
    ) -> list[OutboxItem]:
        """Only the head (lowest message ``seq``, then oldest, then id) of each
        conversation's jobs is a candidate, so a conversation whose head is leased, or not
        due yet, yields nothing: its later jobs wait, and per-conversation order holds.

        On PostgreSQL the candidates are locked ``FOR UPDATE SKIP LOCKED``: a concurrent
        claimer skips heads being claimed right now and, because the "is it the head?"
        test still sees those rows, never takes the job behind them either.
        """
        if limit <= 0:
            return []
        job = outbox.alias("job")
        older = outbox.alias("older")
        is_head = ~exists().where(
            older.c.conversation_id == job.c.conversation_id,
            or_(
                older.c.seq < job.c.seq,
                and_(
                    older.c.seq == job.c.seq,
                    or_(
                        older.c.created_at < job.c.created_at,
                        and_(older.c.created_at == job.c.created_at, older.c.id < job.c.id),
                    ),
                ),
            ),
        )
        stmt = (
            select(job)
            .where(
                job.c.available_at <= now,
                or_(job.c.lease_until.is_(None), job.c.lease_until <= now),
                is_head,
            )
            .order_by(job.c.available_at.asc(), job.c.created_at.asc(), job.c.id.asc())
            .limit(limit)
        )
        if self._is_postgres:
            stmt = stmt.with_for_update(of=job, skip_locked=True)
        items = [outbox_from_row(r) for r in await self._all(stmt)]
        if items:
            await self._run(
                update(outbox)
                .where(outbox.c.id.in_([i.id for i in items]))
                .values(lease_owner=owner, lease_until=lease_until)
            )
        return items

    async def complete(self, item_id: OutboxId) -> None:
        await self._run(_DELETE, {"id": item_id})

    async def retry_later(
        self, item_id: OutboxId, *, available_at: datetime, attempts: int, error: str
    ) -> None:
        await self._run(
            _UPDATE,
            {
                "b_id": item_id,
                "available_at": available_at,
                "attempts": attempts,
                "last_error": error,
                "lease_owner": None,
                "lease_until": None,
            },
        )

    async def pending_count(self) -> int:
        return int(await self._scalar(select(func.count()).select_from(outbox)))

    async def lease_owners(self, now: datetime) -> list[str]:
        return await self._lease_holders(_LEASES, now)

    async def release_owners(self, owners: Sequence[str]) -> int:
        return await self._release_leases(_LEASES, owners)
