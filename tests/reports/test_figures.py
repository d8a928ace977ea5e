"""The reports' pure parts: periods in a zone, exact percentiles, the heat map in zones
with odd offsets, CSV."""

from __future__ import annotations

import csv
import io
import statistics
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbox.domain.errors import InvalidInput
from reports.figures import FIGURE_COLUMNS, heat_map, parse_period, percentiles, rows_csv
from reports.records import Aggregate, bucket_of


def test_a_period_is_whole_local_days() -> None:
    # Berlin switches to summer time on 2026-03-29: March has 31 days of 743 hours.
    period = parse_period("2026-03-01", "2026-03-31", "Europe/Berlin")
    assert period.start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert period.end == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    assert period.days == 31
    assert (period.end - period.start).total_seconds() == 743 * 3600
    one = parse_period("2026-03-05", "2026-03-05", "UTC")
    assert (one.first, one.last, one.days) == (date(2026, 3, 5), date(2026, 3, 5), 1)


def test_bad_periods_say_what_is_wrong() -> None:
    with pytest.raises(InvalidInput, match="at most 31"):
        parse_period("2026-01-01", "2026-02-01", "UTC", max_days=31)
    with pytest.raises(InvalidInput, match="is after"):
        parse_period("2026-01-02", "2026-01-01", "UTC")


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentiles([]) == {"median": None, "p90": None}
    assert percentiles([42.0]) == {"median": 42.0, "p90": 42.0}
    assert percentiles([30.0, 400.0]) == {"median": 215.0, "p90": 363.0}
    assert percentiles([400.0, 30.0, 120.0, 60.0, 120.0]) == {"median": 120.0, "p90": 288.0}
    assert percentiles([float(n) for n in range(1, 11)]) == {"median": 5.5, "p90": 9.1}


@given(st.lists(st.floats(min_value=0, max_value=1e7), min_size=2, max_size=60))
def test_percentiles_are_those_of_the_standard_library(values: list[float]) -> None:
    got = percentiles(values)
    assert got["median"] == round(statistics.median(values), 3)
    assert got["p90"] == round(statistics.quantiles(values, n=10, method="inclusive")[8], 3)
    assert got["median"] is not None
    assert got["p90"] is not None
    assert min(values) - 1e-3 <= got["median"] <= got["p90"] + 1e-3


def test_the_heat_map_follows_the_zone_even_with_half_hour_offsets() -> None:
    # 2026-03-02 is a Monday. 04:40 UTC is 10:10 in Kolkata (+05:30), 07:40 in Moscow.
    at = datetime(2026, 3, 2, 4, 40, tzinfo=UTC)
    buckets = {bucket_of(at): 3}
    kolkata = heat_map(buckets, ZoneInfo("Asia/Kolkata"))
    assert kolkata[0][10] == 3
    assert sum(map(sum, kolkata)) == 3
    assert heat_map(buckets, ZoneInfo("Europe/Moscow"))[0][7] == 3
    # 22:10 UTC on Sunday is already Monday 01:10 in Moscow.
    late = {bucket_of(datetime(2026, 3, 1, 22, 10, tzinfo=UTC)): 1}
    assert heat_map(late, ZoneInfo("Europe/Moscow"))[0][1] == 1
    assert heat_map(late, ZoneInfo("UTC"))[6][22] == 1


def test_csv_has_the_documented_columns_and_reads_back() -> None:
    view = {
        "group": "q1",
        "name": 'Sales, "north"',
        "received": 3,
        "answered": 2,
        "missed": 1,
        "bot_resolved": 0,
        "resolved": 2,
        "customers": {"new": 2, "returning": 1},
        "first_response_seconds": {"median": 12.5, "p90": None},
        "first_response_business_seconds": {"median": None, "p90": None},
        "resolution_seconds": {"median": 60.0, "p90": 90.0},
        "sla": {"met": 1, "total": 2, "met_percent": 50.0},
        "csat": {"average": None, "count": 0},
        "orders": {
            "created": 2,
            "paid": 2,
            "paid_total": None,
            "currency": None,
            "paid_totals": {"RUB": "10.00", "USD": "2.50"},
            "converted": 1,
            "conversion_percent": 33.33,
        },
        "close_reasons": {"Sold; fast": 2},
    }
    text = rows_csv([view], ("group", "name"))
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert list(row) == ["group", "name", *FIGURE_COLUMNS]
    assert row["name"] == 'Sales, "north"'
    assert row["first_response_median"] == "12.5"
    assert row["first_response_p90"] == ""
    assert row["paid_total"] == "RUB 10.00; USD 2.50"
    assert row["close_reasons"] == '{"Sold; fast": 2}'
    assert Aggregate().received == 0
