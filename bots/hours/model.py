"""The schedule's values: :class:`Interval`, :class:`Schedule` and what hours a date has.

A schedule is wall-clock hours in one IANA time zone: weekly hours (split shifts allowed),
holidays (inclusive date ranges, closed all day) and one-off exceptions by date (that date's
hours instead of the weekly ones; an empty tuple is an explicit closed day). The values
validate themselves on construction and raise :class:`InvalidInput` naming the bad piece.
"""

from __future__ import annotations

import difflib
import itertools
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from zoneinfo import ZoneInfo

from inbox.domain.errors import InvalidInput

__all__ = [
    "ALWAYS_OPEN",
    "DAY_NAMES",
    "Interval",
    "Schedule",
    "format_time",
    "hours_on",
    "zone",
]

#: Weekday (0 = Monday) -> its short English name, as the CLI and the JSON spell it.
DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def format_time(t: time | None) -> str:
    """``HH:MM`` (``HH:MM:SS`` when there are seconds); ``None`` is the end of day, 24:00."""
    if t is None:
        return "24:00"
    if t.second or t.microsecond:
        return t.strftime("%H:%M:%S")
    return t.strftime("%H:%M")


@dataclass(frozen=True, slots=True)
class Interval:
    """Open from ``start`` (inclusive) to ``end`` (exclusive), wall-clock times of one date
    in the schedule's zone. ``end`` of ``None`` is 24:00, the end of that date."""

    start: time
    end: time | None

    def __post_init__(self) -> None:
        for t in (self.start, self.end):
            if t is not None and t.tzinfo is not None:
                raise InvalidInput(
                    f"opening hours {self} must be wall-clock times without a time zone"
                )
        if self.end is not None and self.end <= self.start:
            raise InvalidInput(
                f"opening hours {self} end before they start; an interval cannot cross "
                "midnight: write 22:00-24:00 on one day and 00:00-02:00 on the next"
            )

    @property
    def seconds(self) -> float:
        """The interval's length on a day without a clock change."""
        end = 86_400.0 if self.end is None else _seconds_of(self.end)
        return end - _seconds_of(self.start)

    def __str__(self) -> str:
        return f"{format_time(self.start)}-{format_time(self.end)}"


def _seconds_of(t: time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; :class:`InvalidInput` (with a suggestion when one is close)
    if there is no such zone."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("the time zone is missing; use an IANA name like Europe/Moscow")
    try:
        return ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidInput(_unknown_zone(name)) from exc


def _unknown_zone(name: str) -> str:
    message = f"unknown time zone {name!r}"
    known = sorted(zoneinfo.available_timezones())
    wanted = name.strip().replace(" ", "_").casefold()
    exact = [z for z in known if z.casefold() == wanted or z.casefold().endswith("/" + wanted)]
    close = exact or difflib.get_close_matches(name.strip(), known, n=1, cutoff=0.75)
    if close:
        return f"{message}; did you mean {close[0]}?"
    return f"{message}; use an IANA name like Europe/Moscow or America/New_York"


def _check_intervals(intervals: object, where: str) -> None:
    if not isinstance(intervals, tuple) or not all(isinstance(i, Interval) for i in intervals):
        raise InvalidInput(f"{where}: hours must be a tuple of intervals")
    for before, after in itertools.pairwise(intervals):
        if before.end is None or after.start < before.end:
            raise InvalidInput(
                f"{where}: {before} and {after} overlap or are out of order; "
                "list the hours from morning to evening without overlaps"
            )


@dataclass(frozen=True, slots=True)
class Schedule:
    """Business hours in ``tz`` (an IANA name). ``week`` maps a weekday (0 = Monday) to its
    intervals, sorted and non-overlapping (a missing weekday is closed; the stored week
    has all seven, closed ones empty). ``holidays`` are
    inclusive date ranges, closed all day. ``exceptions`` give a date's hours instead of the
    weekly ones (an empty tuple: closed that day); an exception wins over a holiday, being
    the more specific of the two (open on 5 January during a 1-8 January holiday)."""

    tz: str
    week: Mapping[int, tuple[Interval, ...]]
    holidays: tuple[tuple[date, date], ...] = ()
    exceptions: Mapping[date, tuple[Interval, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        zone(self.tz)
        if not isinstance(self.week, Mapping):
            raise InvalidInput("the week must map weekdays to hours")
        for day, intervals in self.week.items():
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
                raise InvalidInput(f"weekday {day!r} must be 0 (Monday) to 6 (Sunday)")
            _check_intervals(intervals, DAY_NAMES[day])
        if not isinstance(self.holidays, tuple):
            raise InvalidInput("holidays must be a tuple of (first, last) date pairs")
        for holiday in self.holidays:
            if (
                not isinstance(holiday, tuple)
                or len(holiday) != 2
                or not all(type(d) is date for d in holiday)
            ):
                raise InvalidInput(f"holiday {holiday!r} must be a (first, last) pair of dates")
            if holiday[1] < holiday[0]:
                raise InvalidInput(
                    f"holiday {holiday[0].isoformat()}..{holiday[1].isoformat()} ends "
                    "before it starts"
                )
        if not isinstance(self.exceptions, Mapping):
            raise InvalidInput("exceptions must map dates to hours")
        for day_, intervals in self.exceptions.items():
            if type(day_) is not date:
                raise InvalidInput(f"exception date {day_!r} must be a date")
            _check_intervals(intervals, day_.isoformat())
        # Every weekday present (closed is an empty tuple) and private copies, so that
        # equal schedules compare equal and a caller's dict cannot change this one.
        week = {day: self.week.get(day, ()) for day in range(7)}
        object.__setattr__(self, "week", week)
        object.__setattr__(self, "exceptions", dict(self.exceptions))


def hours_on(schedule: Schedule, day: date) -> tuple[Interval, ...]:
    """The hours of ``day`` (a local date in the schedule's zone): its exception if it has
    one, else nothing on a holiday, else its weekday's hours."""
    exception = schedule.exceptions.get(day)
    if exception is not None:
        return exception
    if any(first <= day <= last for first, last in schedule.holidays):
        return ()
    return schedule.week.get(day.weekday(), ())


#: Open all the time (no schedule set): every day 00:00-24:00 in UTC.
ALWAYS_OPEN = Schedule("UTC", {day: (Interval(time(0), None),) for day in range(7)})
