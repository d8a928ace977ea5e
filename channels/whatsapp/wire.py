"""Typed reads of untrusted webhook JSON: every helper either returns the expected shape
or raises :class:`WebhookShapeError` (whose message never quotes the body). Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "WebhookShapeError",
    "digits",
    "int_or_none",
    "list_of",
    "mapping",
    "mappings",
    "timestamp",
]


class WebhookShapeError(ValueError):
    """The body is JSON but not a WhatsApp webhook; the message never quotes the body."""


def mapping(value: Any, what: str | None = None) -> Mapping[str, Any]:
    """``value`` if it is an object; ``{}`` for absent optional data; with ``what``, a
    present non-object is a shape error."""
    if isinstance(value, Mapping):
        return value
    if what is not None:
        raise WebhookShapeError(f"{what} is not an object")
    return {}


def list_of(value: Any, what: str, *, required: bool = False) -> Sequence[Any]:
    if value is None and not required:
        return ()
    if not isinstance(value, list):
        raise WebhookShapeError(f"{what} is not a list")
    return value


def mappings(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def int_or_none(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def timestamp(value: Any) -> datetime | None:
    seconds = int_or_none(value)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
