"""Open periods as instants: the schedule's wall-clock hours turned into UTC periods, and
the questions asked of them (open now, next opening, closing, business time).

Everything is a pure function of the schedule and the moments passed in (no clock is read
here). Periods are built day by day over local dates in the schedule's zone; a wall time
maps to the first instant the zone's clock shows it: in the autumn repeated hour the
earlier of the two, and a time the spring-forward gap skips resolves to the first valid
instant after it (a 02:30 opening on the night clocks go 02:00 -> 03:00 opens at 03:00).
The periods of consecutive intervals that touch (20:00-24:00 and the next day's
00:00-02:00) are merged, so "closes at" is the end of the whole stretch. Because the
periods are instants, a repeated hour counts once in business time: a shift 01:00-04:00 on
the autumn night is four real hours, on the spring night two.

Searches look at most :data:`HORIZON` (366 days) ahead: an answer further off is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bots.hours.model import Schedule, hours_on, zone

__all__ = [
    "HORIZON",
    "add_business_seconds",
    "business_seconds",
    "closes_at",
    "is_open",
    "next_open",
    "open_periods",
    "status",
]

#: How far ahead the searches look: a year and a day, so that yearly hours are found.
HORIZON = timedelta(days=366)

_ONE_DAY = timedelta(days=1)


def _aware(at: datetime, name: str = "at") -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {at!r}")
    return at.astimezone(UTC)


def _instant(tz: ZoneInfo, day: date, wall_time: time | None) -> datetime:
    """The first instant (UTC) at which the clock in ``tz`` shows ``day`` ``wall_time``
    (``None``: 24:00, the next day's midnight), or, if the clock skips it, the first
    instant after the skip."""
    wall = (
        datetime.combine(day + _ONE_DAY, time(0))
        if wall_time is None
        else datetime.combine(day, wall_time)
    )
    # fold=0: in a repeated hour, the first occurrence; in a gap, the offset before it.
    guess = wall.replace(tzinfo=tz).astimezone(UTC)
    if guess.astimezone(tz).replace(tzinfo=None) == wall:
        return guess
    # In a gap: the clock jumps from before `wall` to after it at some instant between
    # `wall` read with the offset after the jump (too early) and `guess` (after the
    # jump). Find that instant, to the second (zones change on whole seconds).
    after = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = min(after, guess), max(after, guess)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            break
        if middle.astimezone(tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high


def open_periods(s: Schedule, first: date, last: date) -> Iterator[tuple[datetime, datetime]]:
    """The schedule's open periods (UTC ``[start, end)``, in order, touching ones merged)
    for the local dates ``first`` to ``last`` inclusive. A period running into the dates
    outside is cut at their edge."""
    tz = zone(s.tz)
    current: tuple[datetime, datetime] | None = None
    day = first
    while day <= last:
        for interval in hours_on(s, day):
            start = _instant(tz, day, interval.start)
            end = _instant(tz, day, interval.end)
            if end <= start:
                continue  # wholly inside a spring-forward gap
            if current is not None and start <= current[1]:
                current = (current[0], max(current[1], end))
                continue
            if current is not None:
                yield current
            current = (start, end)
        day += _ONE_DAY
    if current is not None:
        yield current


def _local_date(s: Schedule, at: datetime) -> date:
    return at.astimezone(zone(s.tz)).date()


def _around(s: Schedule, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open periods covering ``start`` to ``end`` with a day to spare on each side."""
    return open_periods(s, _local_date(s, start) - _ONE_DAY, _local_date(s, end) + _ONE_DAY)


def is_open(s: Schedule, at: datetime) -> bool:
    """Whether ``at`` falls in an open period (start inclusive, end exclusive)."""
    at = _aware(at)
    return any(start <= at < end for start, end in _around(s, at, at))


def next_open(s: Schedule, at: datetime) -> datetime | None:
    """``at`` (as UTC) if open then, else the start (UTC) of the next open period; ``None``
    if it does not open within :data:`HORIZON`."""
    at = _aware(at)
    limit = at + HORIZON
    for start, end in _around(s, at, limit):
        if end <= at:
            continue
        if start <= at:
            return at
        return start if start <= limit else None
    return None


def closes_at(s: Schedule, at: datetime) -> datetime | None:
    """The end (UTC) of the open period ``at`` is in, adjacent periods merged across
    midnight; ``None`` if closed at ``at`` or open for all of :data:`HORIZON`."""
    at = _aware(at)
    limit = at + HORIZON
    for start, end in _around(s, at, limit):
        if end <= at:
            continue
        if start <= at:
            return end if end <= limit else None
        return None
    return None


def business_seconds(s: Schedule, start: datetime, end: datetime) -> float:
    """Open time in seconds between two moments (0 if ``end <= start``). Takes time
    linear in the days between them."""
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        return 0.0
    total = timedelta()
    for period_start, period_end in _around(s, start, end):
        if period_start >= end:
            break
        overlap = min(end, period_end) - max(start, period_start)
        if overlap > timedelta():
            total += overlap
    return total.total_seconds()


def add_business_seconds(s: Schedule, start: datetime, seconds: float) -> datetime | None:
    """The moment (UTC) when ``seconds`` of open time have passed after ``start`` (an SLA
    deadline in business time); ``start`` itself for 0; ``None`` if that is more than
    :data:`HORIZON` after ``start``. The inverse of :func:`business_seconds` (to the
    microsecond): ``business_seconds(s, t, add_business_seconds(s, t, x)) == x``. A
    deadline falling on the end of a period is that end, not the next opening."""
    start = _aware(start, "start")
    if isinstance(seconds, bool) or not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
    left = timedelta(seconds=seconds)
    if left == timedelta():
        return start
    limit = start + HORIZON
    for period_start, period_end in _around(s, start, limit):
        begin = max(start, period_start)
        if begin > limit:
            return None
        if period_end <= begin:
            continue
        if left <= period_end - begin:
            deadline = begin + left
            return deadline if deadline <= limit else None
        left -= period_end - begin
    return None


def status(s: Schedule, at: datetime) -> dict[str, Any]:
    """``{"open_now", "next_open", "closes_at"}``, the moments as ISO 8601 strings with the
    schedule's UTC offset at that moment (``None`` when there is none)."""
    tz = zone(s.tz)

    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.astimezone(tz).isoformat()

    return {
        "open_now": is_open(s, at),
        "next_open": iso(next_open(s, at)),
        "closes_at": iso(closes_at(s, at)),
    }
