"""Pure computations of the reports: the period of a query, percentiles, the figures of
an aggregate as JSON, the heat map, and CSV (docs/reports.md defines every figure)."""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inbox.domain.errors import InvalidInput
from reports.records import BUCKET_SECONDS, Aggregate, Period

__all__ = [
    "FIGURE_COLUMNS",
    "MAX_DAYS",
    "WEEKDAYS",
    "figures_view",
    "heat_map",
    "hours_csv",
    "parse_period",
    "percentiles",
    "rows_csv",
]

#: The longest period one report covers (a leap year).
MAX_DAYS = 366

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Money = Callable[[int, str], str]


def _day(value: str | None, name: str) -> date:
    if not value:
        raise InvalidInput(f"'{name}' is required, as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"'{name}' must be a date as YYYY-MM-DD, not {value!r}") from exc


def parse_period(
    first: str | None, last: str | None, tz_name: str, *, max_days: int = MAX_DAYS
) -> Period:
    """The whole days ``first``..``last`` (inclusive) in the zone ``tz_name``. Raises
    :class:`InvalidInput` for a missing or malformed date, an unknown zone, ``from``
    after ``to``, or more than ``max_days`` days."""
    start_day, end_day = _day(first, "from"), _day(last, "to")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"'tz' must be an IANA time zone such as Europe/Moscow, not {tz_name!r}"
        ) from exc
    if start_day > end_day:
        raise InvalidInput(f"'from' ({start_day}) is after 'to' ({end_day})")
    days = (end_day - start_day).days + 1
    if days > max_days:
        raise InvalidInput(f"the period has {days} days; a report covers at most {max_days}")
    start = datetime.combine(start_day, time(), tz).astimezone(UTC)
    end = datetime.combine(end_day + timedelta(days=1), time(), tz).astimezone(UTC)
    return Period(start_day, end_day, tz, start, end)


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """The exact median and 90th percentile, by linear interpolation between the closest
    ranks (PostgreSQL's ``percentile_cont``, numpy's default); ``None`` without values."""
    if not values:
        return {"median": None, "p90": None}
    ordered = sorted(values)
    if len(ordered) == 1:
        p90 = ordered[0]
    else:
        p90 = statistics.quantiles(ordered, n=10, method="inclusive")[8]
    return {"median": round(statistics.median(ordered), 3), "p90": round(p90, 3)}


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _orders(agg: Aggregate, money: Money) -> dict[str, Any]:
    currencies = sorted(agg.orders)
    paid_totals = {c: money(agg.orders[c].paid_minor, c) for c in currencies if agg.orders[c].paid}
    if len(currencies) == 1:
        currency: str | None = currencies[0]
        paid_total: str | None = money(agg.orders[currencies[0]].paid_minor, currencies[0])
    elif not currencies:
        currency, paid_total = None, "0"
    else:
        currency, paid_total = None, None  # several currencies: see paid_totals
    return {
        "created": sum(t.created for t in agg.orders.values()),
        "paid": sum(t.paid for t in agg.orders.values()),
        "paid_total": paid_total,
        "currency": currency,
        "paid_totals": paid_totals,
        "converted": agg.converted,
        "conversion_percent": _percent(agg.converted, agg.received),
    }


def figures_view(agg: Aggregate, money: Money) -> dict[str, Any]:
    """Every figure of one aggregate, as the API shows it (CONTRACT.md's keys first)."""
    d = agg.durations
    reasons = dict(sorted(agg.close_reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    return {
        "received": agg.received,
        "answered": agg.answered,
        "missed": agg.missed,
        "first_response_seconds": percentiles(d.first_response),
        "resolution_seconds": percentiles(d.resolution),
        "csat": {
            "average": round(agg.csat_sum / agg.csat_count, 2) if agg.csat_count else None,
            "count": agg.csat_count,
        },
        "close_reasons": reasons,
        "orders": _orders(agg, money),
        "bot_resolved": agg.bot_resolved,
        "resolved": agg.resolved,
        "first_response_business_seconds": percentiles(d.first_response_business),
        "sla": {
            "met": agg.sla_met,
            "total": agg.sla_total,
            "met_percent": _percent(agg.sla_met, agg.sla_total),
        },
        "customers": {"new": agg.new_customers, "returning": agg.received - agg.new_customers},
    }


def heat_map(buckets: Mapping[int, int], tz: ZoneInfo) -> list[list[int]]:
    """Episodes received per local weekday (Monday first) and hour: 7 rows of 24."""
    cells = [[0] * 24 for _ in WEEKDAYS]
    for bucket, count in buckets.items():
        local = datetime.fromtimestamp(bucket * BUCKET_SECONDS, UTC).astimezone(tz)
        cells[local.weekday()][local.hour] += count
    return cells


#: The CSV columns of a report row, in order (docs/reports.md, "CSV").
FIGURE_COLUMNS = (
    "received",
    "answered",
    "missed",
    "bot_resolved",
    "resolved",
    "new_customers",
    "returning_customers",
    "first_response_median",
    "first_response_p90",
    "first_response_business_median",
    "first_response_business_p90",
    "resolution_median",
    "resolution_p90",
    "sla_met",
    "sla_total",
    "sla_met_percent",
    "csat_average",
    "csat_count",
    "orders_created",
    "orders_paid",
    "paid_total",
    "currency",
    "conversion_percent",
    "close_reasons",
)


def _flat(view: Mapping[str, Any]) -> list[object]:
    orders = view["orders"]
    paid_total = orders["paid_total"]
    if paid_total is None:  # several currencies: "RUB 100.00; USD 5.00"
        paid_total = "; ".join(f"{c} {v}" for c, v in orders["paid_totals"].items())
    return [
        view["received"],
        view["answered"],
        view["missed"],
        view["bot_resolved"],
        view["resolved"],
        view["customers"]["new"],
        view["customers"]["returning"],
        view["first_response_seconds"]["median"],
        view["first_response_seconds"]["p90"],
        view["first_response_business_seconds"]["median"],
        view["first_response_business_seconds"]["p90"],
        view["resolution_seconds"]["median"],
        view["resolution_seconds"]["p90"],
        view["sla"]["met"],
        view["sla"]["total"],
        view["sla"]["met_percent"],
        view["csat"]["average"],
        view["csat"]["count"],
        orders["created"],
        orders["paid"],
        paid_total,
        orders["currency"],
        orders["conversion_percent"],
        json.dumps(view["close_reasons"], ensure_ascii=False),
    ]


def rows_csv(views: Sequence[Mapping[str, Any]], lead: Sequence[str] = ()) -> str:
    """CSV with a header: the ``lead`` columns (taken from each view by name) then
    :data:`FIGURE_COLUMNS`. An unknown figure (no values) is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*lead, *FIGURE_COLUMNS])
    for view in views:
        cells = [view[name] for name in lead] + _flat(view)
        writer.writerow(["" if c is None else c for c in cells])
    return out.getvalue()


def hours_csv(report: dict[str, Any]) -> str:
    """The heat map as ``weekday,hour,received`` rows (Monday first, 168 rows)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["weekday", "hour", "received"])
    for day, row in zip(report["weekdays"], report["cells"], strict=True):
        for hour, count in enumerate(row):
            writer.writerow([day, hour, count])
    return out.getvalue()
