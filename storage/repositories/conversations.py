"""Conversations: lookups, the operator lists, the queue and capacity counts."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    column,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import ChannelId, ContactId, ConversationId, OperatorId
from inbox.domain.visibility import Visibility
from inbox.ports import ConversationFilter
from storage import search
from storage.repositories.base import SqlRepo
from storage.rows import conversation_from_row, conversation_values
from storage.tables import contacts, conversations, routing_tasks
from storage.types import UtcDateTime

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
        """Overwrites every column but the id and the queue (routing's, :meth:`set_queue`).
        A missing row is left missing (no error)."""
        values: dict[str, Any] = conversation_values(conversation)
        values["b_id"] = values.pop("id")
        del values["queue_id"]
        await self._run(_UPDATE, values)

    async def set_queue(self, conversation_id: ConversationId, queue_id: str) -> None:
        await self._run(update(_t).where(_t.c.id == conversation_id).values(queue_id=queue_id), {})

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
        """Keyset paging in two legs, each an index range of
        ``ix_conversations_last_message_at_created_at_id``: conversations with a message
        (``last_message_at`` descending), then those without one (``created_at``
        descending). A position in the second leg skips the first."""
        base = select(_t).where(*self._narrowing(flt))
        after = flt.after
        found: list[Conversation] = []
        if after is None or after.last_message_at is not None:
            stmt = base.where(_t.c.last_message_at.is_not(None))
            if after is not None:
                stmt = stmt.where(
                    tuple_(_t.c.last_message_at, _t.c.created_at, _t.c.id)
                    < tuple_(
                        literal(after.last_message_at, UtcDateTime()),
                        literal(after.created_at, UtcDateTime()),
                        literal(after.id, _t.c.id.type),
                    )
                )
            stmt = stmt.order_by(
                _t.c.last_message_at.desc(), _t.c.created_at.desc(), _t.c.id.desc()
            ).limit(flt.limit)
            found = [conversation_from_row(r) for r in await self._all(stmt)]
            if len(found) >= flt.limit:
                return found
        stmt = base.where(_t.c.last_message_at.is_(None))
        if after is not None and after.last_message_at is None:
            stmt = stmt.where(
                tuple_(_t.c.created_at, _t.c.id)
                < tuple_(literal(after.created_at, UtcDateTime()), literal(after.id, _t.c.id.type))
            )
        stmt = stmt.order_by(_t.c.created_at.desc(), _t.c.id.desc()).limit(flt.limit - len(found))
        return found + [conversation_from_row(r) for r in await self._all(stmt)]

    def _narrowing(self, flt: ConversationFilter) -> builtins.list[ColumnElement[bool]]:
        where: builtins.list[ColumnElement[bool]] = []
        if flt.statuses is not None:
            where.append(_t.c.status.in_([str(s) for s in flt.statuses]))
        if flt.assignee_id is not None:
            where.append(_t.c.assignee_id == flt.assignee_id)
        if flt.channel_id is not None:
            where.append(_t.c.channel_id == flt.channel_id)
        if flt.visible_to is not None and not flt.visible_to.sees_all:
            where.append(_visible(flt.visible_to))
        if flt.unread is not None:
            where.append(_t.c.unread_count > 0 if flt.unread else _t.c.unread_count <= 0)
        if flt.queued_before is not None:
            where.append(_t.c.status == str(ConversationStatus.QUEUED))
            where.append(_t.c.queued_at < literal(flt.queued_before, UtcDateTime()))
        if flt.queue_id is not None:
            where.append(
                exists().where(
                    routing_tasks.c.conversation_id == _t.c.id,
                    routing_tasks.c.queue_id == flt.queue_id,
                )
            )
        if flt.tag is not None:
            where.append(self._tagged(flt.tag))
        if flt.query is not None:
            where.append(search.matches(self._conn.dialect.name, flt.query, _t.c.id))
        return where

    def _tagged(self, tag: str) -> ColumnElement[bool]:
        if self._is_postgres:
            return exists().where(
                contacts.c.id == _t.c.contact_id,
                contacts.c.tags.op("@>")(literal([tag], contacts.c.tags.type)),
            )
        # SQLite: the tags are a JSON array of strings.
        tagged = text(
            "SELECT tc.id FROM contacts AS tc, json_each(tc.tags) AS tj WHERE tj.value = :tag"
        ).bindparams(bindparam("tag", tag))
        return _t.c.contact_id.in_(tagged.columns(column("id")))


def _visible(visibility: Visibility) -> ColumnElement[bool]:
    """``Visibility.admits`` as SQL, for a viewer who does not see everything: assigned to
    the viewer, or in a public status and in a queue shown to the viewer (with hidden
    queues, one that is in a queue at all: ``Visibility.shows_queue``). Neither (no id, no
    public status) admits nothing."""
    admitted: list[ColumnElement[bool]] = []
    if visibility.assignee_id is not None:
        admitted.append(_t.c.assignee_id == visibility.assignee_id)
    if visibility.public_statuses:
        public: ColumnElement[bool] = _t.c.status.in_(
            sorted(str(s) for s in visibility.public_statuses)
        )
        if visibility.hidden_queue_ids:
            public = and_(
                public,
                _t.c.queue_id.is_not(None),
                _t.c.queue_id.not_in(sorted(visibility.hidden_queue_ids)),
            )
        admitted.append(public)
    return or_(*admitted) if admitted else false()
