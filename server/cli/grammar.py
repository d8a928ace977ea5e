"""The flag grammars of the ``inbox`` command (CONTRACT.md, docs/routing.md), as pure
functions from a flag's text to the value the use cases take. Each raises
:class:`UsageError` (exit code 2) naming the flag and what it takes; none does I/O."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from inbox.domain.errors import DomainError
from inbox.domain.operators import parse_skills

__all__ = [
    "UsageError",
    "alert_target",
    "csv",
    "escalation_step",
    "options",
    "priority_rule",
    "skills",
    "sla_target",
]


class UsageError(Exception):
    """Bad command-line input: the command prints the message and exits 2, having written
    nothing."""


def csv(value: str) -> list[str]:
    """``"a, b,,c"`` → ``["a", "b", "c"]``."""
    return [v.strip() for v in value.split(",") if v.strip()]


def skills(spec: str) -> dict[str, int]:
    """``--skills a,b`` or ``a=3,b`` (levels 1..10) → ``{"a": 3, "b": 1}``."""
    try:
        return parse_skills(spec)
    except DomainError as exc:
        raise UsageError(exc.message) from exc


def options(items: Iterable[str]) -> dict[str, str]:
    """Repeated ``--option KEY=VALUE`` → ``{KEY: VALUE}`` (the key stripped; a later key
    wins)."""
    out: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"--option takes KEY=VALUE, got {item!r}")
        out[key.strip()] = value
    return out


def escalation_step(spec: str) -> dict[str, Any]:
    """``--escalation AFTER:TARGET``: seconds ≥ 0 and ``last``, ``any``,
    ``overflow=QUEUE`` or required skills (``lenses=3``)."""
    after, colon, target = spec.partition(":")
    try:
        seconds = float(after)
    except ValueError:
        seconds = -1.0
    if not colon or seconds < 0:
        raise UsageError(f"--escalation takes AFTER:TARGET, got {spec!r}")
    if target == "last":
        return {"after": seconds, "target": "last_operator"}
    if target == "any":
        return {"after": seconds, "target": "any"}
    if target.startswith("overflow="):
        return {"after": seconds, "target": "overflow", "queue": target.removeprefix("overflow=")}
    return {"after": seconds, "target": "skills", "skills": skills(target)}


def sla_target(spec: str) -> tuple[str, dict[str, float | None]]:
    """``--sla PRIORITY:FIRST/RESOLUTION`` (seconds; ``-`` or empty for none) →
    ``("0", {"first_response": 300.0, "resolution": None})``."""
    priority, colon, targets = spec.partition(":")
    first, _, resolution = targets.partition("/")
    try:
        int(priority)
        values = [None if v in ("", "-") else float(v) for v in (first, resolution)]
    except ValueError:
        values = []
    if not colon or len(values) != 2:
        raise UsageError(f"--sla takes PRIORITY:FIRST/RESOLUTION, got {spec!r}")
    return priority, {"first_response": values[0], "resolution": values[1]}


def priority_rule(spec: str) -> dict[str, Any]:
    """``--priority RULE=BONUS``: ``returning=5``, ``unpaid_order=3``, ``tag:vip=10``."""
    rule, eq, bonus = spec.partition("=")
    try:
        value = int(bonus)
    except ValueError:
        eq = ""
    if not eq:
        raise UsageError(f"--priority takes RULE=BONUS, got {spec!r}")
    if rule.startswith("tag:"):
        return {"rule": "tag", "tag": rule.removeprefix("tag:"), "bonus": value}
    return {"rule": rule, "bonus": value}


def alert_target(spec: str) -> dict[str, str]:
    """``--alert-telegram CHANNEL_ID:CHAT_ID`` → ``{"channel_id", "chat_id"}``."""
    channel_id, _, chat_id = spec.partition(":")
    if not channel_id or not chat_id:
        raise UsageError("--alert-telegram takes CHANNEL_ID:CHAT_ID")
    return {"channel_id": channel_id, "chat_id": chat_id}
