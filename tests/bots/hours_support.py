"""Builders shared by the business-hours tests."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bots.hours import Schedule, parse_schedule

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
MOSCOW = "Europe/Moscow"

# 2027: Europe springs forward on Sunday 28 March (02:00 -> 03:00) and falls back on
# Sunday 31 October (03:00 -> 02:00); the US on Sunday 14 March and Sunday 7 November.
# 1 January 2027 is a Friday, 6 March a Saturday, 8 March a Monday.


def at(
    tz: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0
) -> datetime:
    """A local moment in ``tz``: ``at(BERLIN, 2027, 3, 8, 9, 30)``."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz), fold=fold)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def shop(
    tz: str = BERLIN,
    week: str = "mon-fri 09:00-13:00,14:00-20:00; sat 10:00-16:00",
    holidays: tuple[str, ...] = (),
    opens: tuple[str, ...] = (),
) -> Schedule:
    return parse_schedule(tz, week, holidays, opens)
