"""Reports: the episodes' facts (written by ``reports.recorder``) and the report queries.

A report runs three statements over the period's facts, each one range scan of
``ix_report_facts_received_at``: the counts (grouped by the group and the close reason,
summed here), the durations for the exact percentiles, and the orders (joined by
conversation and episode time through ``ix_orders_conversation_id``, one row per order,
summed here). The queue and SLA are the facts' own columns, which the routing repository
keeps (:data:`storage.reports_rows.ROUTING_INTO_FACTS`): no report reads routing's tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    column,
    delete,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import FromClause

from inbox.domain.ids import ContactId, ConversationId
from reports.records import (
    Aggregate,
    Durations,
    EpisodeFacts,
    GroupBy,
    OrderTotals,
    ReportFilter,
)
from storage.reports_rows import (
    facts_from_row,
    facts_values,
)
from storage.repositories.base import SqlRepo
from storage.tables import channels, contacts, operators, orders, queues
from storage.tables_reports import report_facts

__all__ = ["PAID_STATUSES", "SqlReportsRepo"]

_f = report_facts
_o = orders

#: Order statuses that count as paid (a refund or a cancellation does not).
PAID_STATUSES = ("paid", "shipped", "delivered")

_KEY = and_(_f.c.conversation_id == bindparam("b_cid"), _f.c.episode == bindparam("b_episode"))
_CURRENT = select(_f).where(_f.c.conversation_id == bindparam("cid"), _f.c.current == true())
_GET = select(_f).where(_KEY)
_DELETE = delete(_f).where(_KEY)
_HAS = select(literal(1)).where(_f.c.contact_id == bindparam("contact_id")).limit(1)

#: Routing's columns: only :data:`ROUTING_INTO_FACTS` writes them once the row exists, so
#: the recorder (which reads, changes and writes the row under the conversation's lock)
#: never puts back an older queue or SLA that a routing pass wrote in the meantime.
_ROUTING_OWNED = frozenset({"queue_id", "sla_met"})


def _upsert(dialect_insert: Any) -> Any:
    stmt = dialect_insert(_f)
    return stmt.on_conflict_do_update(
        index_elements=[_f.c.conversation_id, _f.c.episode],
        set_={
            c.name: stmt.excluded[c.name]
            for c in _f.columns
            if not c.primary_key and c.name not in _ROUTING_OWNED
        },
    )


_PUT = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def _sum(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


class SqlReportsRepo(SqlRepo):
    """Implements :class:`reports.ports.ReportsRepo`."""

    async def current(self, conversation_id: ConversationId) -> EpisodeFacts | None:
        row = await self._first(_CURRENT, {"cid": conversation_id})
        return facts_from_row(row) if row is not None else None

    async def get(self, conversation_id: ConversationId, episode: int) -> EpisodeFacts | None:
        row = await self._first(_GET, {"b_cid": conversation_id, "b_episode": episode})
        return facts_from_row(row) if row is not None else None

    async def put(self, facts: EpisodeFacts) -> None:
        await self._run(_PUT[self._conn.dialect.name], facts_values(facts))

    async def delete(self, conversation_id: ConversationId, episode: int) -> None:
        await self._run(_DELETE, {"b_cid": conversation_id, "b_episode": episode})

    async def has_episodes(self, contact_id: ContactId) -> bool:
        return await self._first(_HAS, {"contact_id": contact_id}) is not None

    # ------------------------------------------------------------------ reports

    def _source(self, group_by: GroupBy | None) -> tuple[FromClause, ColumnElement[Any] | None]:
        """The facts joined to what the filters and the group need, and the group's key."""
        joined: FromClause = _f
        if group_by == "tag":
            joined = joined.join(contacts, contacts.c.id == _f.c.contact_id)
            if self._is_postgres:
                tags = (
                    func.jsonb_array_elements_text(
                        func.coalesce(contacts.c.tags, text("'[]'::jsonb"))
                    )
                    .table_valued("value")
                    .lateral("tag")
                )
            else:
                tags = func.json_each(contacts.c.tags).table_valued("value").alias("tag")
            return joined.outerjoin(tags, true()), tags.c.value
        keys: dict[str, ColumnElement[Any]] = {
            "channel": _f.c.channel_id,
            "queue": _queue(),
            "operator": _f.c.operator_id,
        }
        return joined, keys[group_by] if group_by is not None else None

    def _where(self, flt: ReportFilter) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [
            _f.c.received_at >= flt.start,
            _f.c.received_at < flt.end,
        ]
        if flt.channel_id is not None:
            where.append(_f.c.channel_id == flt.channel_id)
        if flt.queue_id is not None:
            where.append(_queue() == flt.queue_id)
        if flt.operator_id is not None:
            where.append(_f.c.operator_id == flt.operator_id)
        if flt.tag is not None:
            where.append(self._tagged(flt.tag))
        return where

    def _tagged(self, tag: str) -> ColumnElement[bool]:
        if self._is_postgres:
            return exists().where(
                contacts.c.id == _f.c.contact_id,
                contacts.c.tags.op("@>")(literal([tag], contacts.c.tags.type)),
            )
        tagged = text(
            "SELECT tc.id FROM contacts AS tc, json_each(tc.tags) AS tj WHERE tj.value = :tag"
        ).bindparams(bindparam("tag", tag))
        return _f.c.contact_id.in_(tagged.columns(column("id")))

    def _select(
        self, flt: ReportFilter, group_by: GroupBy | None, *cols: Any
    ) -> tuple[Select[Any], list[ColumnElement[Any]]]:
        """The statement over the filtered facts and what it must be grouped by (the
        group's key, none for the whole)."""
        source, key = self._source(group_by)
        group = key if key is not None else null()
        stmt = select(group.label("g"), *cols).select_from(source).where(*self._where(flt))
        return stmt, [key] if key is not None else []

    async def aggregate(
        self, flt: ReportFilter, group_by: GroupBy | None = None
    ) -> dict[str | None, Aggregate]:
        answered = _f.c.first_response_at.is_not(None)
        sla = _sla()
        resolved = _f.c.resolved_at.is_not(None)
        counts, keys = self._select(
            flt,
            group_by,
            _f.c.close_reason,
            resolved.label("resolved"),
            func.count().label("received"),
            _sum(answered).label("answered"),
            _sum(
                and_(
                    ~answered,
                    _f.c.bot_resolved == false(),
                    or_(_f.c.resolved_at.is_not(None), _f.c.received_at < flt.abandoned_before),
                )
            ).label("missed"),
            _sum(_f.c.bot_resolved == true()).label("bot_resolved"),
            _sum(_f.c.new_customer == true()).label("new_customers"),
            _sum(sla == true()).label("sla_met"),
            _sum(sla.is_not(None)).label("sla_total"),
            func.coalesce(func.sum(_f.c.csat_rating), 0).label("csat_sum"),
            func.count(_f.c.csat_rating).label("csat_count"),
        )
        counts = counts.group_by(*keys, _f.c.close_reason, resolved)
        acc: dict[str | None, dict[str, Any]] = defaultdict(_blank)
        for row in await self._all(counts):
            a = acc[row["g"]]
            for name in (
                "received",
                "answered",
                "missed",
                "bot_resolved",
                "new_customers",
                "sla_met",
                "sla_total",
                "csat_sum",
                "csat_count",
            ):
                a[name] += int(row[name] or 0)
            if row["resolved"]:
                a["resolved"] += int(row["received"])
                a["close_reasons"][row["close_reason"]] += int(row["received"])
        durations, _keys = self._select(
            flt,
            group_by,
            _f.c.first_response_seconds,
            _f.c.first_response_business_seconds,
            _f.c.resolution_seconds,
        )
        durations = durations.where(or_(answered, _f.c.resolution_seconds.is_not(None)))
        # Tuples, not mappings: tens of thousands of rows, and this loop is most of the
        # Python time of a report.
        for g, first, business, resolution in await self._tuples(durations):
            d: Durations = acc[g]["durations"]
            if first is not None:
                d.first_response.append(float(first))
            if business is not None:
                d.first_response_business.append(float(business))
            if resolution is not None:
                d.resolution.append(float(resolution))
        # The orders of the period's episodes, one row each (a tenth of the episodes or so),
        # summed here: per currency, and the episodes with a paid one counted once.
        order_stmt, _keys = self._select(
            flt,
            group_by,
            _f.c.conversation_id,
            _f.c.episode,
            _o.c.currency,
            _o.c.status,
            _o.c.total_minor,
        )
        order_stmt = order_stmt.join(
            _o, and_(_o.c.conversation_id == _f.c.conversation_id, *_in_episode())
        )
        totals: dict[str | None, dict[str, list[int]]] = defaultdict(dict)
        converted: dict[str | None, set[tuple[str, int]]] = defaultdict(set)
        for g, cid, episode, currency, status, minor in await self._tuples(order_stmt):
            t = totals[g].setdefault(currency, [0, 0, 0])
            t[0] += 1
            if status in PAID_STATUSES:
                t[1] += 1
                t[2] += int(minor)
                converted[g].add((cid, episode))
        for g, by_currency in totals.items():
            acc[g]["orders"] = {c: OrderTotals(*t) for c, t in by_currency.items()}
            acc[g]["converted"] = len(converted[g])
        return {key: _aggregate(values) for key, values in acc.items()}

    async def _tuples(self, stmt: Select[Any]) -> list[Any]:
        result = await self._conn.execute(stmt)
        return list(result.all())

    async def buckets(self, flt: ReportFilter) -> dict[int, int]:
        stmt = (
            select(_f.c.received_bucket, func.count().label("n"))
            .select_from(self._source(None)[0])
            .where(*self._where(flt))
            .group_by(_f.c.received_bucket)
        )
        return {int(r["received_bucket"]): int(r["n"]) for r in await self._all(stmt)}

    async def names(self, group_by: GroupBy, keys: list[str]) -> dict[str, str]:
        if not keys or group_by == "tag":
            return {k: k for k in keys}
        tables = {"channel": channels, "queue": queues, "operator": operators}
        t = tables[group_by]
        name = t.c.display_name if group_by == "operator" else t.c.name
        stmt = select(t.c.id, name.label("name")).where(t.c.id.in_(keys))
        return {r["id"]: r["name"] for r in await self._all(stmt)}


def _queue() -> ColumnElement[Any]:
    return _f.c.queue_id


def _sla() -> ColumnElement[Any]:
    return _f.c.sla_met


def _in_episode() -> tuple[ColumnElement[bool], ...]:
    """An order made during the episode: from its first message until the next one's."""
    return (
        _o.c.created_at >= _f.c.received_at,
        or_(_f.c.next_received_at.is_(None), _o.c.created_at < _f.c.next_received_at),
    )


def _blank() -> dict[str, Any]:
    return {
        "received": 0,
        "answered": 0,
        "missed": 0,
        "bot_resolved": 0,
        "resolved": 0,
        "new_customers": 0,
        "sla_met": 0,
        "sla_total": 0,
        "csat_sum": 0,
        "csat_count": 0,
        "converted": 0,
        "close_reasons": defaultdict(int),
        "orders": {},
        "durations": Durations(),
    }


def _aggregate(values: Mapping[str, Any]) -> Aggregate:
    return Aggregate(**{**values, "close_reasons": dict(values["close_reasons"])})
