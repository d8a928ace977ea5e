"""Business hours: a queue's weekly hours in its time zone, with holidays and one-off
exceptions, and the questions the bot and the SLA clocks ask of them.

Pure functions over values and the moments passed in; nothing here reads a clock.

- :mod:`bots.hours.model`: :class:`Interval`, :class:`Schedule`, :data:`ALWAYS_OPEN`,
  :func:`hours_on` (a date's hours) and zone validation.
- :mod:`bots.hours.parse`: the CLI grammar (:func:`parse_schedule`, :func:`parse_week`) and
  the JSON document (:func:`schedule_to_json`, :func:`schedule_from_json`).
- :mod:`bots.hours.clock`: :func:`is_open`, :func:`next_open`, :func:`closes_at`,
  :func:`business_seconds`, :func:`add_business_seconds`, :func:`status`; how wall-clock
  hours meet clock changes is in its docstring.
- :mod:`bots.hours.describe`: :func:`describe_next_open`, the next opening in words.
"""

from __future__ import annotations

from bots.hours.clock import (
    HORIZON,
    add_business_seconds,
    business_seconds,
    closes_at,
    is_open,
    next_open,
    open_periods,
    status,
)
from bots.hours.describe import describe_next_open, format_offset
from bots.hours.model import (
    ALWAYS_OPEN,
    DAY_NAMES,
    Interval,
    Schedule,
    format_time,
    hours_on,
    zone,
)
from bots.hours.parse import (
    parse_date,
    parse_holiday,
    parse_hours,
    parse_interval,
    parse_open,
    parse_schedule,
    parse_week,
    schedule_from_json,
    schedule_to_json,
)

__all__ = [
    "ALWAYS_OPEN",
    "DAY_NAMES",
    "HORIZON",
    "Interval",
    "Schedule",
    "add_business_seconds",
    "business_seconds",
    "closes_at",
    "describe_next_open",
    "format_offset",
    "format_time",
    "hours_on",
    "is_open",
    "next_open",
    "open_periods",
    "parse_date",
    "parse_holiday",
    "parse_hours",
    "parse_interval",
    "parse_open",
    "parse_schedule",
    "parse_week",
    "schedule_from_json",
    "schedule_to_json",
    "status",
    "zone",
]
