"""Conversations: lookups, the operator lists, the queue and capacity counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, bindparam, false, func, insert, or_, select, update

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import ChannelId, ContactId, ConversationId, OperatorId
from inbox.domain.visibility import Visibility
from inbox.ports import ConversationFilter
from storage.repositories.base import SqlRepo
from storage.rows import conversation_from_row, conversation_values
from storage.tables import conversations

__all__ = ["SqlConversationRepo"]

_t = conversations

_INSERT = insert(_t)
_GET = select(_t).where(_t.c.id == bindparam("id"))
_GET_FOR_UPDATE = _GET.with_for_update()
_LATEST = (
    select(_t)
    .where(_t.c.contact_id == bindparam("contact_id"), _t.c.channel_id == bindparam("channel_id"))
    .order_by(_t.c.created_at.desc(), _t.c.id.desc())
    .limit(1)
)
_LATEST_FOR_UPDATE = _LATEST.with_for_update()
_UPDATE = update(_t).where(_t.c.id == bindparam("b_id"))


class SqlConversationRepo(SqlRepo):
    """Implements :class:`inbox.ports.ConversationRepo`."""

    async def get(self, conversation_id: ConversationId) -> Conversation | None:
        row = await self._first(_GET, {"id": conversation_id})
        return conversation_from_row(row) if row is not None else None

    async def get_for_update(self, conversation_id: ConversationId) -> Conversation | None:
        row = await self._first(self._locked(_GET, _GET_FOR_UPDATE), {"id": conversation_id})
        return conversation_from_row(row) if row is not None else None

    async def find_latest(
        self, contact_id: ContactId, channel_id: ChannelId, *, for_update: bool = False
    ) -> Conversation | None:
        stmt = self._locked(_LATEST, _LATEST_FOR_UPDATE) if for_update else _LATEST
        row = await self._first(stmt, {"contact_id": contact_id, "channel_id": channel_id})
        return conversation_from_row(row) if row is not None else None

    async def add(self, conversation: Conversation) -> None:
        await self._run(_INSERT, conversation_values(conversation))

    async def update(self, conversation: Conversation) -> None:
        """Overwrites every column but the id. A missing row is left missing (no error)."""
        values: dict[str, Any] = conversation_values(conversation)
        values["b_id"] = values.pop("id")
        await self._run(_UPDATE, values)

    async def list_queued(self, limit: int) -> list[Conversation]:
        stmt = (
            select(_t)
            .where(_t.c.status == str(ConversationStatus.QUEUED))
            .order_by(_t.c.queued_at.asc().nulls_last(), _t.c.created_at.asc(), _t.c.id.asc())
            .limit(limit)
        )
        return [conversation_from_row(r) for r in await self._all(stmt)]

    async def count_open_by_assignee(
        self, operator_ids: Sequence[OperatorId]
    ) -> dict[OperatorId, int]:
        counts = dict.fromkeys(operator_ids, 0)
        if not counts:
            return counts
        stmt = (
            select(_t.c.assignee_id, func.count().label("n"))
            .where(
                _t.c.assignee_id.in_(list(counts)),
                _t.c.status != str(ConversationStatus.RESOLVED),
            )
            .group_by(_t.c.assignee_id)
        )
        for row in await self._all(stmt):
            counts[OperatorId(row["assignee_id"])] = int(row["n"])
        return counts

    async def list(self, flt: ConversationFilter) -> list[Conversation]:
        stmt = select(_t)
        if flt.statuses is not None:
            stmt = stmt.where(_t.c.status.in_([str(s) for s in flt.statuses]))
        if flt.assignee_id is not None:
            stmt = stmt.where(_t.c.assignee_id == flt.assignee_id)
        if flt.channel_id is not None:
            stmt = stmt.where(_t.c.channel_id == flt.channel_id)
        if flt.visible_to is not None and not flt.visible_to.sees_all:
            stmt = stmt.where(_visible(flt.visible_to))
        # NULLS LAST spelled out: PostgreSQL sorts NULLs first in DESC, SQLite last. The id
        # breaks ties so pages are stable.
        stmt = stmt.order_by(
            _t.c.last_message_at.desc().nulls_last(), _t.c.created_at.desc(), _t.c.id.desc()
        ).limit(flt.limit)
        return [conversation_from_row(r) for r in await self._all(stmt)]


def _visible(visibility: Visibility) -> ColumnElement[bool]:
    """``Visibility.admits`` as SQL, for a viewer who does not see everything: assigned to
    the viewer, or in a public status. Neither (no id, no public status) admits nothing."""
    admitted: list[ColumnElement[bool]] = []
    if visibility.assignee_id is not None:
        admitted.append(_t.c.assignee_id == visibility.assignee_id)
    if visibility.public_statuses:
        admitted.append(_t.c.status.in_(sorted(str(s) for s in visibility.public_statuses)))
    return or_(*admitted) if admitted else false()
