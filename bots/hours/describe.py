"""The next opening in words, for the bot's off-hours answer ("We will answer {next_open}.").

English: "today at 14:00 (Moscow time, UTC+03:00)", "tomorrow at 09:00 (...)", "on Monday at
09:00 (...)" within a week, "on 8 January at 09:00 (...)" further off. Russian: "сегодня в
14:00 (UTC+03:00)", "завтра в 09:00 (...)", "в понедельник в 09:00 (...)", "8 января в 09:00
(...)". The offset is the one in force at the opening, so it is right across a clock change.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bots.hours.clock import next_open
from bots.hours.model import Schedule, zone

__all__ = ["describe_next_open", "format_offset"]

_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_RU_DAYS = (
    "в понедельник",
    "во вторник",
    "в среду",
    "в четверг",
    "в пятницу",
    "в субботу",
    "в воскресенье",
)
_RU_MONTHS = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)


def format_offset(offset: timedelta | None) -> str:
    """``UTC+03:00``, ``UTC-04:00``, ``UTC+05:30``; ``UTC`` for zero."""
    if not offset:
        return "UTC"
    minutes = round(offset.total_seconds() / 60)
    sign = "+" if minutes > 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def _place(tz: str) -> str | None:
    """``Europe/Moscow`` -> ``Moscow``, ``America/New_York`` -> ``New York``; ``None`` for
    names that are not a place (``UTC``, ``Etc/GMT+3``)."""
    if "/" not in tz or tz.startswith("Etc/"):
        return None
    return tz.rsplit("/", 1)[1].replace("_", " ")


def describe_next_open(s: Schedule, at: datetime, language: str) -> str:
    """When the schedule next opens after ``at``, in ``language`` (``ru`` or ``en``;
    anything else is English): see the module's docstring. "now"/"сейчас" if open at
    ``at``; "later"/"позже" if it does not open within a year."""
    russian = language.strip().casefold().startswith("ru")
    opening = next_open(s, at)
    if opening is None:
        return "позже" if russian else "later"
    if opening <= at:
        return "сейчас" if russian else "now"
    tz = zone(s.tz)
    local = opening.astimezone(tz)
    days = (local.date() - at.astimezone(tz).date()).days
    clock = local.strftime("%H:%M")
    offset = format_offset(local.utcoffset())
    if russian:
        if days == 0:
            day = "сегодня"
        elif days == 1:
            day = "завтра"
        elif days < 7:
            day = _RU_DAYS[local.weekday()]
        else:
            day = f"{local.day} {_RU_MONTHS[local.month - 1]}"
        return f"{day} в {clock} ({offset})"
    if days == 0:
        day = "today"
    elif days == 1:
        day = "tomorrow"
    elif days < 7:
        day = f"on {_EN_DAYS[local.weekday()]}"
    else:
        day = f"on {local.day} {_EN_MONTHS[local.month - 1]}"
    place = _place(s.tz)
    where = f"{place} time, {offset}" if place else offset
    return f"{day} at {clock} ({where})"
