"""Close reasons: why a conversation was resolved ("sold", "too expensive", "spam"), from
a list the administrator keeps (docs/console.md, "Close reasons").

The list is never empty once set (an empty one is refused), a migration seeds
:data:`DEFAULT_CLOSE_REASONS`. A resolve may leave the reason out (bots, older consoles
and scripts resolve without one); a reason given must be on the list, compared without
regard to case, and is stored as the list spells it.
"""

from __future__ import annotations

from collections.abc import Sequence

from inbox.domain.errors import InvalidInput

__all__ = [
    "DEFAULT_CLOSE_REASONS",
    "MAX_CLOSE_REASONS",
    "MAX_REASON_LENGTH",
    "check_reason",
    "parse_close_reasons",
]

MAX_REASON_LENGTH = 60
MAX_CLOSE_REASONS = 50

#: What migration 0007 seeds (the migration keeps its own copy, as migrations must).
DEFAULT_CLOSE_REASONS: tuple[str, ...] = (
    "Sold",
    "Question answered",
    "Not in stock",
    "Too expensive",
    "No reply from the customer",
    "Spam",
    "Other",
)


def parse_close_reasons(raw: object) -> tuple[str, ...]:
    """A list of 1..:data:`MAX_CLOSE_REASONS` names of 1..60 characters each (trimmed),
    unique without regard to case, in the given order. Raises :class:`InvalidInput`."""
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        raise InvalidInput("reasons must be a list of strings")
    if not raw:
        raise InvalidInput("the list of close reasons cannot be empty: keep at least one")
    if len(raw) > MAX_CLOSE_REASONS:
        raise InvalidInput(f"at most {MAX_CLOSE_REASONS} close reasons")
    names: list[str] = []
    seen: set[str] = set()
    for item in raw:
        name = " ".join(str(item).split())
        if not 1 <= len(name) <= MAX_REASON_LENGTH:
            raise InvalidInput(f"a close reason is 1..{MAX_REASON_LENGTH} characters")
        if name.casefold() in seen:
            raise InvalidInput(f"the close reason {name!r} is listed twice")
        seen.add(name.casefold())
        names.append(name)
    return tuple(names)


def check_reason(reasons: Sequence[str], given: str | None) -> str:
    """The reason to store for ``given``: ``""`` for none, else the list's spelling of it.
    With an empty list (never set) any reason of 1..60 characters is taken as given.
    Raises :class:`InvalidInput` naming the allowed reasons."""
    if given is None or not given.strip():
        return ""
    name = " ".join(given.split())
    if not reasons:
        if len(name) > MAX_REASON_LENGTH:
            raise InvalidInput(f"a close reason is 1..{MAX_REASON_LENGTH} characters")
        return name
    for reason in reasons:
        if reason.casefold() == name.casefold():
            return reason
    allowed = ", ".join(reasons)
    raise InvalidInput(f"unknown close reason {name[:60]!r}; one of: {allowed}")
