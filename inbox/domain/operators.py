"""Operators: the people answering, with role, skills, capacity and presence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from inbox.domain.errors import InvalidInput
from inbox.domain.ids import OperatorId

__all__ = ["Operator", "Presence", "Role", "parse_skills", "validate_skills"]


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def sees_everything(self) -> bool:
        return self is not Role.OPERATOR


class Presence(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Operator:
    id: OperatorId
    login: str
    display_name: str
    role: Role
    password_hash: str
    created_at: datetime
    skills: Mapping[str, int] = field(default_factory=dict)
    capacity: int = 5
    presence: Presence = Presence.OFFLINE
    presence_changed_at: datetime | None = None
    last_assigned_at: datetime | None = None
    disabled: bool = False
    #: The last heartbeat of any of the operator's consoles, in any server process.
    last_seen_at: datetime | None = None


def parse_skills(spec: str) -> dict[str, int]:
    """``"ru,lenses=3"`` → ``{"ru": 1, "lenses": 3}``; levels are 1..10 (CONTRACT.md)."""
    skills: dict[str, object] = {}
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        name, _, level = item.partition("=")
        try:
            skills[name.strip()] = int(level) if level else 1
        except ValueError as exc:
            raise InvalidInput(f"bad level for skill {name.strip()!r}: {level!r}") from exc
    return validate_skills(skills)


def validate_skills(skills: Mapping[str, object]) -> dict[str, int]:
    """``{"lenses": 3}`` as given in JSON, checked: names of letters, digits and ``_-:.``,
    whole-number levels 1..10. Raises :class:`InvalidInput` naming the first bad one."""
    checked: dict[str, int] = {}
    for name, level in skills.items():
        if (
            not isinstance(name, str)
            or not name
            or not all(c.isalnum() or c in "_-:." for c in name)
        ):
            raise InvalidInput(f"bad skill name {name!r}")
        if isinstance(level, bool) or not isinstance(level, int):
            raise InvalidInput(f"the level of {name!r} must be a whole number 1..10")
        if not 1 <= level <= 10:
            raise InvalidInput(f"skill level for {name!r} must be 1..10")
        checked[name] = level
    return checked
