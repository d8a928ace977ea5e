"""The CLI grammar, the JSON document and the schedule's own validation."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest

from bots.hours import (
    ALWAYS_OPEN,
    Interval,
    Schedule,
    parse_schedule,
    parse_week,
    schedule_from_json,
    schedule_to_json,
)
from inbox.domain.errors import InvalidInput
from tests.bots.hours_support import BERLIN, shop

NINE_TO_ONE = Interval(time(9), time(13))
TWO_TO_EIGHT = Interval(time(14), time(20))


def test_week_with_split_shifts_and_a_saturday() -> None:
    week = parse_week("mon-fri 09:00-13:00,14:00-20:00; sat 10:00-16:00")
    assert week == {
        **{day: (NINE_TO_ONE, TWO_TO_EIGHT) for day in range(5)},
        5: (Interval(time(10), time(16)),),
    }


def test_week_lists_full_names_russian_names_and_loose_spacing() -> None:
    week = parse_week("Monday, wed 10:00 - 12:00 ; пт-вс 9:00-10:00,  11:00-12:00\nTUE closed")
    assert week[0] == week[2] == (Interval(time(10), time(12)),)
    assert week[1] == ()
    assert (
        week[4] == week[5] == week[6] == (Interval(time(9), time(10)), Interval(time(11), time(12)))
    )
    assert 3 not in week


def test_week_sorts_intervals_and_reads_24_00_as_end_of_day() -> None:
    week = parse_week("sat 20:00-24:00,00:00-02:00")
    assert week[5] == (Interval(time(0), time(2)), Interval(time(20), None))


def test_stray_commas_and_semicolons_are_harmless() -> None:
    assert parse_week("mon, 10:00-11:00,;") == {0: (Interval(time(10), time(11)),)}


def test_week_24_7() -> None:
    assert parse_week("24/7") == dict(ALWAYS_OPEN.week)
    assert parse_week("mon-sun 24/7") == dict(ALWAYS_OPEN.week)
    assert parse_week("sun 00:00-24:00")[6] == (Interval(time(0), None),)


def test_adjacent_intervals_are_allowed() -> None:
    assert parse_week("mon 09:00-13:00,13:00-18:00")[0] == (
        NINE_TO_ONE,
        Interval(time(13), time(18)),
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "the week is empty; write it like 'mon-fri 09:00-13:00,14:00-20:00; sat 10:00-16:00'"),
        ("  ;  ", "the week is empty"),
        ("mon-fri", "week, in 'mon-fri': the hours are missing; write them like 09:00-18:00"),
        ("09:00-18:00", "week, in '09:00-18:00': the days are missing; write them like mon-fri"),
        ("mon-fri 9-18", "week, in 'mon-fri 9-18': '9-18' is not a time range like 09:00-18:00"),
        ("mon 25:00-26:00", "'25:00-26:00' is not a time range like 09:00-18:00"),
        ("mon 09:60-10:00", "'09:60-10:00' is not a time range"),
        ("mon 24:00-24:00", "'24:00-24:00' is not a time range"),
        ("mon 09:00", "'09:00' is not a time range"),
        ("xyz 10:00-11:00", "week, in 'xyz 10:00-11:00': 'xyz' is not a day; use mon, tue, wed"),
        ("mon-xyz 10:00-11:00", "'xyz' is not a day"),
        (
            "fri-mon 10:00-11:00",
            "the day range 'fri-mon' runs past Sunday; the week starts on Monday, so write it "
            "as 'fri-sun,mon'",
        ),
        ("sat-tue 10:00-11:00", "so write it as 'sat-sun,mon-tue'"),
        ("mon-tue-wed 10:00-11:00", "'mon-tue-wed' is not a day range like mon-fri"),
        (
            "mon 22:00-02:00",
            "week, in 'mon 22:00-02:00': opening hours 22:00-02:00 end before they start; an "
            "interval cannot cross midnight: write 22:00-24:00 on one day and 00:00-02:00 on "
            "the next",
        ),
        ("mon 10:00-10:00", "opening hours 10:00-10:00 end before they start"),
        ("mon 10:00-12:00,11:00-13:00", "10:00-12:00 and 11:00-13:00 overlap"),
        ("mon 00:00-24:00,10:00-11:00", "00:00-24:00 and 10:00-11:00 overlap"),
        (
            "mon-fri 09:00-18:00; fri 10:00-12:00",
            "week, in 'fri 10:00-12:00': Friday is given twice; name each day once",
        ),
    ],
)
def test_week_errors_name_the_bad_piece(spec: str, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_week(spec)
    assert message in error.value.message
    assert error.value.code == "invalid_input"


def test_schedule_with_holidays_and_exceptions() -> None:
    s = parse_schedule(
        BERLIN,
        "mon-fri 09:00-18:00",
        ["2027-01-01..2027-01-08", "2027-05-09"],
        ["2027-03-06=10:00-16:00", "2027-03-08=closed", "2027-03-09=10:00-12:00,13:00-15:00"],
    )
    assert s.tz == BERLIN
    assert s.holidays == (
        (date(2027, 1, 1), date(2027, 1, 8)),
        (date(2027, 5, 9), date(2027, 5, 9)),
    )
    assert s.exceptions == {
        date(2027, 3, 6): (Interval(time(10), time(16)),),
        date(2027, 3, 8): (),
        date(2027, 3, 9): (Interval(time(10), time(12)), Interval(time(13), time(15))),
    }


@pytest.mark.parametrize(
    ("tz", "message"),
    [
        ("Europe/Moscw", "unknown time zone 'Europe/Moscw'; did you mean Europe/Moscow?"),
        ("europe/berlin", "unknown time zone 'europe/berlin'; did you mean Europe/Berlin?"),
        ("New York", "unknown time zone 'New York'; did you mean America/New_York?"),
        (
            "Mars/Olympus",
            "unknown time zone 'Mars/Olympus'; use an IANA name like Europe/Moscow or "
            "America/New_York",
        ),
        ("Europe", "unknown time zone 'Europe'"),
        ("../etc/passwd", "unknown time zone '../etc/passwd'"),
        ("/etc/localtime", "unknown time zone '/etc/localtime'"),
        ("", "the time zone is missing; use an IANA name like Europe/Moscow"),
    ],
)
def test_unknown_time_zone(tz: str, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_schedule(tz, "mon 09:00-18:00")
    assert error.value.message == message or message in error.value.message


@pytest.mark.parametrize(
    ("holiday", "message"),
    [
        ("2027-13-01", "holiday '2027-13-01': '2027-13-01' is not a date like 2027-01-31"),
        ("2027-1-1", "'2027-1-1' is not a date like 2027-01-31"),
        ("tomorrow", "holiday 'tomorrow'"),
        (
            "2027-01-08..2027-01-01",
            "holiday '2027-01-08..2027-01-01': it ends (2027-01-01) before it starts "
            "(2027-01-08); write a date (2027-05-09) or a range (2027-01-01..2027-01-08)",
        ),
        ("2027-01-01..", "holiday '2027-01-01..': '' is not a date"),
    ],
)
def test_bad_holiday(holiday: str, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_schedule(BERLIN, "mon 09:00-18:00", [holiday])
    assert message in error.value.message


@pytest.mark.parametrize(
    ("opening", "message"),
    [
        (
            "2027-03-06 10:00-16:00",
            "exception '2027-03-06 10:00-16:00': the '=' between the date and the hours is "
            "missing; write it like 2027-03-06=10:00-16:00 or 2027-03-08=closed",
        ),
        ("2027-02-30=10:00-16:00", "'2027-02-30' is not a date"),
        ("2027-03-06=16:00-10:00", "opening hours 16:00-10:00 end before they start"),
        ("2027-03-06=", "the hours are missing"),
        ("2027-03-06=soon", "'soon' is not a time range"),
    ],
)
def test_bad_exception(opening: str, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_schedule(BERLIN, "mon 09:00-18:00", opens=[opening])
    assert message in error.value.message


def test_exception_date_given_twice() -> None:
    with pytest.raises(InvalidInput, match="2027-03-06 is given twice"):
        parse_schedule(BERLIN, "mon 09:00-18:00", opens=["2027-03-06=closed", "2027-03-06=closed"])


def test_schedule_validates_values_built_by_hand() -> None:
    with pytest.raises(InvalidInput, match="unknown time zone 'Nowhere'"):
        Schedule("Nowhere", {})
    with pytest.raises(InvalidInput, match="weekday 7 must be 0"):
        Schedule("UTC", {7: ()})
    with pytest.raises(InvalidInput, match="mon: 14:00-20:00 and 09:00-13:00 overlap or are out"):
        Schedule("UTC", {0: (TWO_TO_EIGHT, NINE_TO_ONE)})
    with pytest.raises(InvalidInput, match=r"holiday 2027-01-08\.\.2027-01-01 ends before"):
        Schedule("UTC", {}, ((date(2027, 1, 8), date(2027, 1, 1)),))
    with pytest.raises(InvalidInput, match="2027-03-06: hours must be a tuple"):
        Schedule("UTC", {}, (), {date(2027, 3, 6): [NINE_TO_ONE]})  # type: ignore[dict-item]
    with pytest.raises(InvalidInput, match="end before they start"):
        Interval(time(13), time(9))


def test_interval_text_and_length() -> None:
    assert str(Interval(time(9), time(13))) == "09:00-13:00"
    assert str(Interval(time(20), None)) == "20:00-24:00"
    assert Interval(time(20), None).seconds == 4 * 3600
    assert str(Interval(time(9, 0, 30), time(10))) == "09:00:30-10:00"


def test_json_shape() -> None:
    s = shop(holidays=("2027-01-01..2027-01-08", "2027-05-09"), opens=("2027-03-06=closed",))
    assert schedule_to_json(s) == {
        "tz": BERLIN,
        "week": {
            "mon": ["09:00-13:00", "14:00-20:00"],
            "tue": ["09:00-13:00", "14:00-20:00"],
            "wed": ["09:00-13:00", "14:00-20:00"],
            "thu": ["09:00-13:00", "14:00-20:00"],
            "fri": ["09:00-13:00", "14:00-20:00"],
            "sat": ["10:00-16:00"],
            "sun": [],
        },
        "holidays": ["2027-01-01..2027-01-08", "2027-05-09"],
        "exceptions": {"2027-03-06": []},
    }


@pytest.mark.parametrize(
    "s",
    [
        shop(),
        shop(week="sat 20:00-24:00; sun 00:00-02:00", opens=("2027-03-07=10:00-16:00",)),
        shop(holidays=("2026-12-24..2027-01-08",), opens=("2027-01-05=10:00-12:00,13:00-14:00",)),
        ALWAYS_OPEN,
    ],
)
def test_json_round_trip(s: Schedule) -> None:
    document = schedule_to_json(s)
    assert schedule_from_json(document) == s
    assert schedule_to_json(schedule_from_json(document)) == document


def test_json_accepts_the_cli_week_and_leaves_out_optional_fields() -> None:
    s = schedule_from_json(
        {"tz": BERLIN, "week": "mon-fri 09:00-13:00,14:00-20:00; sat 10:00-16:00"}
    )
    assert s == shop()
    partial = schedule_from_json(
        {"tz": "UTC", "week": {"sat": ["10:00-16:00"], "пн": "09:00-10:00"}}
    )
    assert partial.week[5] == (Interval(time(10), time(16)),)
    assert partial.week[0] == (Interval(time(9), time(10)),)
    assert partial.week[1] == ()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "the schedule must be a JSON object with tz and week"),
        ({"week": {}}, "the schedule's tz is missing"),
        ({"tz": 3, "week": {}}, "tz must be an IANA time zone name"),
        ({"tz": "Europe/Moscw", "week": {}}, "did you mean Europe/Moscow?"),
        ({"tz": "UTC"}, "the schedule's week is missing"),
        ({"tz": "UTC", "week": [], "x": 1}, "unknown schedule field 'x'"),
        ({"tz": "UTC", "week": []}, "week must be an object of days"),
        ({"tz": "UTC", "week": {"funday": []}}, "week: 'funday' is not a day"),
        ({"tz": "UTC", "week": {"mon": [], "monday": []}}, "week: Monday is given twice"),
        ({"tz": "UTC", "week": {"mon": [9]}}, "week.mon must be a list of time ranges"),
        ({"tz": "UTC", "week": {"mon": ["18:00-09:00"]}}, "week.mon: opening hours 18:00-09:00"),
        ({"tz": "UTC", "week": {}, "holidays": "2027-01-01"}, "holidays must be a list"),
        ({"tz": "UTC", "week": {}, "holidays": [20270101]}, "a holiday must be text"),
        ({"tz": "UTC", "week": {}, "exceptions": []}, "exceptions must be an object"),
        ({"tz": "UTC", "week": {}, "exceptions": {"soon": []}}, "exceptions: 'soon' is not a date"),
        (
            {"tz": "UTC", "week": {}, "exceptions": {"2027-03-06": ["10-16"]}},
            "exceptions.2027-03-06: '10-16' is not a time range",
        ),
    ],
)
def test_json_errors_name_the_field(document: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        schedule_from_json(document)
    assert message in error.value.message
