"""Routing: queues, routing tasks, offers, decisions and the routing lock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from inbox.domain.conversations import Conversation, ConversationStatus
from inbox.domain.ids import ContactId, ConversationId, OperatorId
from routing.records import (
    DecisionRecord,
    OfferRecord,
    QueueId,
    QueueRecord,
    RoutingTask,
    TaskStatus,
)
from storage.reports_rows import ROUTING_INTO_FACTS, routing_facts
from storage.repositories.base import SqlRepo
from storage.routing_rows import (
    decision_from_row,
    decision_values,
    offer_from_row,
    offer_values,
    queue_from_row,
    queue_values,
    task_from_row,
    task_values,
)
from storage.rows import conversation_from_row
from storage.tables import (
    conversations,
    queues,
    routing_decisions,
    routing_lock,
    routing_offers,
    routing_tasks,
)

__all__ = ["SqlRoutingRepo"]

_q = queues
_t = routing_tasks
_o = routing_offers
_d = routing_decisions
_c = conversations

#: The one row of ``routing_lock`` that every routing transaction updates: on PostgreSQL
#: the update holds its row lock until the transaction ends.
_LOCK_ROW_ID = 1
_LOCK = (
    update(routing_lock)
    .where(routing_lock.c.id == _LOCK_ROW_ID)
    .values(version=routing_lock.c.version + 1)
    .returning(routing_lock.c.version)
)
# The migration inserts the row; this puts it back should it ever be missing (a table
# emptied by hand or by a test).
_LOCK_ROW_POSTGRES = (
    postgresql.insert(routing_lock).values(id=_LOCK_ROW_ID).on_conflict_do_nothing()
)
_LOCK_ROW_SQLITE = sqlite.insert(routing_lock).values(id=_LOCK_ROW_ID).on_conflict_do_nothing()

_QUEUES = select(_q).order_by(_q.c.name.asc())
_QUEUE = select(_q).where(_q.c.id == bindparam("id"))
_QUEUE_BY_NAME = select(_q).where(_q.c.name == bindparam("name"))
_INSERT_QUEUE = insert(_q)
_UPDATE_QUEUE = update(_q).where(_q.c.id == bindparam("b_id"))

_TASK = select(_t).where(_t.c.conversation_id == bindparam("conversation_id"))
_TASKS_BY_ID = select(_t).where(_t.c.conversation_id.in_(bindparam("ids", expanding=True)))
_SET_QUEUE = update(_c).where(_c.c.id == bindparam("b_id")).values(queue_id=bindparam("queue_id"))
_TASK_ORDER = (_t.c.entered_queue_at.asc(), _t.c.conversation_id.asc())
_TASKS = select(_t).where(_t.c.status.in_(bindparam("statuses", expanding=True)))
_TASKS_ANY_QUEUE = _TASKS.order_by(*_TASK_ORDER)
_TASKS_OF_QUEUE = _TASKS.where(_t.c.queue_id == bindparam("queue_id")).order_by(*_TASK_ORDER)
_DONE_SINCE = (
    select(_t)
    .where(_t.c.status == str(TaskStatus.DONE), _t.c.resolved_at >= bindparam("since"))
    .order_by(_t.c.resolved_at.desc(), _t.c.conversation_id.desc())
    .limit(bindparam("limit"))
)


def _task_upsert(dialect_insert: Any) -> Any:
    """``INSERT ... ON CONFLICT (conversation_id) DO UPDATE`` of every other column; both
    databases spell it alike, but each needs its dialect's ``insert``."""
    stmt = dialect_insert(_t)
    return stmt.on_conflict_do_update(
        index_elements=[_t.c.conversation_id],
        set_={c.name: stmt.excluded[c.name] for c in _t.columns if not c.primary_key},
    )


_PUT_TASK_POSTGRES = _task_upsert(postgresql.insert)
_PUT_TASK_SQLITE = _task_upsert(sqlite.insert)

_OFFER_ORDER = (_o.c.offered_at.asc(), _o.c.conversation_id.asc(), _o.c.operator_id.asc())
_OFFERS = select(_o).order_by(*_OFFER_ORDER)
_OFFERS_BY_CONVERSATION = _OFFERS.where(_o.c.conversation_id == bindparam("conversation_id"))
_OFFERS_BY_OPERATOR = _OFFERS.where(_o.c.operator_id == bindparam("operator_id"))
_OFFERS_BY_BOTH = _OFFERS_BY_CONVERSATION.where(_o.c.operator_id == bindparam("operator_id"))
_INSERT_OFFER = insert(_o)
_DELETE_OFFERS = delete(_o).where(_o.c.conversation_id == bindparam("conversation_id"))
_DELETE_OFFER = _DELETE_OFFERS.where(_o.c.operator_id == bindparam("operator_id"))

_INSERT_DECISION = insert(_d)
_NEWEST_DECISIONS = (
    select(_d)
    .where(_d.c.conversation_id == bindparam("conversation_id"))
    .order_by(_d.c.decided_at.desc(), _d.c.id.desc())
    .limit(bindparam("limit"))
)

_BREACHES_SINCE = (
    select(_t.c.queue_id, func.count().label("count"))
    .where(
        (_t.c.first_response_breached_at >= bindparam("since"))
        | (_t.c.resolution_breached_at >= bindparam("since"))
    )
    .group_by(_t.c.queue_id)
)

_ROUTABLE = (
    select(_c)
    .where(_c.c.status.in_([str(ConversationStatus.QUEUED), str(ConversationStatus.ASSIGNED)]))
    .order_by(_c.c.created_at.asc(), _c.c.id.asc())
)
_ROUTABLE_BY_ID = _ROUTABLE.where(_c.c.id.in_(bindparam("ids", expanding=True)))
#: Ids per ``IN (...)`` list: well below SQLite's limit of bound parameters.
_IDS_PER_QUERY = 500
_CONTACT_CONVERSATIONS = (
    select(func.count()).select_from(_c).where(_c.c.contact_id == bindparam("contact_id"))
)


class SqlRoutingRepo(SqlRepo):
    """Implements :class:`routing.ports.RoutingRepo`."""

    async def lock(self) -> int:
        """Raise the one ``routing_lock`` row's version and return it. PostgreSQL: the
        update's row lock is held until the transaction ends. SQLite: the store's one
        writer holds SQLite's write lock (``BEGIN IMMEDIATE``) for the whole transaction
        already; the version is all this adds."""
        self._writes.count += 1
        version = (await self._conn.execute(_LOCK)).scalar()
        if version is None:
            await self._run(_LOCK_ROW_POSTGRES if self._is_postgres else _LOCK_ROW_SQLITE)
            version = (await self._conn.execute(_LOCK)).scalar_one()
        return int(version)

    # -- queues

    async def list_queues(self) -> list[QueueRecord]:
        return [queue_from_row(r) for r in await self._all(_QUEUES)]

    async def get_queue(self, queue_id: QueueId) -> QueueRecord | None:
        row = await self._first(_QUEUE, {"id": queue_id})
        return queue_from_row(row) if row is not None else None

    async def get_queue_by_name(self, name: str) -> QueueRecord | None:
        row = await self._first(_QUEUE_BY_NAME, {"name": name})
        return queue_from_row(row) if row is not None else None

    async def add_queue(self, queue: QueueRecord) -> None:
        await self._run(_INSERT_QUEUE, queue_values(queue))

    async def update_queue(self, queue: QueueRecord) -> None:
        """Overwrites name, settings, state, is_default and updated_at (not created_at).
        A missing row is left missing (no error)."""
        values = queue_values(queue)
        values["b_id"] = values.pop("id")
        del values["created_at"]
        await self._run(_UPDATE_QUEUE, values)

    # -- tasks

    async def get_task(self, conversation_id: ConversationId) -> RoutingTask | None:
        row = await self._first(_TASK, {"conversation_id": conversation_id})
        return task_from_row(row) if row is not None else None

    async def put_task(self, task: RoutingTask) -> None:
        await self.put_tasks([task])

    async def put_tasks(self, tasks: Sequence[RoutingTask]) -> None:
        """Each task as :meth:`put_task` writes it, in two statements for all of them (one
        round trip each: executemany)."""
        if not tasks:
            return
        stmt = _PUT_TASK_POSTGRES if self._is_postgres else _PUT_TASK_SQLITE
        await self._run_many(stmt, [task_values(t) for t in tasks])
        # The reports keep the task's queue and SLA outcome with the episode it serves.
        await self._run_many(ROUTING_INTO_FACTS, [routing_facts(t) for t in tasks])

    async def get_tasks(self, ids: Sequence[ConversationId]) -> dict[ConversationId, RoutingTask]:
        found: dict[ConversationId, RoutingTask] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            rows = await self._all(_TASKS_BY_ID, {"ids": list(ids[start : start + _IDS_PER_QUERY])})
            for row in rows:
                task = task_from_row(row)
                found[task.conversation_id] = task
        return found

    async def set_queues(self, moves: Sequence[tuple[ConversationId, QueueId]]) -> None:
        if moves:
            await self._run_many(
                _SET_QUEUE, [{"b_id": cid, "queue_id": queue_id} for cid, queue_id in moves]
            )

    async def list_tasks(
        self, statuses: Sequence[TaskStatus], *, queue_id: QueueId | None = None
    ) -> list[RoutingTask]:
        if not statuses:
            return []
        params: dict[str, Any] = {"statuses": [str(s) for s in statuses]}
        if queue_id is None:
            stmt = _TASKS_ANY_QUEUE
        else:
            stmt = _TASKS_OF_QUEUE
            params["queue_id"] = queue_id
        return [task_from_row(r) for r in await self._all(stmt, params)]

    async def list_done_since(self, since: datetime, *, limit: int) -> list[RoutingTask]:
        if limit <= 0:
            return []
        rows = await self._all(_DONE_SINCE, {"since": since, "limit": limit})
        return [task_from_row(r) for r in rows]

    # -- offers

    async def list_offers(
        self,
        *,
        conversation_id: ConversationId | None = None,
        operator_id: OperatorId | None = None,
    ) -> list[OfferRecord]:
        if conversation_id is not None and operator_id is not None:
            stmt = _OFFERS_BY_BOTH
        elif conversation_id is not None:
            stmt = _OFFERS_BY_CONVERSATION
        elif operator_id is not None:
            stmt = _OFFERS_BY_OPERATOR
        else:
            stmt = _OFFERS
        params = {"conversation_id": conversation_id, "operator_id": operator_id}
        params = {k: v for k, v in params.items() if v is not None}
        return [offer_from_row(r) for r in await self._all(stmt, params)]

    async def add_offer(self, offer: OfferRecord) -> None:
        await self._run(_INSERT_OFFER, offer_values(offer))

    async def delete_offers(
        self, conversation_id: ConversationId, operator_id: OperatorId | None = None
    ) -> int:
        params: dict[str, Any] = {"conversation_id": conversation_id}
        stmt = _DELETE_OFFERS
        if operator_id is not None:
            stmt = _DELETE_OFFER
            params["operator_id"] = operator_id
        self._writes.count += 1  # as in SqlRepo._run, which has no result to give back
        result = await self._conn.execute(stmt, params)
        return int(cast(CursorResult[Any], result).rowcount)

    async def count_breaches_since(self, since: datetime) -> dict[QueueId, int]:
        rows = await self._all(_BREACHES_SINCE, {"since": since})
        return {QueueId(str(r["queue_id"])): int(r["count"]) for r in rows}

    # -- decisions

    async def add_decision(self, decision: DecisionRecord) -> None:
        await self._run(_INSERT_DECISION, decision_values(decision))

    async def list_decisions(
        self, conversation_id: ConversationId, *, limit: int = 100
    ) -> list[DecisionRecord]:
        if limit <= 0:
            return []
        rows = await self._all(
            _NEWEST_DECISIONS, {"conversation_id": conversation_id, "limit": limit}
        )
        return [decision_from_row(r) for r in reversed(rows)]

    # -- conversations, as routing sees them

    async def list_routable(
        self, ids: Sequence[ConversationId] | None = None
    ) -> list[Conversation]:
        if ids is None:
            return [conversation_from_row(r) for r in await self._all(_ROUTABLE)]
        found: list[Conversation] = []
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = list(ids[start : start + _IDS_PER_QUERY])
            rows = await self._all(_ROUTABLE_BY_ID, {"ids": chunk})
            found.extend(conversation_from_row(r) for r in rows)
        return found

    async def count_contact_conversations(self, contact_id: ContactId) -> int:
        return int(await self._scalar(_CONTACT_CONVERSATIONS, {"contact_id": contact_id}))

    # -- the metrics' gauges (docs/metrics.md); not part of the routing port

    async def waiting_by_queue(self) -> dict[str, int]:
        """Conversations waiting in each queue, by queue name (queues with none: 0)."""
        stmt = (
            select(_q.c.name, func.count(_t.c.conversation_id).label("count"))
            .select_from(
                _q.outerjoin(
                    _t, (_t.c.queue_id == _q.c.id) & (_t.c.status == str(TaskStatus.WAITING))
                )
            )
            .group_by(_q.c.name)
        )
        rows = await self._all(stmt)
        return {str(row["name"]): int(row["count"]) for row in rows}
