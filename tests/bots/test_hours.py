"""Open now, the next opening and the closing: split shifts, holidays, exceptions,
periods across midnight and clock changes (Europe/Berlin, America/New_York)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from bots.hours import (
    ALWAYS_OPEN,
    Interval,
    Schedule,
    closes_at,
    describe_next_open,
    hours_on,
    is_open,
    next_open,
    status,
)
from tests.bots.hours_support import BERLIN, MOSCOW, NEW_YORK, at, shop, utc

# Monday 8 March 2027, Berlin (UTC+01:00 until 28 March).
MONDAY = (2027, 3, 8)


@pytest.mark.parametrize(
    ("hour", "minute", "open_"),
    [
        (8, 59, False),
        (9, 0, True),
        (12, 59, True),
        (13, 0, False),  # the lunch break
        (13, 30, False),
        (14, 0, True),
        (19, 59, True),
        (20, 0, False),
        (23, 0, False),
    ],
)
def test_split_shift(hour: int, minute: int, open_: bool) -> None:
    assert is_open(shop(), at(BERLIN, *MONDAY, hour, minute)) is open_


def test_next_open_and_closes_at_around_the_lunch_break() -> None:
    s = shop()
    morning = at(BERLIN, *MONDAY, 10)
    assert next_open(s, morning) == morning
    assert closes_at(s, morning) == at(BERLIN, *MONDAY, 13)
    lunch = at(BERLIN, *MONDAY, 13, 15)
    assert next_open(s, lunch) == at(BERLIN, *MONDAY, 14)
    assert closes_at(s, lunch) is None
    assert closes_at(s, at(BERLIN, *MONDAY, 14)) == at(BERLIN, *MONDAY, 20)


def test_results_are_utc() -> None:
    s = shop()
    result = next_open(s, at(BERLIN, *MONDAY, 13, 15))
    assert result is not None
    assert result.utcoffset() == timedelta(0)
    assert result == utc(*MONDAY, 13)


def test_saturday_hours_and_the_closed_sunday() -> None:
    s = shop()
    assert is_open(s, at(BERLIN, 2027, 3, 13, 12))
    assert not is_open(s, at(BERLIN, 2027, 3, 14, 12))
    # From Saturday after closing over the closed Sunday to Monday morning.
    assert next_open(s, at(BERLIN, 2027, 3, 13, 16)) == at(BERLIN, 2027, 3, 15, 9)


def test_a_moment_in_another_zone_is_the_same_instant() -> None:
    s = shop()
    # 08:30 UTC is 09:30 in Berlin in March.
    assert is_open(s, utc(*MONDAY, 8, 30))
    assert not is_open(s, utc(*MONDAY, 7, 30))


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(shop(), datetime(2027, 3, 8, 10))


def test_holiday_range_across_the_year_boundary() -> None:
    s = shop(holidays=("2026-12-31..2027-01-08",))
    assert hours_on(s, date(2026, 12, 30)) == (
        Interval(time(9), time(13)),
        Interval(time(14), time(20)),
    )
    for day in (date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 8)):
        assert hours_on(s, day) == ()
    assert not is_open(s, at(BERLIN, 2026, 12, 31, 10))
    assert not is_open(s, at(BERLIN, 2027, 1, 4, 10))  # a Monday inside the holiday
    # Thursday 8 January is the last holiday; Saturday 9 January opens at 10:00.
    assert next_open(s, at(BERLIN, 2026, 12, 30, 21)) == at(BERLIN, 2027, 1, 9, 10)


def test_exception_opens_a_saturday_and_replaces_its_weekly_hours() -> None:
    s = shop(opens=("2027-03-06=11:00-14:00",))  # Saturday, normally 10:00-16:00
    assert not is_open(s, at(BERLIN, 2027, 3, 6, 10, 30))
    assert is_open(s, at(BERLIN, 2027, 3, 6, 11))
    assert closes_at(s, at(BERLIN, 2027, 3, 6, 12)) == at(BERLIN, 2027, 3, 6, 14)
    sunday = shop(opens=("2027-03-07=10:00-16:00",))
    assert next_open(sunday, at(BERLIN, 2027, 3, 6, 17)) == at(BERLIN, 2027, 3, 7, 10)


def test_exception_closes_a_weekday() -> None:
    s = shop(opens=("2027-03-08=closed",))
    assert not is_open(s, at(BERLIN, *MONDAY, 10))
    assert next_open(s, at(BERLIN, *MONDAY, 10)) == at(BERLIN, 2027, 3, 9, 9)


def test_exception_wins_over_a_holiday() -> None:
    s = shop(holidays=("2027-01-01..2027-01-08",), opens=("2027-01-05=10:00-12:00",))
    assert hours_on(s, date(2027, 1, 5)) == (Interval(time(10), time(12)),)
    assert next_open(s, at(BERLIN, 2027, 1, 1, 9)) == at(BERLIN, 2027, 1, 5, 10)


def test_open_period_across_midnight_is_one_period() -> None:
    s = shop(week="fri 18:00-24:00; sat 00:00-02:00,10:00-12:00")
    friday_night = at(BERLIN, 2027, 3, 12, 23)
    assert closes_at(s, friday_night) == at(BERLIN, 2027, 3, 13, 2)
    assert is_open(s, at(BERLIN, 2027, 3, 13, 0))
    assert closes_at(s, at(BERLIN, 2027, 3, 13, 1)) == at(BERLIN, 2027, 3, 13, 2)
    assert next_open(s, at(BERLIN, 2027, 3, 13, 2)) == at(BERLIN, 2027, 3, 13, 10)


def test_a_week_open_round_the_clock_from_monday_to_friday() -> None:
    s = shop(week="mon-fri 00:00-24:00")
    assert closes_at(s, at(BERLIN, 2027, 3, 9, 12)) == at(BERLIN, 2027, 3, 13, 0)
    assert next_open(s, at(BERLIN, 2027, 3, 13, 12)) == at(BERLIN, 2027, 3, 15, 0)


def test_always_open_never_closes() -> None:
    moment = utc(2027, 6, 1, 3)
    assert is_open(ALWAYS_OPEN, moment)
    assert next_open(ALWAYS_OPEN, moment) == moment
    assert closes_at(ALWAYS_OPEN, moment) is None


def test_never_open() -> None:
    s = Schedule("UTC", {})
    moment = utc(2027, 6, 1, 3)
    assert not is_open(s, moment)
    assert next_open(s, moment) is None
    assert closes_at(s, moment) is None
    assert describe_next_open(s, moment, "en") == "later"
    assert describe_next_open(s, moment, "ru") == "позже"


def test_next_open_looks_a_year_ahead_and_no_further() -> None:
    only_once = Schedule("UTC", {}, (), {date(2028, 3, 1): (Interval(time(9), time(10)),)})
    assert next_open(only_once, utc(2027, 3, 2, 9)) == utc(2028, 3, 1, 9)
    assert next_open(only_once, utc(2027, 2, 28, 9)) is None


# Clock changes. Berlin 2027: 28 March 02:00 CET -> 03:00 CEST; 31 October 03:00 CEST ->
# 02:00 CET. New York 2027: 14 March 02:00 EST -> 03:00 EDT; 7 November 02:00 EDT -> 01:00 EST.


def test_spring_forward_night_shift() -> None:
    s = shop(week="sun 01:00-04:00")
    # Opens at 01:00 CET (00:00 UTC), closes at 04:00 CEST (02:00 UTC): two real hours.
    assert next_open(s, at(BERLIN, 2027, 3, 27, 22)) == utc(2027, 3, 28, 0)
    assert closes_at(s, at(BERLIN, 2027, 3, 28, 1, 30)) == utc(2027, 3, 28, 2)
    assert is_open(s, utc(2027, 3, 28, 1, 30))  # 03:30 CEST
    assert not is_open(s, utc(2027, 3, 28, 2))


def test_an_opening_inside_the_spring_gap_opens_when_the_clock_jumps() -> None:
    s = shop(week="sun 02:30-05:00")
    # 02:30 does not exist on 28 March: the first valid instant after is 03:00 CEST.
    assert next_open(s, at(BERLIN, 2027, 3, 27, 22)) == at(BERLIN, 2027, 3, 28, 3)
    assert next_open(s, at(BERLIN, 2027, 3, 27, 22)) == utc(2027, 3, 28, 1)
    # A week later, 02:30 exists again.
    assert next_open(s, at(BERLIN, 2027, 3, 28, 12)) == utc(2027, 4, 4, 0, 30)
    # Hours wholly inside the gap do not open that night at all.
    gap = shop(week="sun 02:00-02:45,10:00-11:00")
    assert next_open(gap, at(BERLIN, 2027, 3, 28, 0)) == at(BERLIN, 2027, 3, 28, 10)


def test_autumn_repeated_hour() -> None:
    s = shop(week="sun 01:00-04:00")
    # 01:00 CEST (23:00 UTC on Saturday) to 04:00 CET (03:00 UTC): four real hours.
    assert next_open(s, at(BERLIN, 2027, 10, 30, 20)) == utc(2027, 10, 30, 23)
    assert closes_at(s, utc(2027, 10, 30, 23)) == utc(2027, 10, 31, 3)
    # 02:30 happens twice; open both times.
    assert is_open(s, at(BERLIN, 2027, 10, 31, 2, 30, fold=0))
    assert is_open(s, at(BERLIN, 2027, 10, 31, 2, 30, fold=1))


def test_a_closing_in_the_repeated_hour_is_its_first_occurrence() -> None:
    s = shop(week="sun 00:00-02:30")
    # 02:30 CEST is 00:30 UTC; the second 02:30 (CET, 01:30 UTC) is already closed.
    assert closes_at(s, at(BERLIN, 2027, 10, 31, 1)) == utc(2027, 10, 31, 0, 30)
    assert not is_open(s, at(BERLIN, 2027, 10, 31, 2, 30, fold=1))


def test_next_open_across_the_change_keeps_the_wall_clock() -> None:
    s = shop(tz=NEW_YORK, week="mon-fri 09:00-17:00")
    # Friday 12 March after closing (EST, UTC-05:00) to Monday 15 March 09:00 EDT (13:00 UTC).
    opening = next_open(s, at(NEW_YORK, 2027, 3, 12, 18))
    assert opening == utc(2027, 3, 15, 13)
    assert opening == at(NEW_YORK, 2027, 3, 15, 9)
    # And back in November: Monday 8 November 09:00 EST is 14:00 UTC.
    assert next_open(s, at(NEW_YORK, 2027, 11, 5, 18)) == utc(2027, 11, 8, 14)


def test_new_york_night_shift_over_both_changes() -> None:
    s = shop(tz=NEW_YORK, week="sat 22:00-24:00; sun 00:00-04:00")
    # Spring: Saturday 22:00 EST (03:00 UTC) to Sunday 04:00 EDT (08:00 UTC).
    assert closes_at(s, at(NEW_YORK, 2027, 3, 13, 23)) == utc(2027, 3, 14, 8)
    # Autumn: Saturday 22:00 EDT (02:00 UTC) to Sunday 04:00 EST (09:00 UTC).
    assert closes_at(s, at(NEW_YORK, 2027, 11, 6, 23)) == utc(2027, 11, 7, 9)


def test_status_uses_the_schedules_offset() -> None:
    s = shop()
    assert status(s, at(BERLIN, *MONDAY, 10)) == {
        "open_now": True,
        "next_open": "2027-03-08T10:00:00+01:00",
        "closes_at": "2027-03-08T13:00:00+01:00",
    }
    assert status(s, utc(*MONDAY, 12, 30)) == {
        "open_now": False,
        "next_open": "2027-03-08T14:00:00+01:00",
        "closes_at": None,
    }
    # Saturday 27 March after closing: Monday 29 March opens in summer time.
    assert status(s, at(BERLIN, 2027, 3, 27, 17))["next_open"] == "2027-03-29T09:00:00+02:00"


@pytest.mark.parametrize(
    ("moment", "en", "ru"),
    [
        (
            at(MOSCOW, 2027, 3, 8, 13, 30),
            "today at 14:00 (Moscow time, UTC+03:00)",
            "сегодня в 14:00 (UTC+03:00)",
        ),
        (
            at(MOSCOW, 2027, 3, 8, 21),
            "tomorrow at 09:00 (Moscow time, UTC+03:00)",
            "завтра в 09:00 (UTC+03:00)",
        ),
        (
            at(MOSCOW, 2027, 3, 13, 17),
            "on Monday at 09:00 (Moscow time, UTC+03:00)",
            "в понедельник в 09:00 (UTC+03:00)",
        ),
        (
            at(MOSCOW, 2027, 3, 9, 21),
            "tomorrow at 09:00 (Moscow time, UTC+03:00)",
            "завтра в 09:00 (UTC+03:00)",
        ),
        (at(MOSCOW, 2027, 3, 8, 10), "now", "сейчас"),
    ],
)
def test_describe_next_open(moment: datetime, en: str, ru: str) -> None:
    s = shop(tz=MOSCOW)
    assert describe_next_open(s, moment, "en") == en
    assert describe_next_open(s, moment, "ru") == ru


def test_describe_names_the_weekday_with_the_right_preposition_and_far_dates() -> None:
    s = shop(tz=MOSCOW, week="tue 10:00-11:00", holidays=("2027-03-09..2027-03-16",))
    # Monday: Tuesday is tomorrow but a holiday, so the Tuesday after next.
    assert describe_next_open(s, at(MOSCOW, 2027, 3, 8, 12), "ru") == "23 марта в 10:00 (UTC+03:00)"
    assert (
        describe_next_open(s, at(MOSCOW, 2027, 3, 8, 12), "en")
        == "on 23 March at 10:00 (Moscow time, UTC+03:00)"
    )
    assert (
        describe_next_open(s, at(MOSCOW, 2027, 3, 18, 12), "ru-RU")
        == "во вторник в 10:00 (UTC+03:00)"
    )


def test_describe_shows_the_offset_in_force_at_the_opening() -> None:
    s = shop(tz=NEW_YORK, week="mon-fri 09:00-17:00")
    assert (
        describe_next_open(s, at(NEW_YORK, 2027, 3, 12, 18), "en")
        == "on Monday at 09:00 (New York time, UTC-04:00)"
    )
    assert describe_next_open(shop(tz="UTC"), utc(2027, 3, 8, 22), "en") == (
        "tomorrow at 09:00 (UTC)"
    )
    assert describe_next_open(
        shop(tz="Asia/Kolkata"), at("Asia/Kolkata", 2027, 3, 8, 22), "xx"
    ) == ("tomorrow at 09:00 (Kolkata time, UTC+05:30)")
