"""Business time: open seconds between two moments and the moment a number of open seconds
is reached (SLA clocks that count business hours only)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bots.hours import (
    ALWAYS_OPEN,
    HORIZON,
    Interval,
    Schedule,
    add_business_seconds,
    business_seconds,
    closes_at,
    is_open,
    next_open,
)
from tests.bots.hours_support import BERLIN, NEW_YORK, at, shop, utc

HOUR = 3600.0


def test_zero_when_end_is_not_after_start() -> None:
    s = shop()
    moment = at(BERLIN, 2027, 3, 8, 10)
    assert business_seconds(s, moment, moment) == 0
    assert business_seconds(s, moment, moment - timedelta(hours=1)) == 0


def test_within_a_split_shift_day() -> None:
    s = shop()
    # Monday 08:00-21:00: 09-13 and 14-20, ten hours.
    assert business_seconds(s, at(BERLIN, 2027, 3, 8, 8), at(BERLIN, 2027, 3, 8, 21)) == 10 * HOUR
    assert business_seconds(s, at(BERLIN, 2027, 3, 8, 12), at(BERLIN, 2027, 3, 8, 15)) == 2 * HOUR


def test_across_a_weekend() -> None:
    s = shop()
    # Friday 19:00 to Monday 10:00: Friday 1 h, Saturday 6 h, Sunday 0, Monday 1 h.
    friday, monday = at(BERLIN, 2027, 3, 12, 19), at(BERLIN, 2027, 3, 15, 10)
    assert business_seconds(s, friday, monday) == 8 * HOUR
    assert add_business_seconds(s, friday, 8 * HOUR) == monday
    assert add_business_seconds(s, friday, 7 * HOUR) == at(BERLIN, 2027, 3, 13, 16)


def test_a_deadline_on_a_closing_is_that_closing() -> None:
    s = shop()
    assert add_business_seconds(s, at(BERLIN, 2027, 3, 8, 12), HOUR) == at(BERLIN, 2027, 3, 8, 13)
    assert add_business_seconds(s, at(BERLIN, 2027, 3, 8, 12), HOUR + 1) == at(
        BERLIN, 2027, 3, 8, 14, 0
    ) + timedelta(seconds=1)


def test_adding_from_a_closed_moment_starts_at_the_opening() -> None:
    s = shop()
    assert add_business_seconds(s, at(BERLIN, 2027, 3, 8, 6), 30 * 60) == at(
        BERLIN, 2027, 3, 8, 9, 30
    )
    assert add_business_seconds(s, at(BERLIN, 2027, 3, 8, 6), 0) == at(BERLIN, 2027, 3, 8, 6)


def test_across_holidays_and_exceptions() -> None:
    s = shop(holidays=("2026-12-31..2027-01-08",), opens=("2027-01-05=10:00-12:00",))
    # Wednesday 30 December 19:00 to Saturday 9 January 11:00: 1 h + 2 h (5 Jan) + 1 h.
    assert business_seconds(s, at(BERLIN, 2026, 12, 30, 19), at(BERLIN, 2027, 1, 9, 11)) == 4 * HOUR


def test_spring_forward_counts_real_time() -> None:
    s = shop(week="sun 01:00-04:00")
    night = (at(BERLIN, 2027, 3, 28, 0), at(BERLIN, 2027, 3, 28, 12))
    assert business_seconds(s, *night) == 2 * HOUR
    assert add_business_seconds(s, night[0], 1.5 * HOUR) == utc(2027, 3, 28, 1, 30)


def test_autumn_repeated_hour_counts_once() -> None:
    s = shop(week="sun 01:00-04:00")
    night = (at(BERLIN, 2027, 10, 31, 0), at(BERLIN, 2027, 10, 31, 12))
    assert business_seconds(s, *night) == 4 * HOUR
    # Whole-day schedule: the day has 25 hours and each is counted once.
    day = shop(week="sun 00:00-24:00")
    assert business_seconds(day, *night) == 13 * HOUR
    assert business_seconds(day, utc(2027, 10, 30), utc(2027, 11, 2)) == 25 * HOUR


def test_across_dst_a_working_week_is_the_same() -> None:
    s = shop(tz=NEW_YORK, week="mon-fri 09:00-17:00")
    week = business_seconds(s, at(NEW_YORK, 2027, 3, 12, 17), at(NEW_YORK, 2027, 3, 19, 17))
    assert week == 40 * HOUR


def test_always_open_counts_everything() -> None:
    start = utc(2027, 1, 1)
    assert business_seconds(ALWAYS_OPEN, start, start + timedelta(days=3)) == 72 * HOUR
    assert add_business_seconds(ALWAYS_OPEN, start, 1.25) == start + timedelta(seconds=1.25)


def test_never_reached() -> None:
    closed = Schedule("UTC", {})
    assert add_business_seconds(closed, utc(2027, 1, 1), 1) is None
    # One hour a year is not 2 hours within the horizon.
    yearly = Schedule("UTC", {}, (), {date(2027, 6, 1): (Interval(time(9), time(10)),)})
    assert add_business_seconds(yearly, utc(2027, 1, 1), HOUR) == utc(2027, 6, 1, 10)
    assert add_business_seconds(yearly, utc(2027, 1, 1), 2 * HOUR) is None


def test_bad_seconds_are_refused() -> None:
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="seconds must be a finite number"):
            add_business_seconds(shop(), utc(2027, 1, 1), bad)


# Random schedules: a zone with or without DST (Lord Howe moves by 30 minutes), up to three
# intervals a day on half-hour marks, holidays and exceptions in 2027.

ZONES = ["UTC", BERLIN, NEW_YORK, "Australia/Lord_Howe", "Asia/Kolkata"]


@st.composite
def intervals(draw: st.DrawFn) -> tuple[Interval, ...]:
    marks = sorted(draw(st.sets(st.integers(0, 48), max_size=6)))
    if len(marks) % 2:
        marks = marks[:-1]
    result: list[Interval] = []
    for start, end in zip(marks[::2], marks[1::2], strict=True):
        result.append(
            Interval(
                time(start // 2, 30 * (start % 2)),
                None if end == 48 else time(end // 2, 30 * (end % 2)),
            )
        )
    return tuple(result)


def _day_2027(offset: int) -> date:
    return date(2027, 1, 1) + timedelta(days=offset)


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    week = {day: draw(intervals()) for day in range(7)}
    holidays = tuple(
        (_day_2027(first), _day_2027(first + length))
        for first, length in draw(
            st.lists(st.tuples(st.integers(0, 364), st.integers(0, 10)), max_size=3)
        )
    )
    exceptions = draw(st.dictionaries(st.integers(0, 364).map(_day_2027), intervals(), max_size=4))
    return Schedule(draw(st.sampled_from(ZONES)), week, holidays, exceptions)


moments = st.integers(0, 365 * 24 * 4).map(
    lambda quarter: datetime(2027, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * quarter)
)


@settings(max_examples=60, deadline=None)
@given(schedules(), moments, st.floats(0, 21 * 86_400.0))
def test_add_business_seconds_is_the_inverse_of_business_seconds(
    s: Schedule, start: datetime, seconds: float
) -> None:
    deadline = add_business_seconds(s, start, seconds)
    if deadline is None:
        assert business_seconds(s, start, start + HORIZON) < seconds + 1e-3
        return
    assert start <= deadline <= start + HORIZON
    assert business_seconds(s, start, deadline) == pytest.approx(seconds, abs=1e-3)
    if deadline > start:  # (less than half a microsecond rounds to `start` itself)
        # The deadline is reached during open time, not after a closed stretch.
        assert is_open(s, deadline - timedelta(microseconds=1))


@settings(max_examples=40, deadline=None)
@given(schedules(), moments, moments, moments)
def test_business_seconds_adds_up_and_never_exceeds_real_time(
    s: Schedule, a: datetime, b: datetime, c: datetime
) -> None:
    a, b, c = sorted((a, b, c))
    whole = business_seconds(s, a, c)
    assert whole == pytest.approx(business_seconds(s, a, b) + business_seconds(s, b, c))
    assert 0 <= whole <= (c - a).total_seconds()


@settings(max_examples=60, deadline=None)
@given(schedules(), moments)
def test_next_open_and_closes_at_agree_with_is_open(s: Schedule, moment: datetime) -> None:
    opening = next_open(s, moment)
    closing = closes_at(s, moment)
    if is_open(s, moment):
        assert opening == moment
        if closing is not None:
            assert closing > moment
            assert not is_open(s, closing)
            assert is_open(s, closing - timedelta(microseconds=1))
            assert business_seconds(s, moment, closing) == (closing - moment).total_seconds()
    else:
        assert closing is None
        if opening is not None:
            assert opening > moment
            assert is_open(s, opening)
            assert not is_open(s, opening - timedelta(microseconds=1))
            assert business_seconds(s, moment, opening) == 0
