"""The reports a supervisor asks for: a summary, a breakdown by channel, queue, operator or
tag, and the heat map of busy hours, over the facts the storage keeps."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, get_args

from inbox.domain.clock import Clock
from inbox.domain.errors import Forbidden, InvalidInput
from inbox.domain.operators import Operator
from reports.figures import MAX_DAYS, WEEKDAYS, figures_view, heat_map, parse_period
from reports.ports import ReportsStore, ReportsTx
from reports.records import Aggregate, GroupBy, Period, ReportFilter

__all__ = [
    "ABANDON_AFTER",
    "REPORTS_SCOPE",
    "ReportQuery",
    "ReportService",
    "parse_group",
    "require_reports",
]

#: An open episode that nobody answered is abandoned (missed) after this long.
ABANDON_AFTER = timedelta(hours=24)

#: The API token scope that will grant reports (CONTRACT.md, "Accounts, tokens, reports").
REPORTS_SCOPE = "reports:read"


def require_reports(operator: Operator | None = None, *, scopes: Collection[str] = ()) -> None:
    """The one check for reading reports: a supervisor or an admin, or a machine client
    whose API token has the scope ``reports:read``. Raises :class:`Forbidden`."""
    if operator is not None and operator.role.sees_everything:
        return
    if REPORTS_SCOPE in scopes:
        return
    raise Forbidden("reports are for supervisors and admins (or a token with reports:read)")


def parse_group(value: str | None) -> GroupBy:
    choices: tuple[str, ...] = get_args(GroupBy)
    if value not in choices:
        raise InvalidInput(f"'by' must be one of {', '.join(choices)}")
    return value  # type: ignore[return-value]  # checked against the Literal's values


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """What the caller asked: the dates as given, the zone (``None``: the server's) and
    the filters (ids of a channel, queue or operator, a contact tag)."""

    first: str | None
    last: str | None
    tz: str | None = None
    channel: str | None = None
    queue: str | None = None
    operator: str | None = None
    tag: str | None = None

    @classmethod
    def of(cls, params: Mapping[str, str]) -> ReportQuery:
        """From query parameters ``from``, ``to``, ``tz``, ``channel``, ``queue``,
        ``operator``, ``tag`` (empty means absent)."""

        def get(name: str) -> str | None:
            return params.get(name) or None

        return cls(
            get("from"),
            get("to"),
            get("tz"),
            get("channel"),
            get("queue"),
            get("operator"),
            get("tag"),
        )


class ReportService:
    """``default_tz`` names the zone of a query without one (the root: the whole inbox's
    business hours, else UTC); ``money`` formats minor units of a currency."""

    def __init__(
        self,
        store: ReportsStore,
        clock: Clock,
        *,
        default_tz: Callable[[], str],
        money: Callable[[int, str], str],
        abandon_after: timedelta = ABANDON_AFTER,
        max_days: int = MAX_DAYS,
    ) -> None:
        self._store = store
        self._clock = clock
        self._default_tz = default_tz
        self._money = money
        self._abandon_after = abandon_after
        self._max_days = max_days

    def _prepare(self, viewer: Operator | None, query: ReportQuery) -> tuple[Period, ReportFilter]:
        if viewer is not None:
            require_reports(viewer)
        period = parse_period(
            query.first, query.last, query.tz or self._default_tz(), max_days=self._max_days
        )
        flt = ReportFilter(
            start=period.start,
            end=period.end,
            abandoned_before=self._clock.now() - self._abandon_after,
            channel_id=query.channel,
            queue_id=query.queue,
            operator_id=query.operator,
            tag=query.tag,
        )
        return period, flt

    def _head(self, period: Period, query: ReportQuery) -> dict[str, Any]:
        return {
            "period": {
                "from": period.first.isoformat(),
                "to": period.last.isoformat(),
                "tz": period.tz.key,
            },
            "filters": {
                "channel": query.channel,
                "queue": query.queue,
                "operator": query.operator,
                "tag": query.tag,
            },
        }

    async def summary(self, viewer: Operator | None, query: ReportQuery) -> dict[str, Any]:
        """Every figure over the period's episodes that pass the filters. ``viewer`` is
        checked with :func:`require_reports` (``None``: the caller checked already, as
        the command line and a token's scope do). Raises :class:`InvalidInput` for a bad
        period."""
        period, flt = self._prepare(viewer, query)

        async def work(tx: ReportsTx) -> dict[str | None, Aggregate]:
            return await tx.reports.aggregate(flt)

        found = await self._store.read(work)
        return {
            **self._head(period, query),
            **figures_view(found.get(None, Aggregate()), self._money),
        }

    async def breakdown(
        self, viewer: Operator | None, query: ReportQuery, by: GroupBy
    ) -> dict[str, Any]:
        """The figures per group, largest first; episodes without a queue or operator are
        the group ``null``. By tag an episode counts once in each of its contact's tags
        (and in ``null`` without any)."""
        period, flt = self._prepare(viewer, query)

        async def work(tx: ReportsTx) -> tuple[dict[str | None, Aggregate], dict[str, str]]:
            groups = await tx.reports.aggregate(flt, by)
            keys = [k for k in groups if k is not None]
            return groups, await tx.reports.names(by, keys)

        groups, names = await self._store.read(work)
        rows = [
            {"group": key, "name": names.get(key, key) if key is not None else None}
            | figures_view(agg, self._money)
            for key, agg in groups.items()
        ]
        rows.sort(key=lambda r: (-int(r["received"]), r["group"] is None, str(r["group"])))
        return {**self._head(period, query), "by": by, "rows": rows}

    async def hours(self, viewer: Operator | None, query: ReportQuery) -> dict[str, Any]:
        """Episodes received per local weekday and hour of the period."""
        period, flt = self._prepare(viewer, query)

        async def work(tx: ReportsTx) -> dict[int, int]:
            return await tx.reports.buckets(flt)

        cells = heat_map(await self._store.read(work), period.tz)
        return {
            **self._head(period, query),
            "weekdays": list(WEEKDAYS),
            "cells": cells,
            "max": max(max(row) for row in cells),
        }
