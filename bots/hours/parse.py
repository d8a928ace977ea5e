"""The schedule's two spellings: the CLI grammar and the JSON document.

CLI (``inbox hours set``)::

    --tz Europe/Moscow
    --week "mon-fri 09:00-13:00,14:00-20:00; sat 10:00-16:00"
    --holiday 2027-01-01..2027-01-08 --holiday 2027-05-09
    --open 2027-03-06=10:00-16:00 --open 2027-03-08=closed

JSON (REST and storage)::

    {"tz": "Europe/Moscow",
     "week": {"mon": ["09:00-13:00", "14:00-20:00"], ..., "sun": []},
     "holidays": ["2027-01-01..2027-01-08", "2027-05-09"],
     "exceptions": {"2027-03-06": ["10:00-16:00"], "2027-03-08": []}}

Every error is an :class:`InvalidInput` whose message names the bad piece and shows the
expected form, for a shop admin rather than a programmer.
"""

# Russian day names are part of the grammar (RUF001).
# ruff: noqa: RUF001

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any

from bots.hours.model import DAY_NAMES, Interval, Schedule
from inbox.domain.errors import InvalidInput

__all__ = [
    "parse_date",
    "parse_holiday",
    "parse_hours",
    "parse_interval",
    "parse_open",
    "parse_schedule",
    "parse_week",
    "schedule_from_json",
    "schedule_to_json",
]

_DAYS: Mapping[str, int] = {
    **{name: i for i, name in enumerate(DAY_NAMES)},
    **{
        name: i
        for i, name in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    **{name: i for i, name in enumerate(("пн", "вт", "ср", "чт", "пт", "сб", "вс"))},
}
_FULL = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_CLOSED = frozenset({"closed", "off", "выходной", "закрыто"})
_ALWAYS = frozenset({"24/7", "24x7"})
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_DASHES = re.compile(r"\s*[-–—]\s*")  # hyphen, en and em dash
_WEEK_EXAMPLE = "mon-fri 09:00-13:00,14:00-20:00; sat 10:00-16:00"
_KNOWN = frozenset({"tz", "week", "holidays", "exceptions"})


def _time(text: str, *, end: bool) -> time | None:
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(text)
    hour, minute = int(match[1]), int(match[2])
    if end and (hour, minute) == (24, 0):
        return None
    if hour > 23 or minute > 59:
        raise ValueError(text)
    return time(hour, minute)


def parse_interval(text: str) -> Interval:
    """``09:00-13:00``; ``24:00`` as an end is the end of the day."""
    parts = _DASHES.split(text.strip())
    try:
        if len(parts) != 2:
            raise ValueError(text)
        start = _time(parts[0], end=False)
        end = _time(parts[1], end=True)
    except ValueError:
        raise InvalidInput(
            f"{text.strip()!r} is not a time range like 09:00-18:00 (hours 00-23, "
            "24:00 only as an end)"
        ) from None
    assert start is not None
    return Interval(start, end)


def parse_hours(text: str) -> tuple[Interval, ...]:
    """``09:00-13:00,14:00-20:00`` (sorted on return), ``closed`` (an empty tuple) or
    ``24/7`` (the whole day). Overlapping intervals are refused."""
    stripped = text.strip().casefold()
    if stripped in _CLOSED:
        return ()
    if stripped in _ALWAYS:
        return (Interval(time(0), None),)
    if not stripped:
        raise InvalidInput("the hours are missing; write them like 09:00-18:00")
    intervals = sorted(
        (parse_interval(part) for part in text.split(",") if part.strip()),
        key=lambda i: i.start,
    )
    for before, after in itertools.pairwise(intervals):
        if before.end is None or after.start < before.end:
            raise InvalidInput(f"{before} and {after} overlap")
    return tuple(intervals)


def _day(text: str) -> int:
    day = _DAYS.get(text.strip().casefold().rstrip("."))
    if day is None:
        raise InvalidInput(f"{text.strip()!r} is not a day; use mon, tue, wed, thu, fri, sat, sun")
    return day


def _days(text: str) -> list[int]:
    """``mon-fri``, ``mon,wed``, ``mon-wed, sat``."""
    days: list[int] = []
    for part in text.split(","):
        if not part.strip():
            continue
        ends = _DASHES.split(part.strip())
        if len(ends) == 1:
            days.append(_day(ends[0]))
            continue
        if len(ends) != 2:
            raise InvalidInput(f"{part.strip()!r} is not a day range like mon-fri")
        first, last = _day(ends[0]), _day(ends[1])
        if last < first:
            raise InvalidInput(
                f"the day range {part.strip()!r} runs past Sunday; the week starts on "
                f"Monday, so write it as '{DAY_NAMES[first]}-sun,mon-{DAY_NAMES[last]}'"
                if last > 0
                else f"the day range {part.strip()!r} runs past Sunday; the week starts on "
                f"Monday, so write it as '{DAY_NAMES[first]}-sun,mon'"
            )
        days.extend(range(first, last + 1))
    if not days:
        raise InvalidInput("the days are missing; write them like mon-fri")
    return days


def _split_clause(clause: str) -> tuple[str, str]:
    """The days and the hours of ``mon-fri 09:00-18:00`` or ``sun closed``."""
    words = clause.split()
    for i, word in enumerate(words):
        head = word.casefold().lstrip(",")
        if head[:1].isdigit() or head in _CLOSED or head in _ALWAYS:
            return " ".join(words[:i]), " ".join(words[i:])
    return clause, ""


def parse_week(spec: str) -> dict[int, tuple[Interval, ...]]:
    """``mon-fri 09:00-13:00,14:00-20:00; sat 10:00-16:00`` -> weekday (0 = Monday) ->
    intervals; a day not named is closed. Days: ``mon``..``sun``, full English names,
    ``пн``..``вс``; ranges (``mon-fri``, not past Sunday) and lists (``mon,wed``). Hours:
    a list of ``HH:MM-HH:MM``, ``closed`` or ``24/7``; ``24/7`` alone is every day all
    day. A day given twice is refused."""
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidInput(f"the week is empty; write it like {_WEEK_EXAMPLE!r}")
    if spec.strip().casefold() in _ALWAYS:
        return {day: (Interval(time(0), None),) for day in range(7)}
    week: dict[int, tuple[Interval, ...]] = {}
    for clause in re.split(r"[;\n]", spec):
        if not clause.strip():
            continue
        days_text, hours_text = _split_clause(clause.strip())
        try:
            if not days_text:
                raise InvalidInput("the days are missing; write them like mon-fri")
            if not hours_text:
                raise InvalidInput("the hours are missing; write them like 09:00-18:00")
            days = _days(days_text)
            hours = parse_hours(hours_text)
        except InvalidInput as exc:
            raise InvalidInput(f"week, in {clause.strip()!r}: {exc.message}") from None
        for day in days:
            if day in week:
                raise InvalidInput(
                    f"week, in {clause.strip()!r}: {_FULL[day]} is given twice; name each day once"
                )
            week[day] = hours
    if not week:
        raise InvalidInput(f"the week is empty; write it like {_WEEK_EXAMPLE!r}")
    return week


def parse_date(text: str) -> date:
    """``YYYY-MM-DD``."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            raise ValueError(text)
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{text.strip()!r} is not a date like 2027-01-31") from None


def parse_holiday(text: str) -> tuple[date, date]:
    """``2027-05-09`` or ``2027-01-01..2027-01-08`` (inclusive)."""
    try:
        if not isinstance(text, str):
            raise InvalidInput("a holiday must be text like 2027-01-01..2027-01-08")
        first_text, dots, last_text = text.partition("..")
        first = parse_date(first_text)
        last = parse_date(last_text) if dots else first
        if last < first:
            raise InvalidInput(f"it ends ({last}) before it starts ({first})")
    except InvalidInput as exc:
        raise InvalidInput(
            f"holiday {text!r}: {exc.message}; write a date (2027-05-09) or a range "
            "(2027-01-01..2027-01-08)"
        ) from None
    return first, last


def parse_open(text: str) -> tuple[date, tuple[Interval, ...]]:
    """``2027-03-06=10:00-16:00`` (also several: ``=10:00-13:00,14:00-16:00``) or
    ``2027-03-08=closed``."""
    try:
        if not isinstance(text, str):
            raise InvalidInput("an exception must be text like 2027-03-06=10:00-16:00")
        day_text, eq, hours_text = text.partition("=")
        if not eq:
            raise InvalidInput("the '=' between the date and the hours is missing")
        return parse_date(day_text), parse_hours(hours_text)
    except InvalidInput as exc:
        raise InvalidInput(
            f"exception {text!r}: {exc.message}; write it like 2027-03-06=10:00-16:00 "
            "or 2027-03-08=closed"
        ) from None


def parse_schedule(
    tz: str, week: str, holidays: Sequence[str] = (), opens: Sequence[str] = ()
) -> Schedule:
    """The CLI's ``--tz``, ``--week``, ``--holiday ...`` and ``--open ...``."""
    parsed_holidays = tuple(parse_holiday(h) for h in holidays)
    exceptions: dict[date, tuple[Interval, ...]] = {}
    for text in opens:
        day, hours = parse_open(text)
        if day in exceptions:
            raise InvalidInput(f"exception {text!r}: {day} is given twice; give each date once")
        exceptions[day] = hours
    return Schedule(tz, parse_week(week), parsed_holidays, exceptions)


def _format_hours(intervals: tuple[Interval, ...]) -> list[str]:
    return [str(i) for i in intervals]


def _format_holiday(first: date, last: date) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def schedule_to_json(s: Schedule) -> dict[str, Any]:
    """The JSON document; every weekday is present (``[]`` when closed)."""
    return {
        "tz": s.tz,
        "week": {name: _format_hours(s.week.get(day, ())) for day, name in enumerate(DAY_NAMES)},
        "holidays": [_format_holiday(first, last) for first, last in s.holidays],
        "exceptions": {
            day.isoformat(): _format_hours(s.exceptions[day]) for day in sorted(s.exceptions)
        },
    }


def _json_hours(value: Any, where: str) -> tuple[Interval, ...]:
    if isinstance(value, str):
        text = value
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        if not value:
            return ()
        text = ",".join(value)
    else:
        raise InvalidInput(f'{where} must be a list of time ranges like ["09:00-18:00"]')
    try:
        return parse_hours(text)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc.message}") from None


def _json_week(value: Any) -> dict[int, tuple[Interval, ...]]:
    if isinstance(value, str):
        return parse_week(value)
    if not isinstance(value, Mapping):
        raise InvalidInput(
            'week must be an object of days, like {"mon": ["09:00-18:00"]}, '
            f"or text like {_WEEK_EXAMPLE!r}"
        )
    week: dict[int, tuple[Interval, ...]] = {}
    for name, hours in value.items():
        if not isinstance(name, str):
            raise InvalidInput(f"week: {name!r} is not a day; use mon, tue, ..., sun")
        try:
            day = _day(name)
        except InvalidInput as exc:
            raise InvalidInput(f"week: {exc.message}") from None
        if day in week:
            raise InvalidInput(f"week: {_FULL[day]} is given twice")
        week[day] = _json_hours(hours, f"week.{name}")
    return week


def schedule_from_json(d: Mapping[str, Any]) -> Schedule:
    """The inverse of :func:`schedule_to_json`, validating. ``holidays`` and ``exceptions``
    may be left out; ``week`` may also be the CLI's text."""
    if not isinstance(d, Mapping):
        raise InvalidInput("the schedule must be a JSON object with tz and week")
    unknown = sorted(str(k) for k in d if k not in _KNOWN)
    if unknown:
        raise InvalidInput(
            f"unknown schedule field {unknown[0]!r}; the fields are tz, week, holidays, exceptions"
        )
    if "tz" not in d:
        raise InvalidInput("the schedule's tz is missing; use an IANA name like Europe/Moscow")
    if not isinstance(d["tz"], str):
        raise InvalidInput("tz must be an IANA time zone name like Europe/Moscow")
    if "week" not in d:
        raise InvalidInput("the schedule's week is missing")
    week = _json_week(d["week"])
    holidays = d.get("holidays", [])
    if not isinstance(holidays, list):
        raise InvalidInput('holidays must be a list like ["2027-01-01..2027-01-08"]')
    parsed_holidays = tuple(parse_holiday(h) for h in holidays)
    raw_exceptions = d.get("exceptions", {})
    if not isinstance(raw_exceptions, Mapping):
        raise InvalidInput('exceptions must be an object like {"2027-03-06": ["10:00-16:00"]}')
    exceptions: dict[date, tuple[Interval, ...]] = {}
    for key, hours in raw_exceptions.items():
        if not isinstance(key, str):
            raise InvalidInput(f"exceptions: {key!r} is not a date like 2027-03-06")
        try:
            day = parse_date(key)
        except InvalidInput as exc:
            raise InvalidInput(f"exceptions: {exc.message}") from None
        if day in exceptions:
            raise InvalidInput(f"exceptions: {day} is given twice")
        exceptions[day] = _json_hours(hours, f"exceptions.{key}")
    return Schedule(d["tz"], week, parsed_holidays, exceptions)
