"""Canned replies: an operator's own and the shared ones, called up by a shortcut
("/price") and filled in with the conversation's details (docs/console.md, "Canned
replies").

Variables are ``{customer.name}``, ``{customer.phone}``, ``{customer.email}`` and
``{operator.name}``; anything else in braces is left as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NewType

from inbox.domain.errors import InvalidInput
from inbox.domain.ids import OperatorId

__all__ = [
    "MAX_CANNED_TEXT",
    "VARIABLES",
    "CannedReply",
    "CannedReplyId",
    "parse_canned_text",
    "parse_shortcut",
    "render_canned",
]

CannedReplyId = NewType("CannedReplyId", str)

MAX_CANNED_TEXT = 4000
VARIABLES = ("customer.name", "customer.phone", "customer.email", "operator.name")
#: "/" and then 1..31 letters (any script), digits, "_" or "-".
_SHORTCUT = re.compile(r"/[^\W][\w-]{0,30}")
_VARIABLE = re.compile(r"\{(customer\.name|customer\.phone|customer\.email|operator\.name)\}")


@dataclass(frozen=True, slots=True)
class CannedReply:
    """``owner_id`` is the operator whose private reply it is; ``None``: shared with
    everyone. A shortcut is unique per owner, and among the shared ones."""

    id: CannedReplyId
    shortcut: str
    text: str
    owner_id: OperatorId | None
    created_at: datetime
    updated_at: datetime

    @property
    def shared(self) -> bool:
        return self.owner_id is None


def parse_shortcut(raw: object) -> str:
    """``"/Price"`` → ``"/price"``: a slash and 1..31 letters, digits, ``_`` or ``-``.
    Raises :class:`InvalidInput`."""
    if not isinstance(raw, str):
        raise InvalidInput("shortcut must be a string such as /price")
    shortcut = raw.strip().lower()
    if not _SHORTCUT.fullmatch(shortcut):
        raise InvalidInput("a shortcut is / and then 1..31 letters, digits, _ or - (/price)")
    return shortcut


def parse_canned_text(raw: object) -> str:
    """1..:data:`MAX_CANNED_TEXT` characters, trimmed. Raises :class:`InvalidInput`."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput("text is required")
    text = raw.strip()
    if len(text) > MAX_CANNED_TEXT:
        raise InvalidInput(f"a canned reply is at most {MAX_CANNED_TEXT} characters")
    return text


def render_canned(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each known variable replaced by its value (``""`` when missing)."""
    return _VARIABLE.sub(lambda m: values.get(m.group(1), ""), text)
