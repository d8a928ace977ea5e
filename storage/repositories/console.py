"""The console's own lists: close reasons and canned replies (docs/console.md)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, case, delete, insert, or_, select, update

from inbox.domain.canned import CannedReply, CannedReplyId
from inbox.domain.ids import OperatorId
from storage.repositories.base import SqlRepo
from storage.rows import Row
from storage.tables import canned_replies, close_reasons

__all__ = ["SqlCannedReplyRepo", "SqlCloseReasonRepo"]

_r = close_reasons
_c = canned_replies
#: ``owner_id`` of a shared reply (see storage/tables.py).
_SHARED = ""

_LIST_REASONS = select(_r.c.name).order_by(_r.c.position)
_CLEAR_REASONS = delete(_r)
_INSERT_REASON = insert(_r)

_GET = select(_c).where(_c.c.id == bindparam("id"))
_FIND = select(_c).where(_c.c.owner_id == bindparam("owner"), _c.c.shortcut == bindparam("sc"))
_LIST_FOR = (
    select(_c)
    .where(or_(_c.c.owner_id == bindparam("owner"), _c.c.owner_id == _SHARED))
    .order_by(_c.c.shortcut, case((_c.c.owner_id == _SHARED, 1), else_=0), _c.c.id)
)
_INSERT = insert(_c)
_UPDATE = update(_c).where(_c.c.id == bindparam("b_id"))
_DELETE = delete(_c).where(_c.c.id == bindparam("id"))


def _reply_from_row(row: Row) -> CannedReply:
    owner = row["owner_id"]
    return CannedReply(
        id=CannedReplyId(row["id"]),
        shortcut=row["shortcut"],
        text=row["text"],
        owner_id=OperatorId(owner) if owner != _SHARED else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SqlCloseReasonRepo(SqlRepo):
    """Implements :class:`inbox.ports.CloseReasonRepo`."""

    async def list(self) -> list[str]:
        return [str(r["name"]) for r in await self._all(_LIST_REASONS)]

    async def replace(self, names: Sequence[str]) -> None:
        await self._run(_CLEAR_REASONS)
        for position, name in enumerate(names):
            await self._run(_INSERT_REASON, {"position": position, "name": name})


class SqlCannedReplyRepo(SqlRepo):
    """Implements :class:`inbox.ports.CannedReplyRepo`."""

    async def get(self, reply_id: CannedReplyId) -> CannedReply | None:
        row = await self._first(_GET, {"id": reply_id})
        return _reply_from_row(row) if row is not None else None

    async def list_for(self, operator_id: OperatorId) -> list[CannedReply]:
        return [_reply_from_row(r) for r in await self._all(_LIST_FOR, {"owner": operator_id})]

    async def find(self, owner_id: OperatorId | None, shortcut: str) -> CannedReply | None:
        row = await self._first(_FIND, {"owner": owner_id or _SHARED, "sc": shortcut})
        return _reply_from_row(row) if row is not None else None

    async def add(self, reply: CannedReply) -> None:
        await self._run(
            _INSERT,
            {
                "id": reply.id,
                "owner_id": reply.owner_id or _SHARED,
                "shortcut": reply.shortcut,
                "text": reply.text,
                "created_at": reply.created_at,
                "updated_at": reply.updated_at,
            },
        )

    async def update(self, reply: CannedReply) -> None:
        await self._run(
            _UPDATE,
            {
                "b_id": reply.id,
                "shortcut": reply.shortcut,
                "text": reply.text,
                "updated_at": reply.updated_at,
            },
        )

    async def delete(self, reply_id: CannedReplyId) -> None:
        await self._run(_DELETE, {"id": reply_id})
